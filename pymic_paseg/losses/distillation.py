"""Knowledge-distillation loss of Cross Knowledge Distillation in SCM (PA-Seg eq. 12-15)."""
from __future__ import annotations

import math
from numbers import Real
from typing import Any, Mapping, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from pymic_paseg.config import Section
from pymic_paseg.losses._checks import (check_same_shape, check_tensor, check_weight_map,
                                        get_prediction, optional_tensor)

__all__ = ["distillation_loss", "CrossDistillationLoss", "SCM_HINT"]

SCM_HINT = (
    "CrossDistillationLoss is used by the PA-Seg SCM method, which supplies the "
    "teacher's logits as 'teacher_prediction': set [dataset] supervise_type = "
    "noisy_label and [noisy_label_learning] method_name = PASegSCM.")


def _check_temperature(temperature: Any) -> float:
    if isinstance(temperature, bool) or not isinstance(temperature, Real) \
            or not math.isfinite(float(temperature)) or temperature <= 0:
        raise ValueError(f"temperature: expected a finite number > 0. Got: {temperature!r}")
    return float(temperature)


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                      temperature: float = 4.0, *,
                      pixel_weight: Optional[torch.Tensor] = None) -> torch.Tensor:
    r"""Hinton's knowledge-distillation loss per voxel, as in the original SCM code.

    .. math::

        \tilde{p}_{ic} = \operatorname{softmax}_c(z^s_{i}/T),\qquad
        \tilde{q}_{ic} = \operatorname{softmax}_c(z^t_{i}/T)\qquad \text{(eq. 12)}

        \mathcal{L}_{KD} = \frac{T^2}{\sum_i w_i} \sum_i w_i \sum_{c=0}^{C-1}
            \tilde{q}_{ic} \log\frac{\tilde{q}_{ic}}{\tilde{p}_{ic}}

    where ``i`` runs over every voxel of every batch item (Omega), ``z^s_i`` and
    ``z^t_i`` are the student's and the teacher's logit vectors at voxel ``i``,
    ``T > 0`` the temperature (``T = 1``: standard softmax; a higher ``T`` gives
    softer probabilities), ``C`` the number of classes and ``w_i >= 0`` the
    optional pixel weight (``w_i = 1`` when ``pixel_weight`` is None, giving
    ``1/|Omega| sum_i`` of eq. 13). This is ``F.kl_div(log_softmax(z^s/T),
    softmax(z^t/T))`` summed over classes, averaged over voxels, times ``T^2``.
    In SCM the primary network ``theta^a`` is trained with
    ``lambda L_KD(a <- b) + (1 - lambda) L_sup`` (eq. 14) and symmetrically (eq. 15).

    Args:
        student_logits: ``z^s``, ``N x C x [D x] H x W`` raw logits (no softmax), ``C >= 2``.
        teacher_logits: ``z^t``, same shape, dtype and device as ``student_logits``.
            Detached inside: no gradient ever reaches the teacher.
        temperature: ``T``, a finite number > 0 (default 4.0, the paper's and the
            original code's value).
        pixel_weight: optional ``N x 1 x [D x] H x W`` weights ``w_i >= 0`` (bool or
            numeric); the loss is then the ``w``-weighted mean over voxels, and
            voxels with ``w_i = 0`` do not contribute.

    Returns:
        a scalar tensor (0 if every weight is 0).

    Config keys (wrapper): ``CrossDistillationLoss_temperature`` (float > 0, default 4.0).

    Note:
        * Direction: the paper's eq. 13 writes the KL with the student first,
          ``p^a log(p^a / p^b)`` = KL(student || teacher), and with the foreground
          term only. We follow the original PA-Seg code (``KDLoss`` in
          ``utilities/losses.py``), which computes Hinton's KL(teacher || student)
          summed over all ``C`` classes.
        * ``T^2`` factor: not in eq. 13; the original code multiplies by ``T^2`` (as
          Hinton et al. do, so gradient magnitudes do not shrink as ``1/T^2``). With
          ``T = 4`` the value is 16 times the plain KL of the softened outputs.
        * Reduction: the per-voxel KL summed over classes, then the mean over all
          voxels of all batch items (``kl.sum(dim=1).mean()``), i.e. the
          ``1/|Omega| sum_i`` of eq. 13. The original reshapes the logits to
          ``(N*D*H*W) x C`` before ``reduction='batchmean'``, which is the same mean.
          PyTorch's ``'batchmean'`` applied to the ``N x C x D x H x W`` tensor
          itself would divide by ``N`` only (``D*H*W`` times larger).
        * The teacher is detached here (the paper: "the gradient is stopped for
          theta^b"); the original calls ``.detach()`` at the call site.
        * All weights 0: the loss is 0 with zero gradients (the weight sum is replaced
          by 1 there; dividing by a clamped tiny sum overflowed to NaN gradients).
        * No epsilon: ``log_softmax`` is used for the student and ``kl_div`` treats
          ``q log q`` as 0 where ``q = 0``.
    """
    check_tensor("student_logits", student_logits)
    check_tensor("teacher_logits", teacher_logits)
    check_same_shape("teacher_logits", teacher_logits, "student_logits", student_logits)
    if teacher_logits.dtype != student_logits.dtype:
        raise TypeError(f"teacher_logits: expected the dtype of student_logits "
                        f"({student_logits.dtype}). Got: {teacher_logits.dtype}")
    if student_logits.shape[1] < 2:
        raise ValueError("student_logits: expected C >= 2 classes in dim 1 (logits of a "
                         f"softmax). Got: shape {tuple(student_logits.shape)}")
    t = _check_temperature(temperature)
    if pixel_weight is not None:
        check_weight_map("pixel_weight", pixel_weight, student_logits)
    log_p_student = F.log_softmax(student_logits / t, dim=1)
    p_teacher = F.softmax(teacher_logits.detach() / t, dim=1)
    kl = F.kl_div(log_p_student, p_teacher, reduction="none").sum(dim=1, keepdim=True)
    if pixel_weight is None:
        return kl.mean() * t ** 2
    w = pixel_weight.to(student_logits.dtype)
    total = w.sum()
    # all weights 0: divide the (zero) sum by 1, so the gradient is 0, not 0 * inf = NaN
    denom = torch.where(total > 0, total, torch.ones_like(total))
    return (w * kl).sum() / denom * t ** 2


