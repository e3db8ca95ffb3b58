"""Real-anatomy objects for judging seed expansion, built from nilearn's MNI152 template.

The demo lesions (:mod:`pymic_paseg.data.demo`) are round and bright. Real targets
are not, so the expansion is also measured on structures of the real T1 template
that ships inside the nilearn package (:mod:`pymic_paseg.data.template`; never
downloaded). Each structure is a connected component of a tissue map, cut where
needed by the depth below the brain surface (``depth_mm``):

============ ================================================= ==========================
kind         definition (probabilities of the 0..1 maps)       contrast in the T1
============ ================================================= ==========================
ventricle    CSF = brain & (GM + WM < 0.35), depth > 15 mm:    high (CSF ~80 vs WM ~220)
             the two lateral ventricles (C-shaped, thin)
caudate      GM > 0.5, depth > 26 mm, opened by 1 voxel: the   low (GM ~175 vs WM ~220),
             two medial components (caudate nuclei, next to    touches the ventricle
             the ventricles)
putamen      same map: the two lateral components (putamen     low, and no edge where
             with the claustrum)                                the depth cut it
============ ================================================= ==========================

The components are picked by size rank and side (see :data:`KINDS`); the template
is left-right symmetric, so each kind has two mirror objects. A case is a crop of
the T1 around one object (``crop_margin_vox`` beyond its box) with a bias field
and Rician noise drawn as for the demo (:mod:`pymic_paseg.data.augment`), the
brain mask as Omega_M, the object as the truth, and seven clicks simulated like a
human's (:data:`HUMAN_CLICKS`): the foreground click anywhere in the deeper part of
the object (not at its centre), background clicks 1-6 voxels beyond each extreme.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

import numpy as np
from scipy import ndimage

from pymic_paseg.annotation import CaseAnnotation
from pymic_paseg.annotation.simulate import simulate_clicks
from pymic_paseg.data.augment import add_mr_noise, apply_bias_field
from pymic_paseg.data.template import GM_FILE, WM_FILE, PROBABILITY_MAX, _read, load_template

__all__ = ["AnatomyCase", "HUMAN_CLICKS", "KINDS", "anatomy_cases", "anatomy_objects",
           "clicks_like_a_human", "lesion_cases"]

#: kind -> (tissue, size rank of the component pair, 2 = both sides); see the module table.
KINDS: Dict[str, Tuple[str, int]] = {"ventricle": ("csf", 0), "thalamus": ("gm", 1),
                                     "putamen": ("gm", 2), "caudate": ("gm", 3)}
CSF_TISSUE_MAX = 0.35
CSF_DEPTH_MM = 15.0
GM_MIN = 0.5
GM_DEPTH_MM = 26.0
GM_OPENING = 3
#: voxels of grey matter given back to a deep GM object after the opening (see below).
GM_REGROW_VOX = 4
#: only the largest components are paired (the kinds use the first four pairs).
MAX_COMPONENTS = 12
#: the simulated annotator: background clicks 1..6 voxels out (ceil(m / 1 mm), m in
#: (0, 6] mm), the foreground click among voxels at least 30 % of the largest depth deep.
HUMAN_CLICKS = dict(margin_mm=(0.01, 6.0), min_depth_fraction=0.3, lateral_fraction=0.8)
BIAS_STRENGTH = 0.15
BIAS_SIGMA_MM = 40.0
NOISE_STD = (0.01, 0.03)


@dataclass(frozen=True)
class AnatomyCase:
    """One object in its crop: ``image`` float32, ``mask`` (Omega_M) and ``truth`` bool."""

    kind: str
    case_id: str
    image: np.ndarray
    mask: np.ndarray
    truth: np.ndarray
    spacing_zyx: Tuple[float, float, float]
    annotation: CaseAnnotation


def _pairs(mask: np.ndarray, mid: int) -> List[List[np.ndarray]]:
    """Components of ``mask`` as left/right pairs, largest pair first (full-volume masks)."""
    labels, count = ndimage.label(mask)
    sizes = ndimage.sum(mask, labels, range(1, count + 1))
    order = [int(i) + 1 for i in np.argsort(sizes)[::-1][:MAX_COMPONENTS]]
    pairs, used = [], set()
    for index in order:
        if index in used:
            continue
        partner = next((j for j in order if j not in used and j != index
                        and sizes[j - 1] == sizes[index - 1]), None)
        if partner is None:
            continue
        used.update((index, partner))
        pair = [labels == index, labels == partner]
        if all(np.argwhere(p)[:, 2].mean() < mid or np.argwhere(p)[:, 2].mean() > mid
               for p in pair):
            pairs.append(sorted(pair, key=lambda p: np.argwhere(p)[:, 2].mean()))
    return pairs


@functools.lru_cache(maxsize=1)
def anatomy_objects() -> Dict[str, List[np.ndarray]]:
    """kind -> its two full-template object masks (left, right), computed once."""
    template = load_template()
    gm = _read(GM_FILE)[0].astype(np.float32) / PROBABILITY_MAX
    wm = _read(WM_FILE)[0].astype(np.float32) / PROBABILITY_MAX
    mid = template.shape[2] // 2
    csf = template.brain & (gm + wm < CSF_TISSUE_MAX) & (template.depth_mm > CSF_DEPTH_MM)
    deep_gm = (gm > GM_MIN) & (template.depth_mm > GM_DEPTH_MM)
    deep_gm[:, :, mid] = False
    # the deep region only (the opening and labelling are the slow part)
    inner = _crop(template.depth_mm > min(CSF_DEPTH_MM, GM_DEPTH_MM), GM_OPENING + 1)
    deep_gm[inner] = ndimage.binary_opening(deep_gm[inner], iterations=GM_OPENING)
    maps = {"csf": _pairs(csf, mid), "gm": _pairs(deep_gm, mid)}
    for kind, (tissue, rank) in KINDS.items():
        if rank >= len(maps[tissue]):
            raise ValueError(f"anatomy kind {kind!r}: the {tissue} map of nilearn's MNI template "
                             f"gave {len(maps[tissue])} left/right component pair(s), not "
                             f"{rank + 1}; has the template changed?")
    objects = {kind: maps[tissue][rank] for kind, (tissue, rank) in KINDS.items()}
    # give the deep GM objects back the rim the opening and the depth cut took, up to
    # the grey matter's own edge (GM > 0.5, about the T1 intensity midpoint)
    grey = gm > GM_MIN
    grey[:, :, mid] = False   # the two sides stay apart
    for kind, (tissue, _) in KINDS.items():
        if tissue == "gm":
            objects[kind] = [_regrow(o, grey) for o in objects[kind]]
    return objects


def _regrow(component: np.ndarray, grey: np.ndarray) -> np.ndarray:
    box = _crop(component, GM_REGROW_VOX + 1)
    grown = np.zeros_like(component)
    grown[box] = ndimage.binary_dilation(component[box], iterations=GM_REGROW_VOX,
                                         mask=grey[box])
    return grown


def clicks_like_a_human(truth: np.ndarray, spacing_zyx: Sequence[float], seed: int,
                        case_id: str) -> CaseAnnotation:
    """Seven clicks on ``truth`` with the :data:`HUMAN_CLICKS` annotator (largest component)."""
    labels, count = ndimage.label(truth, structure=np.ones((3, 3, 3), bool))
    if count > 1:
        sizes = ndimage.sum(truth, labels, range(1, count + 1))
        truth = labels == int(np.argmax(sizes)) + 1
    return simulate_clicks(truth.astype(np.uint8), spacing_zyx, seed=seed, case_id=case_id,
                           **HUMAN_CLICKS)


def _crop(obj: np.ndarray, margin: int) -> Tuple[slice, ...]:
    coords = np.argwhere(obj)
    lo = np.maximum(coords.min(0) - margin, 0)
    hi = np.minimum(coords.max(0) + margin + 1, obj.shape)
    return tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))


def anatomy_cases(variants: int = 2, seed: int = 0, kinds: Sequence[str] = tuple(KINDS),
                  crop_margin_vox: int = 12) -> List[AnatomyCase]:
    """``variants`` cases (noise, bias, clicks) of each object of each kind in ``kinds``."""
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"unknown anatomy kind(s) {unknown}; choose from {list(KINDS)}")
    template = load_template()
    spacing = tuple(float(s) for s in template.spacing_xyz[::-1])
    objects = anatomy_objects()
    cases = []
    for kind in kinds:
        for side, obj in zip(("left", "right"), objects[kind]):
            box = _crop(obj, crop_margin_vox)
            for variant in range(variants):
                rng = np.random.default_rng([seed, list(KINDS).index(kind), side == "right",
                                             variant])
                brain = template.brain[box]
                image = apply_bias_field(rng, template.t1[box].copy(), brain, BIAS_STRENGTH,
                                         BIAS_SIGMA_MM, spacing)
                sigma = rng.uniform(*NOISE_STD) * template.wm_reference
                image = add_mr_noise(rng, image, brain, sigma, rician=True).astype(np.float32)
                truth = obj[box] & brain
                case_id = f"{kind}_{side}_{variant}"
                annotation = clicks_like_a_human(truth, spacing, int(rng.integers(2 ** 31)),
                                                 case_id)
                cases.append(AnatomyCase(kind, case_id, image, brain.copy(), truth, spacing,
                                         annotation))
    return cases


def lesion_cases(count: int = 8, seed: int = 0) -> List[AnatomyCase]:
    """``count`` demo lesion cases (:func:`pymic_paseg.data.case.synthesize_case`, default
    :class:`~pymic_paseg.data.DemoConfig` with ``seed``), clicked by the same annotator."""
    from pymic_paseg.data.case import synthesize_case
    from pymic_paseg.data.demo_config import DemoConfig
    from pymic_paseg.data.placement import LesionSites
    template = load_template()
    config = DemoConfig(seed=seed)
    sites = LesionSites(template, config.min_tissue_probability)
    spacing = tuple(float(s) for s in template.spacing_xyz[::-1])
    cases = []
    for index in range(count):
        arrays = synthesize_case(template, sites, config, index)
        truth = arrays.label > 0
        case_id = f"lesion_{index}"
        annotation = clicks_like_a_human(truth, spacing, seed * 1000 + index, case_id)
        cases.append(AnatomyCase("lesion", case_id, arrays.image, arrays.mask > 0, truth,
                                 spacing, annotation))
    return cases
