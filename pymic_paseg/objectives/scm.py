"""Stage-2 objective: Self and Cross Monitoring (paper eq. 12-15) and its anchored variant.

For network ``k`` (``o`` the other network), with frozen monitors ``m_k``, ``m_o``::

    L_k = lambda * KD(z_k, z_{m_o}; T)                          # cross distillation, eq. 13
        + (1 - lambda) * (CE + Dice)(z_k, y_k; w_k)               # self-training on pseudo labels
        + alpha * L_mcrf(z_k) + beta * L_vm(z_k)                   # stage-1 regularisers (optional)

Recipes (``[noisy_label_learning] recipe``):

``paper``
    The paper and the original code: ``y_k = argmax z_{m_k}`` (the network's own
    monitor), every voxel weighted 1 (``w_k = 1``), CE + PyMIC's Dice, no regulariser.
``anchored`` (default)
    The pseudo label is anchored to what the clicks make certain and to what both
    networks agree on:

    * ``pseudo_label = ensemble``: ``y = argmax`` of the mean of both monitors'
      softmax, the same target for both networks;
    * ``seed_labels = true``: the expanded seeds (Ω_F foreground, Ω_B background,
      read from the partial-label training CSV) override the pseudo label, weight 1;
    * ``confidence = c``: other voxels whose pseudo-label probability is below ``c``
      get weight 0 (left unlabeled, as in stage 1);
    * ``pseudo_classes = foreground``: pseudo-background voxels get weight 0, so only
      the seeds say where the background is (inside a box, the monitors' background
      verdicts are what self-training would otherwise reinforce into shrinkage);
    * ``alpha``, ``beta``: the stage-1 multi-view CRF and variance-minimisation terms
      stay on (same ``[training] MultiViewCRFLoss_*`` / ``VarianceMinimizationLoss_*``
      keys as stage 1);
    * CE and Dice are the partial (weighted) losses of stage 1;
    * ``monitor_update = ema`` (read by the agent): the monitors are an exponential
      moving average of their networks, updated after every step, instead of the
      paper's periodic reload of the best-validation weights.

Every key may be set alone; the recipe only gives the defaults.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple

import torch
import torch.nn.functional as F
from pymic.loss.seg.dice import DiceLoss

from pymic_paseg.config import ConfigError, Section
from pymic_paseg.losses.distillation import distillation_loss
from pymic_paseg.losses.multiview_crf import MultiViewCRFLoss
from pymic_paseg.losses.partial_ce import partial_ce_loss
from pymic_paseg.losses.partial_dice import partial_dice_loss
from pymic_paseg.losses.variance import VarianceMinimizationLoss
from pymic_paseg.objectives.image_context import image_context

__all__ = ["RECIPES", "SCMSettings", "SCMObjective", "pseudo_label_targets"]

Terms = Dict[str, torch.Tensor]

#: defaults of each recipe; ``paper`` is the paper's SCM exactly. ``monitor_update`` is
#: read by the SCM agent (:mod:`pymic_paseg.agents.scm`), the others by this objective.
RECIPES: Dict[str, Dict[str, Any]] = {
    "paper": {"pseudo_label": "own", "seed_labels": False, "confidence": 0.0,
              "pseudo_classes": "all", "alpha": 0.0, "beta": 0.0, "monitor_update": "refresh"},
    "anchored": {"pseudo_label": "ensemble", "seed_labels": True, "confidence": 0.0,
                 "pseudo_classes": "foreground", "alpha": 1.0, "beta": 0.1,
                 "monitor_update": "ema"},
}
DEFAULT_RECIPE = "anchored"
PSEUDO_LABELS = ("own", "ensemble")
PSEUDO_CLASSES = ("all", "foreground")
_RECIPE_KEYS = ("pseudo_label", "seed_labels", "confidence", "pseudo_classes", "alpha", "beta")
#: the keys this objective reads from ``[noisy_label_learning]``.
KEYS = ("recipe", "lambda", "temperature") + _RECIPE_KEYS


@dataclass(frozen=True)
class SCMSettings:
    """The stage-2 objective's settings (see the module docstring)."""

    recipe: str = "paper"
    lam: float = 0.5
    temperature: float = 4.0
    pseudo_label: str = "own"
    seed_labels: bool = False
    confidence: float = 0.0
    pseudo_classes: str = "all"
    alpha: float = 0.0
    beta: float = 0.0

    @classmethod
    def from_section(cls, sec: Section) -> "SCMSettings":
        recipe = sec.choice("recipe", tuple(RECIPES), DEFAULT_RECIPE)
        base = RECIPES[recipe]
        confidence = sec.float("confidence", base["confidence"], low=0, high=1, high_open=True)
        return cls(recipe=recipe,
                   lam=sec.float("lambda", 0.5, low=0, high=1),
                   temperature=sec.float("temperature", 4.0, low=0, low_open=True),
                   pseudo_label=sec.choice("pseudo_label", PSEUDO_LABELS, base["pseudo_label"]),
                   seed_labels=sec.bool("seed_labels", base["seed_labels"]),
                   confidence=confidence,
                   pseudo_classes=sec.choice("pseudo_classes", PSEUDO_CLASSES,
                                             base["pseudo_classes"]),
                   alpha=sec.float("alpha", base["alpha"], low=0),
                   beta=sec.float("beta", base["beta"], low=0))

    @property
    def is_paper(self) -> bool:
        return all(getattr(self, k) == RECIPES["paper"][k] for k in _RECIPE_KEYS)


