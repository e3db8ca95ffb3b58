"""Stage-1 objective: learning from expanded point annotations (paper eq. 3-11).

The loss of eq. 11 with the ramp-up of the original code::

    L(t) = w_psup * (L_pce + L_pdc)  +  r(t) * (alpha * L_mcrf + beta * L_vm
                                                + sum_j w_j * L_extra_j)

``w_psup`` is 1/2 (``psup = mean``, eq. 3) or 1 (``psup = sum``, the original code).
``L_pce``/``L_pdc`` (eq. 4-5) use labelled voxels only (``pixel_weight`` from
``PartialLabelToProbability``); ``L_mcrf`` (eq. 6-8) and ``L_vm`` (eq. 9-10) see the
(normalised) image, ``L_vm`` only the valid region Ω_M carried by the
``ValidRegionMask`` transform. ``r(t)`` ramps from 0 to 1 between ``rampup_start``
and ``rampup_end`` iterations (PyMIC's ``get_rampup_ratio``; a step at
``rampup_start`` when ``rampup_end <= rampup_start``).

Keys (``[weakly_supervised_learning]``; the loss options themselves are the loss
classes' ``[training] MultiViewCRFLoss_*`` / ``VarianceMinimizationLoss_*`` keys):

============= ================== ===================================================
key           default            meaning
============= ================== ===================================================
alpha         1.0                weight of L_mcrf (>= 0; 0 disables it)
beta          0.1                weight of L_vm (>= 0; 0 disables it)
rampup_start  0                  iteration where r(t) starts rising
rampup_end    10% of iter_max    iteration where r(t) reaches 1
rampup_mode   sigmoid            sigmoid (original), linear or cosine
extra_losses  []                 e.g. [SizeConstraintLoss, TightnessPriorLoss]
extra_weights [1, ...]           one weight >= 0 each, ramped up like alpha and beta
psup          mean               ``mean``: (CE + Dice) / 2; ``sum``: CE + Dice
============= ================== ===================================================

The terms are named ``pce``, ``pdice``, ``crf``, ``vm`` and the extra losses' class
names; the agent logs each with its weight.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Mapping, Tuple

import torch
from pymic.util.ramps import get_rampup_ratio

from pymic_paseg import losses
from pymic_paseg.config import Section, look_up_option
from pymic_paseg.deep_supervision import main_output
from pymic_paseg.objectives.image_context import image_context
from pymic_paseg.transforms.oracle_label import oracle_volume_from_label

__all__ = ["SECTION", "KEYS", "EXTRA_LOSSES", "RAMPUP_MODES", "PSUP_WEIGHTS",
           "DEFAULT_RAMPUP_FRACTION", "rampup_ratio", "Stage1Settings", "Stage1Objective"]

Terms = Dict[str, torch.Tensor]

SECTION = "weakly_supervised_learning"
#: the keys this objective reads from ``[weakly_supervised_learning]``.
KEYS = ("alpha", "beta", "rampup_start", "rampup_end", "rampup_mode", "extra_losses",
        "extra_weights", "psup")
#: losses that may be added to the stage-1 objective (e.g. the paper's Table II baselines).
EXTRA_LOSSES = ("SizeConstraintLoss", "TightnessPriorLoss", "MultiViewCRFLoss",
                "VarianceMinimizationLoss")
RAMPUP_MODES = ("sigmoid", "linear", "cosine")
#: L_psup as the paper's eq. 3, (CE + Dice) / 2, or as the original code's sum, CE + Dice.
PSUP_WEIGHTS = {"mean": 0.5, "sum": 1.0}
#: the original code ramps the regularisers up over the first 10% of training.
DEFAULT_RAMPUP_FRACTION = 0.1
PARTIAL_LABEL_HINT = ("PASegStage1 needs partial labels: end [dataset] train_transform "
                      "with PartialLabelToProbability (class_num = unlabeled)")


def rampup_ratio(iteration: int, start: int, end: int, mode: str) -> float:
    """r(t) in [0, 1]; a step at ``start`` when ``end <= start``."""
    if end <= start:
        return 1.0 if iteration >= start else 0.0
    return float(get_rampup_ratio(iteration, start, end, mode))


@dataclass(frozen=True)
class Stage1Settings:
    """The stage-1 objective's settings (see the module docstring)."""

    alpha: float = 1.0
    beta: float = 0.1
    rampup_start: int = 0
    rampup_end: int = 0
    rampup_mode: str = "sigmoid"
    psup: str = "mean"
    #: ``(loss class name, weight)`` of each extra loss, in config order.
    extra: Tuple[Tuple[str, float], ...] = ()

    @classmethod
    def from_section(cls, sec: Section, iter_max: int) -> "Stage1Settings":
        """Read and check the keys; ``iter_max`` gives the default ``rampup_end``."""
        start = sec.int("rampup_start", 0, low=0)
        return cls(alpha=sec.float("alpha", 1.0, low=0),
                   beta=sec.float("beta", 0.1, low=0),
                   rampup_start=start,
                   rampup_end=sec.int("rampup_end", int(DEFAULT_RAMPUP_FRACTION * iter_max),
                                      low=start),
                   rampup_mode=sec.choice("rampup_mode", RAMPUP_MODES, "sigmoid"),
                   psup=sec.choice("psup", tuple(PSUP_WEIGHTS), "mean"),
                   extra=_extra_losses(sec))

    @property
    def psup_weight(self) -> float:
        return PSUP_WEIGHTS[self.psup]


