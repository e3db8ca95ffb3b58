"""Size-constraint penalty of Kervadec et al. 2019 (the "size loss" baseline, PA-Seg Table II)."""
from __future__ import annotations

import math
from numbers import Real
from typing import Any, Mapping, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from pymic_paseg.config import Section
from pymic_paseg.losses._checks import (activate, check_tensor,
                                        check_weight_map, get_label, get_prediction,
                                        optional_tensor, read_activation)

__all__ = ["size_constraint_loss", "volume_from_label", "volume_from_candidates",
           "candidate_region", "SizeConstraintLoss", "SIZE_TARGETS"]

#: values of ``SizeConstraintLoss_target``: where V* comes from without ``target_volume``.
SIZE_TARGETS = ("box", "gt_prob")


def _check_classes(name: str, probs: torch.Tensor) -> None:
    if probs.shape[1] < 2:
        raise ValueError(f"{name}: expected C >= 2 classes in dim 1 (background + "
                         f"foreground). Got: shape {tuple(probs.shape)}")


def _check_bounds(lower: Any, upper: Any) -> None:
    for name, value in (("lower", lower), ("upper", upper)):
        if isinstance(value, bool) or not isinstance(value, Real) \
                or not math.isfinite(float(value)) or value <= 0:
            raise ValueError(f"{name}: expected a finite number > 0. Got: {value!r}")
    if upper < lower:
        raise ValueError(f"upper: expected a number >= lower ({lower!r}). Got: {upper!r}")


def size_constraint_loss(probs: torch.Tensor, target_volume: torch.Tensor,
                         lower: float = 0.9, upper: float = 1.1) -> torch.Tensor:
    r"""Quadratic penalty on the soft size outside ``[a, b]`` (Kervadec et al. 2019).

    For batch item ``n`` and foreground class ``c = 1 .. C-1``:

    .. math::

        V_{nc} = \sum_{i \in \Omega} p_{nic},\qquad a_{nc} = \alpha V^*_{nc},\quad
        b_{nc} = \beta V^*_{nc}

        \mathcal{C}_{nc} = \begin{cases} (V_{nc} - a_{nc})^2 & V_{nc} < a_{nc} \\
            (V_{nc} - b_{nc})^2 & V_{nc} > b_{nc} \\ 0 & \text{otherwise}\end{cases}
        = \max(0, a_{nc} - V_{nc})^2 + \max(0, V_{nc} - b_{nc})^2

        \mathcal{L}_{size} = \frac{1}{N (C-1)} \sum_{n} \sum_{c=1}^{C-1}
            \frac{\mathcal{C}_{nc}}{|\Omega|}

    ``Omega``: the voxels of one item (patch), ``|Omega| = [D x] H x W``; ``p_nic``:
    predicted probability of class ``c`` at voxel ``i``; ``V_nc``: the soft size
    (voxels); ``V*_nc``: the target volume (voxels, inside the same patch);
    ``alpha``/``beta``: ``lower``/``upper``, the tolerance factors (PA-Seg Table II and
    Kervadec's ``PreciseBounds`` with a 10 % margin: 0.9 and 1.1).

    Args:
        probs: probabilities ``N x C x [D x] H x W``, ``C >= 2`` (class 0 = background,
            not constrained).
        target_volume: ``V*``, ``N x C`` voxel counts ``>= 0`` (integer or float;
            column 0 is ignored). Treated as a constant (no gradient).
        lower: ``alpha``, a finite number > 0 (default 0.9).
        upper: ``beta``, a finite number ``>= lower`` (default 1.1).

    Returns:
        a scalar tensor (0 when every soft size is inside its bounds).

    Config keys (wrapper): ``SizeConstraintLoss_lower`` (0.9), ``SizeConstraintLoss_upper``
    (1.1), ``SizeConstraintLoss_target`` (box), ``SizeConstraintLoss_box_fill`` (0.5);
    see :class:`SizeConstraintLoss`.

    Note:
        * Normalisation follows the reference code (``NaivePenalty`` in
          LIVIAETS/SizeLoss_WSS and ``NaiveSizeLoss`` in their tutorial): the squared
          violation is divided by the number of pixels ``w * h`` of the image, then
          averaged over batch items and constrained classes. The paper's equations
          have no ``1/|Omega|``; the reference's loss weights (0.01-0.05) assume it.
          The original MIDL-2018 ``Size_Loss`` also divided by a hard-coded 100; we
          leave that to PyMIC's ``loss_weight``.
        * The reference is 2D (per slice); here ``|Omega|`` is the voxel count of the
          3D patch and ``V*`` must be the volume inside that patch.
        * ``V* = 0`` (class absent) gives ``a = b = 0`` and the penalty ``V^2/|Omega|``,
          as the reference's bounds ``[0, 0]`` do.
        * Reference bounds are clamped to ``>= 0``; with ``alpha, beta > 0`` and
          ``V* >= 0`` they already are.
    """
    check_tensor("probs", probs)
    _check_classes("probs", probs)
    check_tensor("target_volume", target_volume, ndims=(2,), floating=False)
    want = tuple(probs.shape[:2])
    if tuple(target_volume.shape) != want:
        raise ValueError(f"target_volume: expected shape {want} (N x C). "
                         f"Got: {tuple(target_volume.shape)}")
    if target_volume.device != probs.device:
        raise ValueError(f"target_volume: expected the device of probs ({probs.device}). "
                         f"Got: {target_volume.device}")
    _check_bounds(lower, upper)
    vstar = target_volume.detach()[:, 1:].to(probs.dtype)
    if not bool(torch.isfinite(vstar).all()) or bool((vstar < 0).any()):
        raise ValueError("target_volume: expected finite voxel counts >= 0. "
                         f"Got: {target_volume.tolist()}")
    size = probs[:, 1:].sum(dim=tuple(range(2, probs.dim())))          # N x (C-1)
    penalty = F.relu(lower * vstar - size) ** 2 + F.relu(size - upper * vstar) ** 2
    return (penalty / probs[0, 0].numel()).mean()


