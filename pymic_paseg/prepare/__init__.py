"""``pymic_run prepare``: a user's images and clicks -> a PA-Seg project folder.

See :mod:`pymic_paseg.prepare.run` for the steps and ``docs/own_data.md`` for a walkthrough.
"""
from pymic_paseg.prepare.run import PrepareError, PrepareOptions, PrepareResult, prepare_project

__all__ = ["PrepareError", "PrepareOptions", "PrepareResult", "prepare_project"]
