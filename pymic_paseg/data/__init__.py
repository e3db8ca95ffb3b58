"""Demo dataset built from a real brain MRI shipped by nilearn.

See :mod:`pymic_paseg.data.demo` and ``docs/demo_data.md``.
"""
from pymic_paseg.data.demo import CaseRecord, DemoConfig, DemoDataset, build_demo_dataset
from pymic_paseg.data.presets import PRESETS, demo_config
from pymic_paseg.data.template import TemplateNotFoundError

__all__ = ["build_demo_dataset", "DemoConfig", "DemoDataset", "CaseRecord",
           "TemplateNotFoundError", "PRESETS", "demo_config"]
