"""``pymic_run demo``: the whole PA-Seg pipeline on the built-in demo dataset."""
from pymic_paseg.demo.pipeline import DemoOptions, DemoPipeline, DemoStepError

__all__ = ["DemoOptions", "DemoPipeline", "DemoStepError"]