def volume_from_label(target: torch.Tensor) -> torch.Tensor:
    """``V*_nc = sum_i q_nic``: the class volumes of a dense one-hot label (``N x C``)."""
    check_tensor("target", target, floating=False)
    return target.detach().to(torch.float64).sum(dim=tuple(range(2, target.dim())))


def candidate_region(target: torch.Tensor,
                     weight: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Voxels that may belong to each class under a partial label (bool ``N x C x spatial``).

    Class ``c`` may be at voxel ``i`` unless ``i`` is labelled with another class. A
    voxel is labelled with class ``k`` if ``q_ik > 0.5`` and ``w_i != 0`` (PyMIC's
    ``PartialLabelToProbability``: one-hot on labelled voxels, all-zero and
    ``pixel_weight = 0`` on unlabeled ones). For PA-Seg's expanded seeds and ``C = 2``,
    the foreground region is the voxels not labelled background: box ∩ Omega_M.
    """
    check_tensor("target", target, floating=False)
    labelled = target.detach() > 0.5
    if weight is not None:
        check_weight_map("weight", weight, target)
        labelled = labelled & (weight != 0)
    return labelled | ~labelled.any(dim=1, keepdim=True)


def volume_from_candidates(target: torch.Tensor, weight: Optional[torch.Tensor] = None,
                           fill: float = 0.5) -> torch.Tensor:
    """``V*_nc = fill * |candidate region of class c|`` (``N x C``); see :func:`candidate_region`.
    """
    if isinstance(fill, bool) or not isinstance(fill, Real) or not 0 < fill <= 1:
        raise ValueError(f"fill: expected a number in (0, 1]. Got: {fill!r}")
    region = candidate_region(target, weight)
    return fill * region.sum(dim=tuple(range(2, region.dim()))).to(torch.float64)


class SizeConstraintLoss(nn.Module):
    """PyMIC wrapper of :func:`size_constraint_loss` (registered as ``SizeConstraintLoss``).

    Config (``[training]`` section; defaults in brackets):
        * ``SizeConstraintLoss_lower`` [0.9]: ``alpha``, a finite number > 0.
        * ``SizeConstraintLoss_upper`` [1.1]: ``beta``, a finite number ``>= lower``.
        * ``SizeConstraintLoss_target`` [box]: where ``V*`` comes from when
          ``loss_input_dict`` has no ``target_volume``:

          - ``box``: ``V*_c = box_fill * |voxels not labelled with another class|``
            (:func:`volume_from_candidates`); for PA-Seg's partial labels and ``C = 2``,
            ``box_fill * |box ∩ Omega_M|``. An estimate from the weak label only.
          - ``gt_prob``: ``V*_c = sum_i q_ic`` of ``ground_truth``
            (:func:`volume_from_label`), for a dense label (Kervadec's oracle
            ``PreciseBounds``, as in PA-Seg Table II). Rejected when ``pixel_weight``
            marks unlabeled voxels, since a partial label would give the seed count.
        * ``SizeConstraintLoss_box_fill`` [0.5]: in (0, 1]; the fraction of the box the
          object fills (an ellipsoid inscribed in a tight 3D box fills pi/6 ≈ 0.52; a
          loose box, as PA-Seg's background clicks give, less).
        * ``loss_acti_func`` (PyMIC's key): softmax (default), sigmoid or None.

    Reads from ``loss_input_dict``: ``prediction`` (``[0]`` of a list), and either
    ``target_volume`` (``N x C`` voxels inside the patch; the agent must supply it,
    e.g. from the dense label for the oracle setting) or ``ground_truth`` (one-hot,
    ``N x C x spatial``) with the optional ``pixel_weight`` (``N x 1 x spatial``).
    """

    PREFIX = "SizeConstraintLoss_"
    KEYS = tuple("SizeConstraintLoss_" + k for k in ("lower", "upper", "target", "box_fill"))

    def __init__(self, params: Optional[Mapping[str, Any]] = None):
        super().__init__()
        cfg = Section("training", params)
        cfg.check_known_keys(self.PREFIX, self.KEYS)
        k_lower, k_upper, k_target, k_fill = self.KEYS
        self.acti = read_activation(cfg)
        self.lower = cfg.float(k_lower, 0.9, low=0, low_open=True)
        self.upper = cfg.float(k_upper, 1.1, low=0, low_open=True)
        if self.upper < self.lower:
            raise cfg.fail(k_upper, cfg.raw(k_upper, self.upper),
                           f"must be >= {k_lower} ({self.lower:g})")
        self.target = cfg.choice(k_target, SIZE_TARGETS, default="box")
        self.box_fill = cfg.float(k_fill, 0.5, low=0, high=1, low_open=True)

    def target_volume(self, loss_input_dict: Mapping[str, Any],
                      probs: torch.Tensor) -> torch.Tensor:
        """``V*`` (``N x C``): ``target_volume`` if given, else the configured estimate."""
        given = optional_tensor(loss_input_dict, "target_volume")
        if given is not None:
            return given
        target = get_label(loss_input_dict, "SizeConstraintLoss", probs, "target_volume")
        weight = optional_tensor(loss_input_dict, "pixel_weight")
        if self.target == "box":
            return volume_from_candidates(target, weight, self.box_fill).to(probs.device)
        if weight is not None:
            check_weight_map("SizeConstraintLoss: pixel_weight", weight, probs)
            if bool((weight == 0).any()):
                raise ValueError(
                    "SizeConstraintLoss: [training] SizeConstraintLoss_target = gt_prob "
                    "needs a dense ground_truth, but pixel_weight marks unlabeled voxels "
                    "(a partial label). Use SizeConstraintLoss_target = box, or pass "
                    "'target_volume' (N x C voxels) in loss_input_dict.")
        return volume_from_label(target).to(probs.device)

    def forward(self, loss_input_dict: Mapping[str, Any]) -> torch.Tensor:
        pred = get_prediction(loss_input_dict, "SizeConstraintLoss")
        probs = activate(pred, self.acti)
        return size_constraint_loss(probs, self.target_volume(loss_input_dict, probs),
                                    self.lower, self.upper)
