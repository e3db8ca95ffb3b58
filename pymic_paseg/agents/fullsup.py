"""Fully supervised segmentation on the shared, device-aware loop.

This is what ``pymic_run train`` uses for a config with
``supervise_type = fully_sup`` (PyMIC's default): PyMIC's own loss
(``[training] loss_type``, with ``pixel_weight`` and ``class_weight``), its
datasets, transforms and networks, but our loop, so it also runs on CPU.
It is the upper bound that the weakly supervised stages are compared with.
"""
from __future__ import annotations

from pymic_paseg.agents.base import PasegSegAgent


class FullySupervisedAgent(PasegSegAgent):
    """PyMIC's fully supervised training with the loss from ``[training] loss_type``."""
