"""PA-Seg stage 1: learning from expanded point annotations (paper eq. 3-11).

The loss of eq. 11 with the ramp-up of the original code::

    L = (L_pce + L_pdc) / 2  +  r(t) * (alpha * L_mcrf + beta * L_vm)

``L_pce``/``L_pdc`` (eq. 4-5) use labelled voxels only (``pixel_weight`` from
``PartialLabelToProbability``); ``L_mcrf`` (eq. 6-8) and ``L_vm`` (eq. 9-10)
see the (normalised) image, and ``L_vm`` only the valid region Ω_M carried by
the ``ValidRegionMask`` transform. ``r(t)`` ramps from 0 to 1 between
``rampup_start`` and ``rampup_end`` iterations.

Config: ``[dataset] supervise_type = weak_sup`` and

.. code-block:: ini

    [weakly_supervised_learning]
    method_name  = PASegStage1
    alpha        = 1.0     # weight of the multi-view CRF loss (>= 0; 0 disables it)
    beta         = 0.1     # weight of the variance-minimisation loss (>= 0; 0 disables it)
    rampup_start = 0       # iteration where r(t) starts rising
    rampup_end   = 10% of iter_max   # iteration where r(t) reaches 1
    rampup_mode  = sigmoid # sigmoid (original), linear or cosine
    extra_losses  = []     # e.g. [SizeConstraintLoss, TightnessPriorLoss] (Table II baselines)
    extra_weights = []     # one weight >= 0 each, ramped up like alpha and beta
    psup          = mean   # L_psup = (CE + Dice) / 2 (eq. 3); sum: CE + Dice (original code)

The loss is :class:`~pymic_paseg.objectives.stage1.Stage1Objective` (the benchmarks
and tests call the same object). The CRF and VM options are the loss classes' own
keys in ``[training]`` (``MultiViewCRFLoss_*``, ``VarianceMinimizationLoss_*``). Each term is logged
separately (``pce``, ``pdice``, ``crf``, ``vm``) with its current weight.
"""
from __future__ import annotations

from typing import Any, Dict

from pymic_paseg.agents.base import Batch, PasegSegAgent, Terms
from pymic_paseg.config import Section
from pymic_paseg.objectives.stage1 import KEYS as OBJECTIVE_KEYS
from pymic_paseg.objectives.stage1 import (  # noqa: F401  (re-exported for callers)
    DEFAULT_RAMPUP_FRACTION, EXTRA_LOSSES, PSUP_WEIGHTS, RAMPUP_MODES, SECTION, Stage1Objective,
    rampup_ratio)

KEYS = ("method_name",) + OBJECTIVE_KEYS


class PASegStage1Agent(PasegSegAgent):
    """Stage-1 agent (``WSLMethodDict['PASegStage1']``): runs :class:`Stage1Objective`."""

    def __init__(self, config, stage: str = "train"):
        super().__init__(config, stage)
        self.objective: Stage1Objective | None = None
        if stage != "train":
            return
        Section.of(config, SECTION, required=True).check_keys(KEYS)
        self.objective = Stage1Objective.from_config(config, self.loop_settings.iter_max)

    def create_loss_calculator(self) -> None:
        """Stage 1 builds its objective in ``__init__``; PyMIC's ``loss_type`` is unused."""
        self.loss_calculator = None

    def term_weights(self) -> Dict[str, float]:
        return self.objective.weights(self.glob_it)

    def loss_terms(self, batch: Batch, outputs: Any) -> Terms:
        return self.objective.terms(batch, outputs)

    def compute_losses(self, batch: Batch) -> Dict[str, Terms]:
        return {self.members[0].name: self.objective(batch, self.net(batch["image"]),
                                                     self.glob_it)}