def pseudo_label_targets(monitor_logits: List[torch.Tensor], index: int, *, ensemble: bool,
                         confidence: float = 0.0, foreground_only: bool = False,
                         seeds: Optional[Tuple[torch.Tensor, torch.Tensor]] = None
                         ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """One-hot pseudo label and voxel weights for network ``index``.

    Args:
        monitor_logits: each monitor's logits ``N x C x ...`` (plain tensors).
        index: the network being trained; its own monitor gives the label unless
            ``ensemble``.
        ensemble: use the mean of all monitors' softmax.
        confidence: voxels whose pseudo-label probability is below this get weight 0
            (0: every voxel weighs 1).
        foreground_only: pseudo-background voxels get weight 0: only the seeds say
            where the background is (outside the boxes and Ω_M).
        seeds: ``(label_prob, pixel_weight)`` of the expanded seeds: where the
            weight is positive, the seed label replaces the pseudo label, weight 1.

    Returns:
        ``(target, weight)``: the one-hot target (``N x C x ...``) and the weights
        ``N x 1 x ...``, or ``None`` when every voxel weighs 1.
    """
    if ensemble:
        probs = torch.stack([F.softmax(z, dim=1) for z in monitor_logits]).mean(dim=0)
    else:
        probs = F.softmax(monitor_logits[index], dim=1)
    top, hard = probs.max(dim=1, keepdim=True)
    target = torch.zeros_like(probs).scatter_(1, hard, 1.0)
    weight = (top >= confidence).to(probs.dtype) if confidence > 0 else None
    if foreground_only:
        keep = (hard > 0).to(probs.dtype)
        weight = keep if weight is None else weight * keep
    if seeds is not None:
        seed_prob, seed_weight = seeds
        labelled = seed_weight > 0
        target = torch.where(labelled, seed_prob.to(target.dtype), target)
        base = torch.ones_like(top) if weight is None else weight
        weight = torch.where(labelled, torch.ones_like(base), base)
    return target, weight


SEED_LABEL_HINT = ("[noisy_label_learning] seed_labels = true needs the expanded partial labels: "
                   "set [dataset] train_csv to the partial-label CSV (image,label) and end "
                   "train_transform with PartialLabelToProbability, or set seed_labels = false")


def check_seed_label_data(dataset: Mapping[str, Any]) -> None:
    """Fail before training when seed labels are asked for but the data cannot carry them."""
    transforms = dataset.get("train_transform") or []
    transforms = transforms if isinstance(transforms, (list, tuple)) else [transforms]
    if "PartialLabelToProbability" not in transforms:
        raise ConfigError(f"{SEED_LABEL_HINT} ([dataset] train_transform = {transforms})")
    csv_path = dataset.get("train_csv")
    if csv_path and os.path.isfile(csv_path):
        with open(csv_path, encoding="utf-8") as handle:
            header = [h.strip() for h in handle.readline().split(",")]
        if "label" not in header:
            raise ConfigError(f"{SEED_LABEL_HINT} ([dataset] train_csv = {csv_path} has no "
                              "label column)")


class SCMObjective:
    """Loss terms of every SCM network for one batch; see the module docstring."""

    def __init__(self, settings: SCMSettings, training: Mapping[str, Any]):
        self.settings = settings
        #: the paper's recipe uses PyMIC's Dice on every voxel, as the original code
        self.paper = settings.is_paper
        self.dice = DiceLoss()
        self.regularisers: Dict[str, Tuple[float, Any]] = {}
        if settings.alpha > 0:
            self.regularisers["crf"] = (settings.alpha, MultiViewCRFLoss(training))
        if settings.beta > 0:
            self.regularisers["vm"] = (settings.beta, VarianceMinimizationLoss(training))

    @classmethod
    def from_config(cls, config: Mapping[str, Any], section: str) -> "SCMObjective":
        settings = SCMSettings.from_section(Section.of(config, section, required=True))
        if settings.seed_labels:
            check_seed_label_data(config["dataset"])
        return cls(settings, config["training"])

    def _seeds(self, batch: Mapping[str, Any]) -> Optional[Tuple[torch.Tensor, torch.Tensor]]:
        if not self.settings.seed_labels:
            return None
        if "pixel_weight" not in batch or "label_prob" not in batch:
            raise ConfigError(SEED_LABEL_HINT)
        return batch["label_prob"], batch["pixel_weight"]

    def __call__(self, batch: Mapping[str, Any], outputs: List[torch.Tensor],
                 monitor_logits: List[torch.Tensor]) -> List[Terms]:
        """Terms of each network (``loss`` is what is back-propagated)."""
        s = self.settings
        seeds = self._seeds(batch)
        reg_inputs = image_context(batch)
        ensemble = s.pseudo_label == "ensemble"
        targets: Dict[int, Tuple[torch.Tensor, Optional[torch.Tensor]]] = {}
        result = []
        for k, out in enumerate(outputs):
            kd = distillation_loss(out, monitor_logits[(k + 1) % len(monitor_logits)],
                                   s.temperature)
            key = 0 if ensemble else k  # the ensemble target is the same for every network
            if key not in targets:
                targets[key] = pseudo_label_targets(
                    monitor_logits, k, ensemble=ensemble, confidence=s.confidence,
                    foreground_only=s.pseudo_classes == "foreground", seeds=seeds)
            target, weight = targets[key]
            ce = partial_ce_loss(out, target, weight, from_logits=True)
            if self.paper:
                dice = self.dice({"prediction": out, "ground_truth": target})
            else:
                dice = partial_dice_loss(F.softmax(out, dim=1), target, weight)
            terms: Terms = {"kd": kd, "sup": ce + dice}
            loss = s.lam * kd + (1 - s.lam) * terms["sup"]
            for name, (w, fn) in self.regularisers.items():
                terms[name] = fn({"prediction": out, **reg_inputs})
                loss = loss + w * terms[name]
            result.append({"loss": loss, **terms})
        return result
