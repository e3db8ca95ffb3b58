"""Synthesis of one demo case: a cropped, deformed, lesioned, noisy brain.

Steps for case ``i`` (all randomness from ``np.random.default_rng([seed, i])``,
so a case does not depend on how many cases are built):

1. draw an irregular lesion that fits the crop, and a deep-enough centre in GM/WM
   (and, with ``distractor_probability``, an unlabelled bright blob touching it;
   with ``n_classes = 2``, a second lesion of class 2 a small gap away from it);
2. draw the crop start so the lesion sits at a random offset from the crop centre;
3. cut the crop plus a deformation margin out of the template and blend the
   lesion in (partial-volume weight ``alpha``);
4. warp image, brain mask and lesion with one smooth random displacement;
5. multiply the brain by a smooth bias field and add Rician noise inside it.

Only crop-sized arrays are processed per case.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np
from scipy import ndimage

from pymic_paseg.data.augment import (
    add_mr_noise, apply_bias_field, random_displacement, warp, warp_mask)
from pymic_paseg.data.demo_config import DemoConfig
from pymic_paseg.data.lesion import Lesion, make_lesion
from pymic_paseg.data.placement import Index3, LesionSites, choose_crop_start
from pymic_paseg.data.template import BrainTemplate

__all__ = ["CaseArrays", "synthesize_case", "deformation_margin"]

#: extra voxels of template read around the crop, beyond the peak displacement.
INTERPOLATION_MARGIN_VOX = 1


@dataclass(frozen=True)
class CaseArrays:
    """One case's arrays (``(z, y, x)``) and where its crop came from.

    Attributes:
        image: float32 intensities, exactly 0 outside the brain.
        label: uint8, 1 = lesion (2 = the class-2 lesion with ``n_classes = 2``).
        mask: uint8 brain mask, equal to ``image > 0``.
        crop_start: template index of the crop's first voxel.
        origin_xyz: world position of the crop's first voxel (mm, LPS).
    """

    image: np.ndarray
    label: np.ndarray
    mask: np.ndarray
    crop_start: Index3
    origin_xyz: Tuple[float, float, float]


def deformation_margin(config: DemoConfig, spacing_zyx: Sequence[float]) -> int:
    """Voxels the deformation can move anything by (rounded up)."""
    return int(math.ceil(config.deform_max_mm / min(spacing_zyx)))


def _extract(volume: np.ndarray, start: Sequence[int], shape: Sequence[int]) -> np.ndarray:
    """``volume[start:start + shape]`` as float32, zero where it leaves the volume."""
    out = np.zeros(tuple(shape), np.float32)
    src, dst = [], []
    for s, n, size in zip(start, shape, volume.shape):
        lo, hi = max(s, 0), min(s + n, size)
        if lo >= hi:
            return out
        src.append(slice(lo, hi))
        dst.append(slice(lo - s, hi - s))
    out[tuple(dst)] = volume[tuple(src)]
    return out


def _extent_vox(lesion: Lesion, centre: Sequence[int]) -> Tuple[list, list]:
    """Template index range ``[lo, hi)`` of ``lesion`` placed at ``centre``."""
    corner = np.asarray(centre) - np.asarray(lesion.centre)
    coords = np.nonzero(lesion.mask)
    lo = [int(c.min()) + k for c, k in zip(coords, corner)]
    hi = [int(c.max()) + 1 + k for c, k in zip(coords, corner)]
    return lo, hi


def _place_class2(rng: np.random.Generator, template: BrainTemplate, config: DemoConfig,
                  first: Lesion, centre: Index3) -> Optional[Tuple[Lesion, Index3]]:
    """A class-2 lesion whose bounding sphere lies a gap away from the first one's."""
    spacing = np.asarray(template.spacing_xyz[::-1])
    lesion = make_lesion(rng, config.class2_spec(), tuple(spacing))
    direction = rng.normal(size=3)
    direction /= max(float(np.linalg.norm(direction)), 1e-9)
    distance = first.extent_mm + lesion.extent_mm + rng.uniform(*config.class2_gap_mm)
    other = np.rint(np.asarray(centre) + distance * direction / spacing).astype(int)
    if np.any(other < 0) or np.any(other >= np.asarray(template.shape)):
        return None
    index = tuple(int(v) for v in other)
    if not (template.brain[index] and template.tissue[index] >= config.min_tissue_probability
            and template.depth_mm[index] >= lesion.extent_mm + config.brain_margin_mm):
        return None
    return lesion, index  # type: ignore[return-value]


