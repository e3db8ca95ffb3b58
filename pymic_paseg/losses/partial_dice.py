"""Partial Dice loss with squared denominators over labeled voxels (PA-Seg eq. 5)."""
from __future__ import annotations

from typing import Any, Mapping, Optional

import torch
import torch.nn as nn

from pymic_paseg.config import Section
from pymic_paseg.losses._checks import (activate, check_same_shape, check_tensor,
                                        check_weight_map, get_prediction, optional_tensor,
                                        read_activation)

__all__ = ["partial_dice_loss", "PartialDiceLoss"]


def partial_dice_loss(probs: torch.Tensor, target: torch.Tensor,
                      weight: Optional[torch.Tensor] = None, *,
                      include_background: bool = False) -> torch.Tensor:
    r"""Dice loss over the labeled voxels Omega_L with squared terms (PA-Seg eq. 5).

    For batch item ``n`` and class ``c``:

    .. math::

        \ell_{nc} = 1 - \frac{2 \sum_i w_i p_{ic} q_{ic}}
                         {\sum_i w_i p_{ic}^2 + \sum_i w_i q_{ic}^2}

    where ``i`` runs over the voxels of item ``n``, ``p_ic`` is the predicted
    probability of class ``c``, ``q_ic`` the (one-hot) partial label and ``w_i`` the
    pixel weight (1 on Omega_L, 0 on unlabeled voxels). The loss is the mean of
    ``l_nc`` over the classes used and over the items that have labeled voxels.
    Classes used: the foreground classes ``c = 1 .. C-1`` (the single channel if
    ``C = 1``); all ``C`` classes if ``include_background``. For ``C = 2`` the
    default is exactly eq. 5 with ``p_i = p_i1`` the foreground probability.

    Args:
        probs: probabilities ``N x C x [D x] H x W``.
        target: one-hot labels ``q``, same shape as ``probs``.
        weight: ``N x 1 x [D x] H x W`` pixel weights ``w >= 0``; ``None`` = all 1.
        include_background: also average class 0.

    Returns:
        a scalar tensor.

    Config (wrapper): ``PartialDiceLoss_include_background`` (bool, default False).

    Note:
        * Computed per batch item and averaged (as the original code; the paper
          uses batch size 1). Items without labeled voxels are left out; if no item
          has any, the loss is 0.
        * No smoothing epsilon. If a class has ``sum w p^2 + sum w q^2 = 0``
          (absent from the labels and predicted exactly 0) its term is 0 (a perfect
          match) instead of 0/0.
        * A class absent from an item's labels gives ``l_nc = 1`` with zero
          gradient, exactly as eq. 5 does.
        * The original code used a non-squared denominator over both classes and
          ``L_pce + L_pdc`` instead of eq. 3's mean; we follow the paper.
    """
    check_tensor("probs", probs)
    check_tensor("target", target, floating=False)
    check_same_shape("target", target, "probs", probs)
    if weight is not None:
        check_weight_map("weight", weight, probs)
    n, c = probs.shape[:2]
    target = target.to(probs.dtype)
    w = torch.ones_like(probs[:, :1]) if weight is None else weight.to(probs.dtype)
    first = 0 if (include_background or c == 1) else 1
    p = probs[:, first:].reshape(n, c - first, -1)
    q = target[:, first:].reshape(n, c - first, -1)
    w = w.reshape(n, 1, -1)
    inter = (w * p * q).sum(-1)
    denom = (w * p * p).sum(-1) + (w * q * q).sum(-1)
    safe = torch.where(denom > 0, denom, torch.ones_like(denom))
    loss_nc = torch.where(denom > 0, 1.0 - 2.0 * inter / safe, torch.zeros_like(denom))
    labeled = (w.reshape(n, -1) > 0).any(dim=1).to(probs.dtype)
    return (loss_nc.mean(dim=1) * labeled).sum() / labeled.sum().clamp_min(1.0)


class PartialDiceLoss(nn.Module):
    """PyMIC wrapper of :func:`partial_dice_loss` (registered as ``PartialDiceLoss``).

    Config (``[training]`` section):
        * ``PartialDiceLoss_include_background`` (bool, default ``False``): average
          the background class too.
        * ``loss_acti_func`` (PyMIC's key): ``softmax`` (default), ``sigmoid`` or
          ``None``.

    Reads ``prediction`` (``[0]`` of a list), ``ground_truth`` and ``pixel_weight``
    (optional) from ``loss_input_dict``.
    """

    KEYS = ("PartialDiceLoss_include_background",)

    def __init__(self, params: Optional[Mapping[str, Any]] = None):
        super().__init__()
        section = Section("training", params)
        section.check_known_keys("PartialDiceLoss_", self.KEYS)
        self.acti = read_activation(section)
        self.include_background = section.bool("PartialDiceLoss_include_background", False)

    def forward(self, loss_input_dict: Mapping[str, Any]) -> torch.Tensor:
        pred = get_prediction(loss_input_dict, "PartialDiceLoss")
        probs = activate(pred, self.acti)
        return partial_dice_loss(probs, loss_input_dict["ground_truth"],
                                 optional_tensor(loss_input_dict, "pixel_weight"),
                                 include_background=self.include_background)