class CrossDistillationLoss(nn.Module):
    """PyMIC wrapper of :func:`distillation_loss` (registered as ``CrossDistillationLoss``).

    Config (``[training]`` section):
        * ``CrossDistillationLoss_temperature`` (float > 0, default ``4.0``): ``T``.
        * any other ``CrossDistillationLoss_*`` key is rejected as a misspelling.
        * ``loss_acti_func`` is ignored: the loss always takes raw logits.

    Reads from ``loss_input_dict``: ``prediction`` (the student's logits; ``[0]`` of a
    list/tuple), ``teacher_prediction`` (the teacher's logits; ``[0]`` of a
    list/tuple; required, supplied by the SCM method ``PASegSCM``) and the optional
    ``pixel_weight`` (``N x 1 x spatial``).
    """

    KEYS = ("CrossDistillationLoss_temperature",)

    def __init__(self, params: Optional[Mapping[str, Any]] = None):
        super().__init__()
        section = Section("training", params)
        section.check_known_keys("CrossDistillationLoss_", self.KEYS)
        self.temperature = section.float(self.KEYS[0], 4.0, low=0, low_open=True)

    def forward(self, loss_input_dict: Mapping[str, Any]) -> torch.Tensor:
        student = get_prediction(loss_input_dict, "CrossDistillationLoss")
        teacher = loss_input_dict.get("teacher_prediction")
        if isinstance(teacher, (list, tuple)):
            teacher = teacher[0] if len(teacher) > 0 else None
        if teacher is None:
            raise ValueError(f"CrossDistillationLoss: loss_input_dict has no "
                             f"'teacher_prediction'. {SCM_HINT}")
        return distillation_loss(student, teacher, self.temperature,
                                 pixel_weight=optional_tensor(loss_input_dict, "pixel_weight"))
