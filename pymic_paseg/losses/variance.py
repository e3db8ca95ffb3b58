"""Variance minimisation loss over the valid image region (PA-Seg eq. 9-10)."""
from __future__ import annotations

from typing import Any, Mapping, Optional

import torch
import torch.nn as nn

from pymic_paseg.config import Section
from pymic_paseg.losses._checks import (activate, check_image, check_tensor, check_weight_map,
                                        get_image, get_prediction, optional_tensor,
                                        read_activation)
from pymic_paseg.valid_region import valid_region as omega_m

__all__ = ["variance_minimization_loss", "valid_region", "VarianceMinimizationLoss"]


def valid_region(image: torch.Tensor, threshold: float = 1e-5) -> torch.Tensor:
    """Omega_M: voxels that exceed their item's minimum by more than ``threshold``.

    ``image`` is ``N x Cin x spatial``; a voxel is valid if any channel satisfies
    ``x - min_n(x) > threshold`` (``min`` over the item's voxels, per channel). Returns a
    bool ``N x 1 x spatial`` tensor. A negative ``threshold`` marks every voxel valid.
    This is :func:`pymic_paseg.valid_region.valid_region` with ``above_min=True``.
    """
    check_tensor("image", image)
    return omega_m(image, threshold, above_min=True, channel_axis=1)


def variance_minimization_loss(probs: torch.Tensor, image: torch.Tensor,
                               mask: Optional[torch.Tensor] = None, *,
                               mask_threshold: float = 1e-5,
                               eps: float = 1e-6) -> torch.Tensor:
    r"""Intensity variance inside each predicted class over Omega_M (PA-Seg eq. 9-10).

    For batch item ``n``, image channel ``k`` and class ``c``:

    .. math::

        u_{c} = \frac{\sum_i m_i p_{ic} x_{ik}}{\sum_i m_i p_{ic} + \epsilon},\qquad
        V_{c} = \frac{\sum_i m_i p_{ic} (x_{ik} - u_c)^2}{\sum_i m_i p_{ic} + \epsilon}

    and the loss is :math:`\frac{1}{N}\sum_n \frac{1}{C_{in}}\sum_k \sum_c V_c`.
    ``p_ic``: predicted probability of class ``c`` at voxel ``i``; ``x_ik``: image
    intensity of channel ``k``; ``m_i``: 1 on the valid region Omega_M, else 0. For
    ``C = 2`` (``p_i0 = 1 - p_i1``) and ``Cin = 1`` this is eq. 10: ``V_1`` is the
    foreground term with ``u_f``, ``V_0`` the background term with ``u_b`` (eq. 9).

    Args:
        probs: probabilities ``N x C x [D x] H x W``.
        image: ``N x Cin x [D x] H x W`` intensities (used as given; the original
            code feeds the z-scored network input).
        mask: Omega_M as ``N x 1 x spatial`` bool or weights ``m_i >= 0``; if None,
            :func:`valid_region` ``(image, mask_threshold)``.
        mask_threshold: see :func:`valid_region` (default 1e-5, as the original).
        eps: added to each class mass ``sum_i m_i p_ic``.

    Returns:
        a scalar tensor.

    Config keys (wrapper): ``VarianceMinimizationLoss_mask_threshold`` (float,
    default 1e-5; negative = whole patch).

    Note:
        * ``eps = 1e-6`` in both denominators: an empty class mass (e.g. ``p = 0`` on
          Omega_M, or an empty Omega_M) gives ``V_c = 0`` with a finite gradient
          instead of 0/0.
        * ``C > 2``: sum over all classes of the within-class variance (reduces to
          eq. 10 for ``C = 2``). Multi-channel images: computed per channel with the
          same Omega_M and averaged over channels (the original used channel 0).
        * Per batch item, then averaged (as the original).
        * The original code applied Omega_M to the background term only; we apply
          it to both terms, as eq. 9-10 do.
    """
    check_tensor("probs", probs)
    check_image("image", image, probs)
    if mask is None:
        mask = valid_region(image, mask_threshold)
    else:
        check_weight_map("mask", mask, probs)
    n, c = probs.shape[:2]
    x = image.to(probs.dtype).reshape(n, image.shape[1], 1, -1)      # N x K x 1 x S
    mp = (mask.to(probs.dtype) * probs).reshape(n, 1, c, -1)         # N x 1 x C x S
    mass = mp.sum(-1, keepdim=True) + eps                            # N x 1 x C x 1
    mean = (mp * x).sum(-1, keepdim=True) / mass                     # N x K x C x 1
    var = (mp * (x - mean) ** 2).sum(-1, keepdim=True) / mass        # N x K x C x 1
    return var.sum(dim=2).mean()


class VarianceMinimizationLoss(nn.Module):
    """PyMIC wrapper of :func:`variance_minimization_loss` (``VarianceMinimizationLoss``).

    Config (``[training]`` section):
        * ``VarianceMinimizationLoss_mask_threshold`` (float, default ``1e-5``):
          Omega_M = voxels above the item's minimum by more than this, used when
          ``loss_input_dict`` has no ``valid_mask``; negative = whole patch.
        * ``loss_acti_func`` (PyMIC's key): softmax (default), sigmoid or None.

    Reads ``prediction`` (``[0]`` of a list), ``image`` and the optional
    ``valid_mask`` (``N x 1 x spatial``) from ``loss_input_dict``. PyMIC's fully
    supervised agent passes no image: use the PA-Seg stage-1 method, otherwise
    :class:`~pymic_paseg.losses._checks.MissingImageError` is raised.
    """

    KEYS = ("VarianceMinimizationLoss_mask_threshold",)

    def __init__(self, params: Optional[Mapping[str, Any]] = None):
        super().__init__()
        section = Section("training", params)
        section.check_known_keys("VarianceMinimizationLoss_", self.KEYS)
        self.acti = read_activation(section)
        self.mask_threshold = section.float(self.KEYS[0], 1e-5)

    def forward(self, loss_input_dict: Mapping[str, Any]) -> torch.Tensor:
        pred = get_prediction(loss_input_dict, "VarianceMinimizationLoss")
        image = get_image(loss_input_dict, "VarianceMinimizationLoss")
        return variance_minimization_loss(
            activate(pred, self.acti), image, optional_tensor(loss_input_dict, "valid_mask"),
            mask_threshold=self.mask_threshold)
