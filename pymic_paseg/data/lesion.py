"""Irregular, heterogeneous, hyper-intense synthetic lesions.

Shape: a randomly rotated ellipsoidal envelope whose normalised radius
``rho(x)`` (1 on the ellipsoid surface) is perturbed by smooth noise and
thresholded, ``rho(x) + irregularity * n(x) < 1``; the blob is then warped by a
random smooth displacement, and its largest connected component is kept, holes
filled. The result is lobulated, not a sphere.

Intensity (relative to the white-matter reference intensity): a mean contrast
``c`` with a brighter rim and a darker core, plus smooth texture,

    f(x) = c * (1 + h * (1/2 - d(x)) + t * n_t(x)),

where ``d`` is the distance to the lesion surface normalised to ``[0, 1]``,
``h`` the heterogeneity and ``n_t`` a fine smooth field in ``[-1, 1]``. With
``core_brighter`` the profile is reversed, ``1 + h * (d(x) - 1/2)``: a bright core
inside a fainter rim that is still lesion (the harder benchmark preset).
``alpha`` is the partial-volume weight used to blend ``f`` into the image.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence, Tuple

import numpy as np
from scipy import ndimage

from pymic_paseg.data.fields import random_rotation, smooth_random_field

__all__ = ["LesionSpec", "Lesion", "irregular_blob", "lesion_intensity", "make_lesion"]

#: extra voxels around the largest possible blob in the local grid.
GRID_MARGIN_VOX = 3
#: correlation length of the boundary noise, as a fraction of the radius.
NOISE_SIGMA_FRACTION = 0.25
#: correlation length of the lesion's own deformation, as a fraction of the radius.
WARP_SIGMA_FRACTION = 0.5
#: correlation length of the intensity texture, mm.
TEXTURE_SIGMA_MM = 1.5
#: Gaussian sigma (mm) of the partial-volume blur at the lesion boundary.
PARTIAL_VOLUME_SIGMA_MM = 0.6
#: alpha below this is treated as outside the lesion when trimming the local grid.
ALPHA_FLOOR = 1e-3
#: a warped binary mask is inside where its interpolated value reaches this.
HALF = 0.5


@dataclass(frozen=True)
class LesionSpec:
    """Ranges from which one lesion's parameters are drawn (uniformly).

    Attributes:
        radius_mm: nominal (envelope) radius range, mm.
        elongation: each semi-axis is ``radius * U(1 - e, 1 + e)``; ``0 <= e < 1``.
        irregularity: boundary-noise amplitude relative to the radius; ``0 <= i < 1``.
        warp: amplitude of the lesion's own deformation relative to the radius.
        contrast: mean lesion intensity / white-matter intensity range.
        heterogeneity: rim-to-core intensity difference range (fraction of contrast).
        texture: amplitude of the fine intensity texture (fraction of contrast).
        core_brighter: reverse the radial profile (bright core, faint rim).
    """

    radius_mm: Tuple[float, float] = (6.0, 12.0)
    elongation: float = 0.3
    irregularity: float = 0.6
    warp: float = 0.25
    contrast: Tuple[float, float] = (1.3, 1.6)
    heterogeneity: Tuple[float, float] = (0.1, 0.4)
    texture: float = 0.05
    core_brighter: bool = False

    def max_extent_mm(self) -> float:
        """Upper bound on the distance from the lesion centre to any lesion voxel."""
        radius = self.radius_mm[1] * (1.0 + self.elongation)
        return radius * (1.0 + self.irregularity) + self.radius_mm[1] * self.warp


@dataclass(frozen=True)
class Lesion:
    """One lesion on a small local grid (``(z, y, x)``, template spacing).

    Attributes:
        mask: bool lesion mask (the label).
        intensity: float32 intensity factor ``f`` relative to the WM reference.
        alpha: float32 partial-volume blending weight in ``[0, 1]``.
        centre: index (z, y, x) of the envelope centre in the local grid.
        extent_mm: largest distance from ``centre`` to a lesion voxel.
    """

    mask: np.ndarray
    intensity: np.ndarray
    alpha: np.ndarray
    centre: Tuple[int, int, int]
    extent_mm: float


def _grid(half: Sequence[int]) -> np.ndarray:
    axes = [np.arange(-h, h + 1, dtype=np.float32) for h in half]
    return np.stack(np.meshgrid(*axes, indexing="ij"))


def _largest_component(mask: np.ndarray) -> np.ndarray:
    labels, count = ndimage.label(mask)
    if count > 1:
        sizes = np.bincount(labels.ravel())[1:]
        mask = labels == (int(np.argmax(sizes)) + 1)
    return ndimage.binary_fill_holes(mask)


def irregular_blob(rng: np.random.Generator, semi_axes_mm: Sequence[float],
                   irregularity: float, warp_mm: float,
                   spacing_zyx: Sequence[float]) -> Tuple[np.ndarray, Tuple[int, int, int]]:
    """Noise-thresholded, warped ellipsoid; returns ``(mask, centre_index)``."""
    spacing = np.asarray(spacing_zyx, dtype=np.float32)
    reach_mm = max(semi_axes_mm) * (1.0 + irregularity) + warp_mm
    half = [int(math.ceil(reach_mm / s)) + GRID_MARGIN_VOX for s in spacing]
    index = _grid(half)
    coords_mm = index * spacing[:, None, None, None]
    rotation = random_rotation(rng)
    local = [sum(float(rotation[j, i]) * coords_mm[j] for j in range(3)) for i in range(3)]
    rho = np.sqrt(sum((axis_coords / axis_len) ** 2 for axis_coords, axis_len
                      in zip(local, semi_axes_mm)))
    mean_radius = float(np.mean(semi_axes_mm))
    shape = rho.shape
    noise = smooth_random_field(rng, shape, NOISE_SIGMA_FRACTION * mean_radius / spacing)
    blob = (rho + irregularity * noise < 1.0).astype(np.float32)
    warp_sigma = WARP_SIGMA_FRACTION * mean_radius / spacing
    sample = np.stack([
        index[axis] + half[axis]
        + warp_mm / spacing[axis] * smooth_random_field(rng, shape, warp_sigma)
        for axis in range(3)])
    warped = ndimage.map_coordinates(blob, sample, order=1, mode="constant") >= HALF
    return _largest_component(warped), (half[0], half[1], half[2])


def lesion_intensity(rng: np.random.Generator, mask: np.ndarray, contrast: float,
                     heterogeneity: float, texture: float,
                     spacing_zyx: Sequence[float], core_brighter: bool = False) -> np.ndarray:
    """Intensity factor ``f`` (see module docstring) on the grid of ``mask``."""
    depth = ndimage.distance_transform_edt(mask, sampling=spacing_zyx)
    depth_norm = depth / max(float(depth.max()), 1.0)
    sigma = TEXTURE_SIGMA_MM / np.asarray(spacing_zyx, dtype=np.float64)
    grain = smooth_random_field(rng, mask.shape, sigma)
    profile = depth_norm - 0.5 if core_brighter else 0.5 - depth_norm
    factor = 1.0 + heterogeneity * profile + texture * grain
    return (contrast * factor).astype(np.float32)


def _trim(alpha: np.ndarray) -> Tuple[slice, ...]:
    coords = np.nonzero(alpha > ALPHA_FLOOR)
    return tuple(slice(int(c.min()), int(c.max()) + 1) for c in coords)


def make_lesion(rng: np.random.Generator, spec: LesionSpec,
                spacing_zyx: Sequence[float]) -> Lesion:
    """Draw one lesion's parameters from ``spec`` and synthesise it."""
    radius = rng.uniform(*spec.radius_mm)
    semi_axes = radius * rng.uniform(1.0 - spec.elongation, 1.0 + spec.elongation, size=3)
    mask, centre = irregular_blob(rng, semi_axes, spec.irregularity, spec.warp * radius,
                                  spacing_zyx)
    intensity = lesion_intensity(rng, mask, rng.uniform(*spec.contrast),
                                 rng.uniform(*spec.heterogeneity), spec.texture, spacing_zyx,
                                 spec.core_brighter)
    sigma = PARTIAL_VOLUME_SIGMA_MM / np.asarray(spacing_zyx, dtype=np.float64)
    alpha = ndimage.gaussian_filter(mask.astype(np.float32), sigma)
    box = _trim(alpha)
    centre = tuple(c - b.start for c, b in zip(centre, box))
    offsets = np.argwhere(mask[box]) - np.asarray(centre)
    extent = float(np.sqrt(((offsets * np.asarray(spacing_zyx)) ** 2).sum(axis=1)).max())
    return Lesion(mask=mask[box], intensity=intensity[box], alpha=alpha[box],
                  centre=centre, extent_mm=extent)  # type: ignore[arg-type]
