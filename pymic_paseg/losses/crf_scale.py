"""Physical scale of the multi-view CRF: window and bandwidth in mm, the original's downsample.

The original code (HiLab-git/PA-Seg) computes its CRF on logits and image trilinearly
downsampled to 64 x 64 x 48 (VS) or 64^3 (BraTS), with radius 5 and sigma 6 counted
in voxels *of that grid*. :class:`~pymic_paseg.losses.MultiViewCRFLoss` runs at full
resolution; these helpers let it use the same physical kernel instead:

* :func:`radii_from_mm`: the window half-extent in mm -> voxel radius per axis;
* :func:`spacing_from_batch`: the voxel size of each batch item, from the image header
  PyMIC's ``NiftyDataset`` puts in every sample (``spacing``, z, y, x; collated by the
  data loader as three length-N tensors);
* :func:`downsample`: the original's trilinear downsample of logits and image, and the
  voxel size on the coarser grid.

Config keys: see :class:`~pymic_paseg.losses.MultiViewCRFLoss`.
"""
from __future__ import annotations

import math
from typing import Any, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

__all__ = ["radii_from_mm", "spacing_from_batch", "downsample"]


def radii_from_mm(radius_mm: Sequence[float], spacing: Sequence[float]) -> List[int]:
    """Voxel radius per axis ``floor(radius_mm_a / spacing_a)`` (a 1e-6 tolerance keeps
    ``7.5 / 1.5`` at 5). ``radius_mm`` and ``spacing``: ``(D, H, W)``, > 0."""
    if len(radius_mm) != 3 or len(spacing) != 3:
        raise ValueError(f"radius_mm and spacing: expected 3 entries (D, H, W). "
                         f"Got: {list(radius_mm)}, {list(spacing)}")
    if min(radius_mm) <= 0 or min(spacing) <= 0:
        raise ValueError(f"radius_mm and spacing: expected numbers > 0. "
                         f"Got: {list(radius_mm)}, {list(spacing)}")
    return [int(math.floor(r / s + 1e-6)) for r, s in zip(radius_mm, spacing)]


def spacing_from_batch(spacing: Any, batch_size: int) -> List[Tuple[float, float, float]]:
    """Per-item voxel size ``(z, y, x)`` in mm from a collated PyMIC ``spacing`` entry.

    Accepts what the default collate makes of PyMIC's ``(sz, sy, sx)`` tuple (a list of
    three tensors of length N), an ``N x 3`` tensor/array, or one ``(sz, sy, sx)`` for all.
    """
    if spacing is None:
        raise ValueError("spacing: the batch carries no 'spacing' (voxel size of the image); "
                         "set MultiViewCRFLoss_spacing = [sD, sH, sW] instead of 'image'")
    if isinstance(spacing, torch.Tensor):
        rows = spacing.detach().cpu().double().reshape(-1, 3).tolist()
    elif len(spacing) == 3 and all(isinstance(s, (int, float)) for s in spacing):
        rows = [[float(s) for s in spacing]]
    elif len(spacing) == 3:
        cols = [torch.as_tensor(s).detach().cpu().double().reshape(-1) for s in spacing]
        rows = torch.stack(cols, 1).tolist()
    else:
        rows = torch.as_tensor(spacing).double().reshape(-1, 3).tolist()
    if len(rows) == 1:
        rows = rows * batch_size
    if len(rows) != batch_size:
        raise ValueError(f"spacing: expected one (z, y, x) voxel size per batch item "
                         f"({batch_size}). Got: {spacing!r}")
    out = [(float(a), float(b), float(c)) for a, b, c in rows]
    if any(not math.isfinite(v) or v <= 0 for row in out for v in row):
        raise ValueError(f"spacing: expected positive voxel sizes. Got: {out}")
    return out


def downsample(logits: torch.Tensor, image: torch.Tensor, size: Sequence[int],
               spacing: Optional[Sequence[float]] = None
               ) -> Tuple[torch.Tensor, torch.Tensor, Optional[List[float]]]:
    """Trilinear resize of ``N x C x D x H x W`` logits and image to ``size`` (D, H, W),
    as the original code (``F.interpolate``, ``align_corners = False``). Returns the
    two resized tensors and the voxel size on the new grid (``spacing * old / new``).
    An axis already at or below its target size is left unchanged."""
    if logits.dim() != 5 or len(size) != 3 or min(size) < 1:
        raise ValueError(f"downsample: expected 5D logits and a size (D, H, W) >= 1. "
                         f"Got: logits {tuple(logits.shape)}, size {list(size)}")
    old = list(logits.shape[2:])
    new = [min(int(t), o) for t, o in zip(size, old)]
    out_spacing = None if spacing is None else [s * o / n for s, o, n in zip(spacing, old, new)]
    if new == old:
        return logits, image, out_spacing
    resize = (lambda x: F.interpolate(x, size=new, mode="trilinear",  # noqa: E731
                                      align_corners=False))
    return resize(logits), resize(image.to(logits.dtype)), out_spacing