def _extra_losses(sec: Section) -> Tuple[Tuple[str, float], ...]:
    """``extra_losses`` / ``extra_weights``: more losses on the same inputs."""
    names = sec.str_list("extra_losses", [])
    weights = sec.float_list("extra_weights", [1.0] * len(names), length=len(names), low=0)
    extra: Dict[str, float] = {}
    for name, weight in zip(names, weights):
        name = look_up_option(name, EXTRA_LOSSES, where=f"[{SECTION}] extra_losses item")
        if name in extra:
            raise sec.fail("extra_losses", names, f"lists {name} twice")
        extra[name] = weight
    return tuple(extra.items())


class Stage1Objective:
    """Named stage-1 loss terms of a batch and their weights at an iteration."""

    def __init__(self, settings: Stage1Settings, training: Mapping[str, Any]):
        self.settings = settings
        self.losses: Dict[str, Any] = {"pce": losses.PartialCELoss(training),
                                       "pdice": losses.PartialDiceLoss(training)}
        if settings.alpha > 0:
            self.losses["crf"] = losses.MultiViewCRFLoss(training)
        if settings.beta > 0:
            self.losses["vm"] = losses.VarianceMinimizationLoss(training)
        for name, _ in settings.extra:
            self.losses[name] = getattr(losses, name)(training)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], iter_max: int,
                    section: str = SECTION) -> "Stage1Objective":
        """From ``[weakly_supervised_learning]`` (its keys) and ``[training]`` (the losses')."""
        sec = Section.of(config, section, required=True)
        return cls(Stage1Settings.from_section(sec, iter_max), config["training"])

    def ramp(self, iteration: int) -> float:
        s = self.settings
        return rampup_ratio(iteration, s.rampup_start, s.rampup_end, s.rampup_mode)

    def weights(self, iteration: int) -> Dict[str, float]:
        """Weight of each term at ``iteration`` (``crf``/``vm`` listed even when off)."""
        s, r = self.settings, self.ramp(iteration)
        weights = {"pce": s.psup_weight, "pdice": s.psup_weight,
                   "crf": s.alpha * r, "vm": s.beta * r}
        weights.update({name: w * r for name, w in s.extra})
        return weights

    def terms(self, batch: Mapping[str, Any], outputs: Any) -> Terms:
        """Unweighted terms; ``batch`` holds ``image``, ``label_prob``, ``pixel_weight``
        and optionally ``data["label"]`` (Ω_M coded by ``ValidRegionMask``) and
        ``data["spacing"]`` (voxel size, for ``MultiViewCRFLoss_spacing = image``)."""
        if "pixel_weight" not in batch:
            raise ValueError(PARTIAL_LABEL_HINT)
        inputs: Dict[str, Any] = {"prediction": outputs, "ground_truth": batch["label_prob"],
                                  "pixel_weight": batch["pixel_weight"], **image_context(batch)}
        label = batch.get("data", {}).get("label")
        volume = oracle_volume_from_label(label, main_output(outputs).shape[1])
        if volume is not None:   # dense label carried by OracleLabel: the true volume
            inputs["target_volume"] = volume.to(batch["image"].device)
        return {name: loss(inputs) for name, loss in self.losses.items()}

    def __call__(self, batch: Mapping[str, Any], outputs: Any, iteration: int) -> Terms:
        """The terms plus ``loss``, their weighted sum at ``iteration`` (what is
        back-propagated)."""
        terms = self.terms(batch, outputs)
        weights = self.weights(iteration)
        loss = sum(weights[name] * value for name, value in terms.items())
        return {"loss": loss, **terms}