def _place(rng: np.random.Generator, template: BrainTemplate, sites: LesionSites,
           config: DemoConfig) -> Tuple[Lesion, Index3, Index3, Optional[Tuple[Lesion, Index3]]]:
    """Draw lesions until they fit; return the lesion, its centre, the crop start and,
    with ``n_classes = 2``, the class-2 lesion and its centre."""
    spacing = template.spacing_xyz[::-1]
    margin = config.border_margin_vox + deformation_margin(config, spacing)
    spec = config.lesion_spec()
    for _ in range(config.max_lesion_attempts):
        lesion = make_lesion(rng, spec, spacing)
        centre = sites.sample(rng, lesion.extent_mm + config.brain_margin_mm)
        if centre is None:
            continue
        lo, hi = _extent_vox(lesion, centre)
        second = None
        if config.n_classes == 2:
            second = _place_class2(rng, template, config, lesion, centre)
            if second is None:
                continue
            lo2, hi2 = _extent_vox(*second)
            lo, hi = [min(a, b) for a, b in zip(lo, lo2)], [max(a, b) for a, b in zip(hi, hi2)]
        start = choose_crop_start(rng, lo, hi, config.crop_size, margin)
        if start is not None:
            return lesion, centre, start, second
    raise RuntimeError(
        f"no lesion fitted the crop {config.crop_size} (margin {margin} voxels) and the brain "
        f"(deepest site {sites.max_depth_mm:.1f} mm) in {config.max_lesion_attempts} draws; "
        f"reduce DemoConfig.lesion_radius_mm = {config.lesion_radius_mm} or enlarge crop_size")


def _implant(region: np.ndarray, label: Optional[np.ndarray], lesion: Lesion,
             corner: Sequence[int], wm_reference: float) -> None:
    """Blend ``lesion`` into ``region`` and mark it in ``label`` (in place; not if None).

    ``corner`` is the region index of the lesion grid's first voxel; the part of
    the lesion grid outside the region is ignored.
    """
    box, local = [], []
    for c, n, size in zip(corner, lesion.mask.shape, region.shape):
        lo, hi = max(c, 0), min(c + n, size)
        box.append(slice(lo, hi))
        local.append(slice(lo - c, hi - c))
    box_t, local_t = tuple(box), tuple(local)
    alpha = lesion.alpha[local_t]
    target = lesion.intensity[local_t] * wm_reference
    region[box_t] = (1.0 - alpha) * region[box_t] + alpha * target
    if label is not None:
        label[box_t] |= lesion.mask[local_t]


def _add_distractor(rng: np.random.Generator, region: np.ndarray, label: np.ndarray,
                    config: DemoConfig, spacing: Sequence[float], wm_reference: float) -> None:
    """Blend an unlabelled bright blob into ``region`` so that it touches the lesion.

    Its centre lies just outside a random point of the lesion surface, half its
    extent beyond it along the outward direction; the lesion's own voxels keep their
    intensity, so the blob abuts the target without covering it.
    """
    blob = make_lesion(rng, config.distractor_spec(), spacing)
    surface = np.argwhere(label & ~ndimage.binary_erosion(label))
    point = surface[rng.integers(len(surface))].astype(np.float64)
    outward = (point - np.argwhere(label).mean(axis=0)) * np.asarray(spacing)
    norm = float(np.linalg.norm(outward))
    outward = outward / norm if norm > 0 else np.array([0.0, 0.0, 1.0])
    centre_mm = point * np.asarray(spacing) + 0.5 * blob.extent_mm * outward
    centre = np.rint(centre_mm / np.asarray(spacing)).astype(int)
    corner = [int(c) - lc for c, lc in zip(centre, blob.centre)]
    keep = region[label].copy()
    _implant(region, None, blob, corner, wm_reference)
    region[label] = keep


def synthesize_case(template: BrainTemplate, sites: LesionSites, config: DemoConfig,
                    index: int) -> CaseArrays:
    """Build case ``index`` of the dataset described by ``config``."""
    rng = np.random.default_rng([config.seed, index])
    spacing = template.spacing_xyz[::-1]
    lesion, centre, start, second = _place(rng, template, sites, config)
    pad = deformation_margin(config, spacing) + INTERPOLATION_MARGIN_VOX
    region_start = [s - pad for s in start]
    region_shape = [n + 2 * pad for n in config.crop_size]
    region = _extract(template.t1, region_start, region_shape)
    brain = _extract(template.brain, region_start, region_shape) > 0
    lesion_label = np.zeros(region.shape, bool)
    corner = [c - lc - r for c, lc, r in zip(centre, lesion.centre, region_start)]
    _implant(region, lesion_label, lesion, corner, template.wm_reference)
    if config.distractor_probability > 0 and rng.uniform() < config.distractor_probability:
        _add_distractor(rng, region, lesion_label, config, spacing, template.wm_reference)
    class2_label = None
    if second is not None:
        class2_label = np.zeros(region.shape, bool)
        corner = [c - lc - r for c, lc, r in zip(second[1], second[0].centre, region_start)]
        _implant(region, class2_label, second[0], corner, template.wm_reference)

    displacement = random_displacement(rng, config.crop_size, config.deform_max_mm,
                                       config.deform_sigma_mm, spacing)
    brain_crop = warp_mask(brain, displacement, pad)
    label = (warp_mask(lesion_label, displacement, pad) & brain_crop).astype(np.uint8)
    if class2_label is not None:
        label[(warp_mask(class2_label, displacement, pad) & brain_crop) & (label == 0)] = 2
    image = np.where(brain_crop, warp(region, displacement, pad), 0.0).astype(np.float32)
    image = apply_bias_field(rng, image, brain_crop, config.bias_strength,
                             config.bias_sigma_mm, spacing)
    sigma = rng.uniform(*config.noise_std) * template.wm_reference
    image = add_mr_noise(rng, image, brain_crop, sigma, rician=config.rician_noise)
    return CaseArrays(image=image, label=label,
                      mask=brain_crop.astype(np.uint8), crop_start=start,
                      origin_xyz=template.index_to_world(start))
