"""Windowed relaxed-Potts energy with O(voxels) memory (engine of the multi-view CRF loss).

For a set of 3D offsets ``delta`` with coefficients ``c_delta`` (view weights times
the spatial Gaussian, see :func:`offset_table`) and pre-scaled image features ``f``
(``f = x / (sqrt(2) sigma_x)``), the pair weight is

    K_ij = c_delta * max(exp(-|f_i - f_j|^2), exp(-CUTOFF)),    j = i + delta,

and the energy over ordered pairs (both ``(i, j)`` and ``(j, i)``) is

    E = sum_{(i,j)} K_ij sum_c p_ic (1 - p_jc) = sum_{i,c} p_ic (A_i - B_ic),

with ``A_i = sum_j K_ij`` (kernel row sum) and ``B_ic = sum_j K_ij p_jc`` (the
kernel-filtered probabilities). Because ``K`` is symmetric,

    dE/dp_kc = A_k - 2 B_kc.

:class:`WindowPottsEnergy` visits each offset of the half window once, adds the
pair's contribution to both ends (``A``, ``B`` at ``i`` and at ``j``), and keeps
only ``A - 2B`` (times ``scale``) for backward. Nothing per offset is kept for
autograd, so memory is a few voxel-sized tensors whatever the window size.
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch.autograd.function import once_differentiable

__all__ = ["WindowPottsEnergy", "Offset", "CUTOFF", "VIEW_AXES", "offset_table"]

#: the intensity factor exp(-|f_i - f_j|^2) is floored at exp(-CUTOFF) (see the Note of
#: multiview_crf_loss): exp() of very negative numbers and float32 subnormals are 5-50x
#: slower on CPU.
CUTOFF = 20.0

Offset = Tuple[int, int, int]

#: view name -> the two in-plane axes among (0 = D = z, 1 = H = y, 2 = W = x).
VIEW_AXES: Dict[str, Tuple[int, int]] = {"axial": (1, 2), "sagittal": (0, 1), "coronal": (0, 2)}


def offset_table(radii: List[int], views: Sequence[str], weights: Sequence[float],
                 spacing: Optional[List[float]],
                 sigma: float) -> Tuple[List[Offset], List[float]]:
    """Half-window 3D offsets of all views, each once, with their coefficients.

    A view's window holds the offsets in its plane with ``|delta_a| <= radii[a]``. An
    offset lying in two planes (e.g. ``(0, 0, dw)``: axial and coronal) is listed once
    with the sum of the normalised view weights ``w_v / sum(w)``, times the spatial
    kernel ``exp(-|delta * spacing|^2 / (2 sigma^2))``. Of ``delta`` and ``-delta``
    only the lexicographically positive one is kept (``K`` is symmetric).
    """
    total = float(sum(weights))
    table: Dict[Offset, float] = {}
    for view, weight in zip(views, weights):
        a, b = VIEW_AXES[view]
        for da in range(-radii[a], radii[a] + 1):
            for db in range(-radii[b], radii[b] + 1):
                delta = [0, 0, 0]
                delta[a], delta[b] = da, db
                key = (delta[0], delta[1], delta[2])
                if key > (0, 0, 0) and weight > 0:   # one of each +/- pair
                    table[key] = table.get(key, 0.0) + weight / total
    step = spacing if spacing is not None else [1.0, 1.0, 1.0]
    offsets = list(table)
    coeffs = [table[o] * math.exp(-sum((d * s) ** 2 for d, s in zip(o, step))
                                  / (2.0 * sigma ** 2)) for o in offsets]
    return offsets, coeffs


def _regions(delta: Offset, size: Sequence[int]) -> Tuple[tuple, tuple]:
    """Index tuples (over N, C, D, H, W) of the voxels i and their partners j = i + delta."""
    first, second = [slice(None), slice(None)], [slice(None), slice(None)]
    for d, s in zip(delta, size):
        if d >= 0:
            first.append(slice(0, s - d))
            second.append(slice(d, s))
        else:
            first.append(slice(-d, s))
            second.append(slice(0, s + d))
    return tuple(first), tuple(second)


def _region_shape(delta: Offset, size: Sequence[int]) -> List[int]:
    return [s - abs(d) for d, s in zip(delta, size)]


def _pair_kernel(feats: torch.Tensor, ri: tuple, rj: tuple, out: torch.Tensor,
                 spare: torch.Tensor, log_c: float, log_c_t: torch.Tensor) -> torch.Tensor:
    """``out = exp(max(log_c - |f_i - f_j|^2, log_c - CUTOFF))`` over the region.

    ``log_c_t`` is ``log_c`` as a 0-dim tensor on the device (no host copy per offset).
    """
    nf = feats.shape[1]
    if nf == 1:
        torch.sub(feats[ri], feats[rj], out=out)
        torch.addcmul(log_c_t, out, out, value=-1.0, out=out)
    else:
        diff = spare[: out.numel() * nf].view(out.shape[0], nf, *out.shape[2:])
        torch.sub(feats[ri], feats[rj], out=diff)
        torch.sum(diff.square_(), dim=1, keepdim=True, out=out)
        out.neg_().add_(log_c)
    return out.clamp_min_(log_c - CUTOFF).exp_()


class WindowPottsEnergy(torch.autograd.Function):
    """``E(p)`` and ``dE/dp`` for a list of half-window offsets; see the module doc.

    forward(probs, feats, offsets, coeffs, scale, sum_to_one):
        probs: ``N x C x D x H x W`` probabilities (the only differentiable input).
        feats: ``N x F x D x H x W`` pre-scaled features (same dtype and device);
            treated as a constant (no gradient flows to the image).
        offsets: half-window offsets ``(dd, dh, dw)``; ``-delta`` must not be listed.
        coeffs: one positive float per offset.
        scale: factor applied to ``E`` and its gradient (normalisation).
        sum_to_one: the caller checked ``sum_c p_c = 1`` at every voxel; then class 0
            is not filtered but derived, ``B_0 = A - sum_{c>0} B_c`` (one channel
            less per offset: for ``C = 2`` about a third faster on CPU).
    """

    @staticmethod
    def forward(ctx, probs, feats, offsets, coeffs, scale, sum_to_one):  # noqa: D401
        n, c, d, h, w = probs.shape
        size = (d, h, w)
        first = 1 if (sum_to_one and c > 1) else 0
        src = probs[:, first:].contiguous()
        row = probs.new_zeros((n, 1, d, h, w))          # A
        filt = torch.zeros_like(src)                    # B, classes first .. C-1
        spare = probs.new_empty(n * feats.shape[1] * d * h * w) if feats.shape[1] > 1 \
            else probs.new_empty(0)
        wbuf = probs.new_empty(n * d * h * w)
        log_cs = [math.log(cf) if cf > 0 else -math.inf for cf in coeffs]
        log_cs_t = torch.tensor(log_cs, dtype=probs.dtype).to(probs.device)
        for k, delta in enumerate(offsets):
            shape = _region_shape(delta, size)
            if min(shape) <= 0 or coeffs[k] <= 0.0:
                continue
            ri, rj = _regions(delta, size)
            kern = wbuf[: n * shape[0] * shape[1] * shape[2]].view(n, 1, *shape)
            _pair_kernel(feats, ri, rj, kern, spare, log_cs[k], log_cs_t[k])
            row[ri].add_(kern)
            row[rj].add_(kern)
            filt[ri].addcmul_(kern, src[rj])
            filt[rj].addcmul_(kern, src[ri])
        if first:
            filt = torch.cat([row - filt.sum(dim=1, keepdim=True), filt], dim=1)
        energy = (probs * (row - filt)).sum() * scale
        ctx.save_for_backward(filt.mul_(-2.0 * scale).add_(row, alpha=scale))  # (A - 2B) s
        return energy

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_energy):
        (grad,) = ctx.saved_tensors
        return grad * grad_energy, None, None, None, None, None
