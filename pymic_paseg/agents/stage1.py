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

The CRF and VM options are the loss classes' own keys in ``[training]``
(``MultiViewCRFLoss_*``, ``VarianceMinimizationLoss_*``). Each term is logged
separately (``pce``, ``pdice``, ``crf``, ``vm``) with its current weight.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

from pymic.util.ramps import get_rampup_ratio

from pymic_paseg.agents.base import Batch, PasegSegAgent, Terms
from pymic_paseg.config import Section, look_up_option
from pymic_paseg.losses import (MultiViewCRFLoss, PartialCELoss, PartialDiceLoss,
                                VarianceMinimizationLoss)
from pymic_paseg.transforms.valid_region import valid_mask_from_label

SECTION = "weakly_supervised_learning"
KEYS = ("method_name", "alpha", "beta", "rampup_start", "rampup_end", "rampup_mode",
        "extra_losses", "extra_weights", "psup")
#: losses that may be added to the stage-1 objective (e.g. the paper's Table II baselines).
EXTRA_LOSSES = ("SizeConstraintLoss", "TightnessPriorLoss", "MultiViewCRFLoss",
                "VarianceMinimizationLoss")
RAMPUP_MODES = ("sigmoid", "linear", "cosine")
#: L_psup as the paper's eq. 3, (CE + Dice) / 2, or as the original code's sum, CE + Dice.
PSUP_WEIGHTS = {"mean": 0.5, "sum": 1.0}
#: the original code ramps the regularisers up over the first 10% of training.
DEFAULT_RAMPUP_FRACTION = 0.1


def rampup_ratio(iteration: int, start: int, end: int, mode: str) -> float:
    """r(t) in [0, 1]; a step at ``start`` when ``end <= start``."""
    if end <= start:
        return 1.0 if iteration >= start else 0.0
    return float(get_rampup_ratio(iteration, start, end, mode))


class PASegStage1Agent(PasegSegAgent):
    """Stage-1 agent (``WSLMethodDict['PASegStage1']``): partial CE + Dice, mCRF, VM."""

    def __init__(self, config, stage: str = "train"):
        super().__init__(config, stage)
        self.losses: Dict[str, Any] = {}
        if stage != "train":
            return
        sec = Section.of(config, SECTION, required=True)
        sec.check_keys(KEYS)
        self.alpha = sec.float("alpha", 1.0, low=0)
        self.beta = sec.float("beta", 0.1, low=0)
        iter_max = self.loop_settings.iter_max
        self.rampup_start = sec.int("rampup_start", 0, low=0)
        self.rampup_end = sec.int("rampup_end", int(DEFAULT_RAMPUP_FRACTION * iter_max),
                                  low=self.rampup_start)
        self.rampup_mode = sec.choice("rampup_mode", RAMPUP_MODES, "sigmoid")
        self.psup_weight = PSUP_WEIGHTS[sec.choice("psup", tuple(PSUP_WEIGHTS), "mean")]
        training = config["training"]
        self.losses = {"pce": PartialCELoss(training), "pdice": PartialDiceLoss(training)}
        if self.alpha > 0:
            self.losses["crf"] = MultiViewCRFLoss(training)
        if self.beta > 0:
            self.losses["vm"] = VarianceMinimizationLoss(training)
        self.extra_weights = self._extra_losses(sec, training)

    def _extra_losses(self, sec: Section, training) -> Dict[str, float]:
        """``extra_losses`` / ``extra_weights``: more registered losses on the same inputs."""
        from pymic.loss.loss_dict_seg import SegLossDict
        names = sec.str_list("extra_losses", [])
        weights = sec.float_list("extra_weights", [1.0] * len(names), length=len(names), low=0)
        extra = {}
        for name, weight in zip(names, weights):
            name = look_up_option(name, EXTRA_LOSSES, where=f"[{SECTION}] extra_losses item")
            if name in extra:
                raise sec.fail("extra_losses", names, f"lists {name} twice")
            self.losses[name] = SegLossDict[name](training)
            extra[name] = weight
        return extra

    def create_loss_calculator(self) -> None:
        """Stage 1 builds its own losses in ``__init__``; PyMIC's ``loss_type`` is unused."""
        self.loss_calculator = None

    def ramp(self) -> float:
        return rampup_ratio(self.glob_it, self.rampup_start, self.rampup_end, self.rampup_mode)

    def term_weights(self) -> Dict[str, float]:
        r = self.ramp()
        weights = {"pce": self.psup_weight, "pdice": self.psup_weight,
                   "crf": self.alpha * r, "vm": self.beta * r}
        weights.update({name: w * r for name, w in self.extra_weights.items()})
        return weights

    def loss_terms(self, batch: Batch, outputs: Any) -> Terms:
        if "pixel_weight" not in batch:
            raise ValueError("PASegStage1 needs partial labels: end [dataset] train_transform "
                             "with PartialLabelToProbability (class_num = unlabeled)")
        inputs: Dict[str, Any] = {"prediction": outputs, "ground_truth": batch["label_prob"],
                                  "pixel_weight": batch["pixel_weight"], "image": batch["image"]}
        mask: Optional[Any] = valid_mask_from_label(batch["data"].get("label"))
        if mask is not None:
            inputs["valid_mask"] = mask.to(self.device)
        return {name: loss(inputs) for name, loss in self.losses.items()}
