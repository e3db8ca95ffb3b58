"""Smooth random fields: the one source of spatially correlated randomness.

Deformations, bias fields, lesion boundaries and lesion texture are all built
from :func:`smooth_random_field`. To stay cheap for large correlation lengths
the white noise is drawn on a coarse grid, smoothed there and upsampled
linearly, so the cost depends on the output size, not on ``sigma``.
"""
from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np
from scipy import ndimage

__all__ = ["smooth_random_field", "random_rotation"]

#: coarse-grid step = sigma / this, so a Gaussian spans at least this many coarse voxels.
COARSE_VOXELS_PER_SIGMA = 2.0
#: smallest |field| maximum treated as non-zero when normalising.
_TINY = 1e-12


def _coarse_step(sigma_vox: Sequence[float]) -> Tuple[int, ...]:
    return tuple(max(1, int(s // COARSE_VOXELS_PER_SIGMA)) for s in sigma_vox)


def _upsample(coarse: np.ndarray, step: Sequence[int], shape: Sequence[int]) -> np.ndarray:
    """Separable linear upsampling: output voxel ``i`` samples coarse position ``i / step``.

    Element-wise gathers only (no BLAS), so it is fast and thread-count independent.
    """
    out = coarse
    for axis, (n_out, k) in enumerate(zip(shape, step)):
        position = np.arange(n_out, dtype=np.float64) / k
        lower = np.floor(position).astype(np.intp)
        upper = np.minimum(lower + 1, coarse.shape[axis] - 1)
        frac_shape = [1] * out.ndim
        frac_shape[axis] = n_out
        frac = (position - lower).reshape(frac_shape)
        out = out.take(lower, axis=axis) * (1.0 - frac) + out.take(upper, axis=axis) * frac
    return out


def smooth_random_field(rng: np.random.Generator, shape: Sequence[int],
                        sigma_vox: float | Sequence[float]) -> np.ndarray:
    """Zero-mean Gaussian random field scaled so that ``max |field| == 1``.

    Args:
        rng: source of randomness (the only one used).
        shape: output shape ``(z, y, x)``.
        sigma_vox: correlation length (Gaussian sigma) in voxels, per axis or scalar.

    Returns:
        float32 array of ``shape`` with values in ``[-1, 1]``.
    """
    shape = tuple(int(s) for s in shape)
    sigma = np.broadcast_to(np.asarray(sigma_vox, dtype=np.float64), (len(shape),))
    if np.any(sigma <= 0):
        raise ValueError(f"sigma_vox must be positive. Got: {tuple(float(s) for s in sigma)}")
    step = _coarse_step(sigma)
    coarse_shape = tuple(-(-s // k) + 1 for s, k in zip(shape, step))
    noise = rng.standard_normal(coarse_shape)
    smooth = ndimage.gaussian_filter(noise, sigma / np.asarray(step), mode="reflect")
    field = _upsample(smooth, step, shape).astype(np.float32)
    field -= field.mean()
    peak = float(np.abs(field).max())
    if peak > _TINY:
        field /= peak
    return field


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly distributed random 3x3 rotation matrix (QR of a Gaussian matrix)."""
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q
