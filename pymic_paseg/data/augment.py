"""Per-case appearance changes: smooth deformation, bias field and MR noise.

All functions work on crop-sized ``(z, y, x)`` arrays and draw their
randomness from the generator they are given, so a case is reproducible.
Bias and noise touch only the brain: the background stays exactly zero.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import ndimage

from pymic_paseg.data.fields import smooth_random_field

__all__ = [
    "random_displacement", "warp", "warp_mask", "apply_bias_field", "add_mr_noise",
    "MIN_FOREGROUND",
]

#: a warped binary mask is inside where its linearly interpolated value reaches this.
MASK_THRESHOLD = 0.5
#: smallest intensity kept inside the brain, so that ``image > 0`` equals the brain mask.
MIN_FOREGROUND = 1e-3


def random_displacement(rng: np.random.Generator, shape: Sequence[int], max_mm: float,
                        sigma_mm: float, spacing_zyx: Sequence[float]) -> np.ndarray:
    """Smooth displacement field, ``(3, *shape)`` in voxels, ``|u_axis| <= max_mm``.

    Each component is an independent :func:`smooth_random_field` with correlation
    length ``sigma_mm`` and peak ``max_mm * U(0.5, 1)`` (converted to voxels).
    """
    spacing = np.asarray(spacing_zyx, dtype=np.float64)
    sigma_vox = sigma_mm / spacing
    components = []
    for axis in range(3):
        peak_vox = max_mm * rng.uniform(0.5, 1.0) / spacing[axis]
        components.append(peak_vox * smooth_random_field(rng, shape, sigma_vox))
    return np.stack(components)


def _sample_points(displacement: np.ndarray, margin: int) -> np.ndarray:
    shape = displacement.shape[1:]
    grid = np.stack(np.meshgrid(*[np.arange(s, dtype=np.float32) for s in shape],
                                indexing="ij"))
    return grid + margin + displacement


def warp(volume: np.ndarray, displacement: np.ndarray, margin: int) -> np.ndarray:
    """Resample ``volume`` at ``x + margin + u(x)`` (trilinear, zero outside).

    ``volume`` is the output region padded by ``margin`` voxels on every side,
    so the output has ``displacement.shape[1:]``.
    """
    points = _sample_points(displacement, margin)
    return ndimage.map_coordinates(volume, points, order=1, mode="constant", cval=0.0)


def warp_mask(mask: np.ndarray, displacement: np.ndarray, margin: int) -> np.ndarray:
    """:func:`warp` for a binary mask: interpolate, then threshold at one half."""
    return warp(mask.astype(np.float32), displacement, margin) >= MASK_THRESHOLD


def apply_bias_field(rng: np.random.Generator, image: np.ndarray, brain: np.ndarray,
                     strength: float, sigma_mm: float,
                     spacing_zyx: Sequence[float]) -> np.ndarray:
    """Multiply the brain by ``exp(b * s(x))``, ``b ~ U(-strength, strength)``.

    ``s`` is a smooth field in ``[-1, 1]`` with correlation length ``sigma_mm``;
    the background is left untouched.
    """
    sigma_vox = sigma_mm / np.asarray(spacing_zyx, dtype=np.float64)
    log_bias = rng.uniform(-strength, strength) * smooth_random_field(rng, image.shape,
                                                                      sigma_vox)
    return np.where(brain, image * np.exp(log_bias), image).astype(np.float32)


def add_mr_noise(rng: np.random.Generator, image: np.ndarray, brain: np.ndarray,
                 sigma: float, rician: bool = True) -> np.ndarray:
    """Add noise of standard deviation ``sigma`` inside the brain only.

    Rician (magnitude of a complex signal with Gaussian noise on both channels)
    when ``rician`` is true, otherwise Gaussian. Brain voxels are then kept at
    least :data:`MIN_FOREGROUND` and background voxels exactly zero, so
    ``image > 0`` is the brain mask.
    """
    real = image + sigma * rng.standard_normal(image.shape, dtype=np.float32)
    if rician:
        imag = sigma * rng.standard_normal(image.shape, dtype=np.float32)
        noisy = np.sqrt(real * real + imag * imag)
    else:
        noisy = real
    return np.where(brain, np.maximum(noisy, MIN_FOREGROUND), 0.0).astype(np.float32)
