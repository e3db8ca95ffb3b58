"""Partial cross-entropy over labeled voxels (PA-Seg eq. 4)."""
from __future__ import annotations

from typing import Any, Mapping, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from pymic_paseg.config import Section
from pymic_paseg.losses._checks import (activate, check_same_shape, check_tensor,
                                        check_weight_map, get_prediction, optional_tensor,
                                        read_activation)

__all__ = ["partial_ce_loss", "PartialCELoss"]


def partial_ce_loss(pred: torch.Tensor, target: torch.Tensor,
                    weight: Optional[torch.Tensor] = None, *,
                    from_logits: bool = False) -> torch.Tensor:
    r"""Cross-entropy averaged over the labeled voxels Omega_L (PA-Seg eq. 4).

    .. math::

        \mathcal{L}_{pce} = \frac{1}{\sum_i w_i} \sum_i w_i
            \Big(-\sum_{c=0}^{C-1} q_{ic} \log p_{ic}\Big)

    where ``i`` runs over every voxel of every batch item, ``p_ic`` is the predicted
    probability of class ``c`` at voxel ``i``, ``q_ic`` the (one-hot) partial label
    and ``w_i`` the pixel weight: 1 on Omega_L, 0 on unlabeled voxels Omega_U. With
    binary ``w`` and ``C = 2`` this is eq. 4 of the paper,
    ``-(q log p + (1-q) log(1-p))`` averaged over Omega_L (``p = p_i1``).

    Args:
        pred: probabilities ``N x C x [D x] H x W`` (logits if ``from_logits``).
        target: one-hot labels ``q``, same shape as ``pred`` (PyMIC's
            ``PartialLabelToProbability`` output; all-zero on unlabeled voxels).
        weight: ``N x 1 x [D x] H x W`` pixel weights ``w >= 0`` (PyMIC's
            ``pixel_weight``); ``None`` means every voxel is labeled.
        from_logits: ``pred`` holds logits; ``log_softmax`` over ``C`` is used,
            which equals ``log(softmax(pred))`` without its underflow.

    Returns:
        a scalar tensor.

    Note:
        * Voxels of all batch items are pooled (as PyMIC's ``CrossEntropyLoss``
          with ``pixel_weight``); the original PA-Seg code averages per-item means,
          which differs only for batches with unequal labeled-voxel counts.
        * No epsilon inside the log. ``log p`` is taken only where ``q w != 0``
          (elsewhere ``p`` is replaced by 1 before the log), so predictions on
          unlabeled voxels never enter the value or the gradient, even if 0.
        * If no voxel is labeled the loss is 0 (the denominator is clamped to the
          smallest positive float; the numerator is then exactly 0).
    """
    check_tensor("pred", pred)
    check_tensor("target", target, floating=False)
    check_same_shape("target", target, "pred", pred)
    if weight is not None:
        check_weight_map("weight", weight, pred)
    target = target.to(pred.dtype)
    w = torch.ones_like(pred[:, :1]) if weight is None else weight.to(pred.dtype)
    if from_logits:
        logp = F.log_softmax(pred, dim=1)
    else:
        used = (target != 0) & (w != 0)
        logp = torch.log(torch.where(used, pred, torch.ones_like(pred)))
    ce = -(target * logp).sum(dim=1, keepdim=True)
    denom = w.sum().clamp_min(torch.finfo(pred.dtype).tiny)
    return (w * ce).sum() / denom


class PartialCELoss(nn.Module):
    """PyMIC wrapper of :func:`partial_ce_loss` (registered as ``PartialCELoss``).

    Config (``[training]`` section):
        * ``loss_acti_func`` (PyMIC's key): ``softmax`` (default; computed stably as
          ``log_softmax`` of the logits), ``sigmoid`` or ``None`` (prediction is
          already a probability map).
        * no ``PartialCELoss_*`` keys; any such key is rejected as a misspelling.

    Reads ``prediction`` (``[0]`` of a list), ``ground_truth`` and ``pixel_weight``
    (optional) from ``loss_input_dict``.
    """

    def __init__(self, params: Optional[Mapping[str, Any]] = None):
        super().__init__()
        section = Section("training", params)
        section.check_known_keys("PartialCELoss_", ())
        self.acti = read_activation(section)

    def forward(self, loss_input_dict: Mapping[str, Any]) -> torch.Tensor:
        pred = get_prediction(loss_input_dict, "PartialCELoss")
        target = loss_input_dict["ground_truth"]
        weight = optional_tensor(loss_input_dict, "pixel_weight")
        if self.acti == "softmax":
            return partial_ce_loss(pred, target, weight, from_logits=True)
        return partial_ce_loss(activate(pred, self.acti), target, weight)
