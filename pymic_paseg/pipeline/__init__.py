"""``pymic_run pipeline`` and ``pymic_run report``: a project's steps in one process.

* :mod:`~pymic_paseg.pipeline.plan` - what the configs say; which trainings are finished;
* :mod:`~pymic_paseg.pipeline.steps` - a ``pymic_run`` command in this process, logged;
* :mod:`~pymic_paseg.pipeline.progress` - a progress bar (or plain lines) per step;
* :mod:`~pymic_paseg.pipeline.runner` - the steps in order, resumable;
* :mod:`~pymic_paseg.pipeline.evaluation`, :mod:`~pymic_paseg.pipeline.curves`,
  :mod:`~pymic_paseg.pipeline.report`, :mod:`~pymic_paseg.pipeline.run_folder` - the report.

Importing this package imports neither torch nor PyMIC.
"""
from pymic_paseg.pipeline.runner import Pipeline, PipelineOptions, parse_stages
from pymic_paseg.pipeline.steps import PipelineStepError, StepRunner

__all__ = ["Pipeline", "PipelineOptions", "PipelineStepError", "StepRunner", "parse_stages"]
