"""How ``pymic_run prepare`` chooses the patch size, the CRF bandwidth and Omega_M.

Patch size (``[dataset] patch_size``, also the sliding window of inference):

1. per axis ``(z, y, x)``, the smallest extent over the training images, rounded
   down to a multiple of :data:`PATCH_MULTIPLE` (16: the four poolings of the
   networks), and at most :data:`PATCH_CAP` voxels;
2. while the patch holds more than :data:`MAX_PATCH_VOXELS` voxels (the
   ``vs_stage1.cfg`` patch, 48 x 128 x 128), the axis with the largest extent in
   millimetres loses 16 voxels, so the patch stays as close to a cube in mm as it can;
3. an axis shorter than 16 voxels is refused (give ``--patch-size``).

CRF bandwidth (``MultiViewCRFLoss_*``): the template's ``spatial_sigma`` (6) counts
voxels, which is right for the isotropic demo only. The project's configs set
``sigma_in_mm = True`` with ``spacing`` = the median training spacing ``(z, y, x)``
and ``spatial_sigma`` = template sigma x the finest spacing (mm): on the finest axis
the kernel is the template's 6 voxels, and it has the same width in mm on every axis
(per-axis voxel sigma = sigma_mm / spacing_a). The window radius (template 5) then
counts voxels along the finest axis, as the loss defines it.

Omega_M threshold (``--valid-threshold``): ``auto`` is 0 when no training image has a
negative voxel (MRI: the zero background of a skull-stripped image, or the air of a
non-stripped one, leaves Omega_M) and ``none`` (the whole image is valid) otherwise
(e.g. CT in Hounsfield units, where 0 is water and soft tissue lies on both sides).
"""
from __future__ import annotations

import math
from typing import List, Optional, Sequence, Tuple

import numpy as np

__all__ = ["PATCH_MULTIPLE", "PATCH_CAP", "MAX_PATCH_VOXELS", "choose_patch_size",
           "parse_patch_size", "crf_bandwidth", "choose_valid_threshold", "median_spacing"]

PATCH_MULTIPLE = 16
PATCH_CAP = 128
MAX_PATCH_VOXELS = 48 * 128 * 128
AXES = ("z", "y", "x")
Triple = Tuple[float, float, float]


def choose_patch_size(shapes_zyx: Sequence[Tuple[int, int, int]], spacing_zyx: Sequence[float],
                      names: Optional[Sequence[str]] = None) -> List[int]:
    """The patch ``[z, y, x]`` for images of these shapes (rule in the module docstring).

    Raises:
        ValueError: no shape, or an axis shorter than 16 voxels (naming the case).
    """
    if not shapes_zyx:
        raise ValueError("no training image to choose the patch size from")
    shapes = np.asarray(shapes_zyx, dtype=int)
    smallest = shapes.min(axis=0)
    patch = []
    for axis, extent in enumerate(smallest):
        size = min(int(extent) // PATCH_MULTIPLE * PATCH_MULTIPLE, PATCH_CAP)
        if size < PATCH_MULTIPLE:
            index = int(shapes[:, axis].argmin())
            who = names[index] if names else f"#{index}"
            raise ValueError(f"case {who} has {int(extent)} voxels along {AXES[axis]}: fewer than "
                             f"{PATCH_MULTIPLE}, so no patch size fits every image; give "
                             "--patch-size (and check the network's poolings), or resample")
        patch.append(size)
    spacing = [float(s) for s in spacing_zyx]
    while math.prod(patch) > MAX_PATCH_VOXELS:
        mm = [p * s if p > PATCH_MULTIPLE else -1.0 for p, s in zip(patch, spacing)]
        patch[int(np.argmax(mm))] -= PATCH_MULTIPLE
    return patch


def parse_patch_size(text: str) -> List[int]:
    """``'32,48,48'`` -> ``[32, 48, 48]`` (positive integers, z,y,x)."""
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 3 or min(values) < 1:
        raise ValueError(f"--patch-size {text!r}: expected three positive integers z,y,x, "
                         "e.g. 32,48,48")
    return values


def median_spacing(spacings_zyx: Sequence[Sequence[float]]) -> Triple:
    """The per-axis median of the voxel sizes ``(z, y, x)`` in mm."""
    med = np.median(np.asarray(spacings_zyx, dtype=float), axis=0)
    return (float(med[0]), float(med[1]), float(med[2]))


def crf_bandwidth(spacing_zyx: Sequence[float], sigma_voxels: float) -> Tuple[float, List[float]]:
    """``(spatial_sigma_mm, spacing)``: ``sigma_voxels`` on the finest axis, in mm."""
    spacing = [round(float(s), 6) for s in spacing_zyx]
    if min(spacing) <= 0:
        raise ValueError(f"voxel sizes must be positive. Got: {spacing}")
    return round(sigma_voxels * min(spacing), 6), spacing


def choose_valid_threshold(option: str, minima: Sequence[float]) -> Optional[float]:
    """The Omega_M threshold for ``--valid-threshold`` (a number, ``none`` or ``auto``);
    ``None`` means the whole image is valid."""
    text = option.strip().lower()
    if text == "none":
        return None
    if text == "auto":
        return 0.0 if minima and min(minima) >= 0 else None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not math.isfinite(value):
        raise ValueError(f"--valid-threshold {option!r}: expected a number, 'none' or 'auto'")
    return value
