"""Seed expansion (PA-Seg section III-A 2, eq. 2): seven clicks -> a partial label map.

:func:`expand_seeds` runs one of two rules (``rule``): ``"paper"``, eq. 2 as
described below (this function's default), or ``"adaptive"``
(:mod:`pymic_paseg.expansion.adaptive`, the default of the ``SeedExpansion_rule``
setting), which also uses the background clicks.

For each object the annotator gives one foreground click ``i_f`` and six
background clicks, whose bounding box ``(lo, hi)`` (inclusive voxel corners)
covers the object. With ``Omega`` the image, ``Omega_M`` the valid region and
``Omega_in`` the union of the boxes:

* ``Omega_B = (Omega - Omega_in) | (Omega - Omega_M)``: background, label 0;
* per object, ``Omega_F = {i in box & Omega_M : D(i, i_f) < epsilon * D_max}``:
  foreground, label 1, where ``D`` is the geodesic distance (eq. 1, see
  :mod:`pymic_paseg.geodesic`) and ``D_max`` its maximum over ``box & Omega_M``;
* everything else (``Omega_U``): unlabeled, label ``class_num`` (PyMIC's convention
  for partial labels; 2 for a binary task).

Note:
    Where this differs from the paper or from PA-Seg's ``generate_geodesic_labels.py``:

    * Distances are computed inside each object's box only, as the original does by
      cropping: a path cannot leave the box. Voxels of the box outside ``Omega_M``
      are not barriers (paths may cross them, as in the original, which computes on
      the whole cropped image) but they are never foreground.
    * ``D_max`` is taken over ``box & Omega_M`` (eq. 2: ``Omega - Omega_B``), whereas the
      original takes it over the whole box, ``Omega_M`` being applied afterwards (BraTS).
    * The click itself is always foreground (when inside ``Omega_M``): with the strict
      ``<`` of eq. 2, ``epsilon = 0`` would otherwise label nothing, while the paper
      says it means "no expansion". ``epsilon = 1`` leaves out the farthest voxel(s).
    * Objects are expanded independently; Omega_F is the union over objects (as the
      original merges BraTS' two instances), so a voxel in two boxes is foreground if
      either object claims it, else unlabeled. With several classes each object's
      Omega_F takes its class, and a voxel claimed by two classes is left unlabeled
      (:mod:`pymic_paseg.expansion.classes`).
"""
from __future__ import annotations

import logging
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

from pymic_paseg.expansion.classes import checked_classes, paint_foreground
from pymic_paseg.expansion.intensity import normalize_intensity
from pymic_paseg.expansion.params import (
    DEFAULT_BACKEND,
    DEFAULT_COST,
    DEFAULT_EPSILON,
    DEFAULT_ITERATIONS,
    DEFAULT_LAMBDA,
    DEFAULT_NORMALIZATION,
    PAPER_RULE,
    RULES,
)
from pymic_paseg.geodesic import geodesic_distance

__all__ = ["BACKGROUND", "FOREGROUND", "expand_seeds"]

logger = logging.getLogger(__name__)

BACKGROUND = 0
FOREGROUND = 1
_MAX_LABEL = np.iinfo(np.uint8).max
_DIMS = 3

Voxel = Tuple[int, int, int]
Box = Tuple[Voxel, Voxel]


def _checked_objects(foreground_voxels: Sequence[Sequence[int]], boxes: Sequence[Box],
                     shape: Sequence[int]) -> List[Tuple[Voxel, Voxel, Voxel]]:
    """``[(click, lo, hi), ...]`` after checking that each click lies in its box, in the image."""
    if len(foreground_voxels) != len(boxes):
        raise ValueError(f"one foreground click per box is needed. Got: "
                         f"{len(foreground_voxels)} clicks and {len(boxes)} boxes")
    objects = []
    for index, (click, box) in enumerate(zip(foreground_voxels, boxes)):
        click = tuple(int(v) for v in click)
        lo, hi = (tuple(int(v) for v in corner) for corner in box)
        if not len(click) == len(lo) == len(hi) == _DIMS:
            raise ValueError(f"object {index}: click and box corners must be (z, y, x). "
                             f"Got: click {click}, box {box}")
        if not all(0 <= a <= b < n for a, b, n in zip(lo, hi, shape)):
            raise ValueError(f"object {index}: box {lo}..{hi} must satisfy 0 <= lo <= hi < "
                             f"image shape {tuple(shape)}")
        if not all(a <= c <= b for a, c, b in zip(lo, click, hi)):
            raise ValueError(f"object {index}: foreground click {click} is outside its box "
                             f"{lo}..{hi}")
        objects.append((click, lo, hi))
    return objects


def _checked_valid_mask(valid_mask: Optional[np.ndarray], shape: Sequence[int]) -> np.ndarray:
    if valid_mask is None:
        return np.ones(shape, bool)
    valid_mask = np.asarray(valid_mask)
    if valid_mask.shape != tuple(shape):
        raise ValueError(f"valid_mask must have the image's spatial shape {tuple(shape)}. "
                         f"Got: {valid_mask.shape}")
    return valid_mask.astype(bool, copy=False)


def _object_foreground(image: np.ndarray, valid: np.ndarray, click: Voxel, lo: Voxel,
                       hi: Voxel, spacing: Sequence[float], epsilon: float,
                       distance_kwargs: dict) -> np.ndarray:
    """Omega_F of one object, as a bool mask of its box."""
    box = tuple(slice(a, b + 1) for a, b in zip(lo, hi))
    valid_box = valid[box]
    seed = np.zeros(valid_box.shape, bool)
    seed[tuple(c - a for c, a in zip(click, lo))] = True
    if not valid_box[seed].all():
        logger.warning("foreground click %s lies outside the valid region Omega_M; it will "
                       "not be labelled foreground", click)
    distance = geodesic_distance(image[(slice(None),) + box], seed, spacing,
                                 **distance_kwargs)
    region = valid_box & np.isfinite(distance)
    if not region.any():
        return seed & valid_box
    d_max = float(distance[region].max())
    return ((distance < epsilon * d_max) | seed) & valid_box


def expand_seeds(image: np.ndarray, foreground_voxels: Sequence[Sequence[int]],
                 boxes: Sequence[Box], valid_mask: Optional[np.ndarray] = None,
                 spacing: Sequence[float] = (1.0, 1.0, 1.0), *, class_num: int = 2,
                 epsilon: float = DEFAULT_EPSILON, lamb: float = DEFAULT_LAMBDA,
                 iterations: int = DEFAULT_ITERATIONS, backend: str = DEFAULT_BACKEND,
                 cost: str = DEFAULT_COST,
                 intensity_normalization: str = DEFAULT_NORMALIZATION,
                 rule: str = PAPER_RULE,
                 background_voxels: Optional[Sequence[Sequence[Sequence[int]]]] = None,
                 classes: Optional[Sequence[int]] = None, return_conflicts: bool = False
                 ) -> Union[np.ndarray, Tuple[np.ndarray, int]]:
    """PA-Seg's partial label map from one foreground click and one box per object.

    Args:
        image: ``(D, H, W)`` or ``(C, D, H, W)`` intensities.
        foreground_voxels: one ``(z, y, x)`` click per object, inside its box.
        boxes: per object, the inclusive ``((z0, y0, x0), (z1, y1, x1))`` corners of the
            box spanned by its six background clicks.
        valid_mask: ``(D, H, W)`` bool, Omega_M; ``None``: the whole image is valid.
        spacing: voxel size along ``(z, y, x)``.
        class_num: number of classes; the unlabeled value (PyMIC partial labels), >= 2.
        epsilon: expansion threshold of eq. 2, in ``[0, 1]``; 0 keeps only the click.
        lamb: weight of the intensity term of the geodesic cost, in ``[0, 1]``.
        iterations: raster-scan iterations.
        backend: geodesic backend, see :func:`pymic_paseg.geodesic.available_backends`.
        cost: local edge cost (``"geodistk"``: PA-Seg's GeodisTK; ``"geos"``; ``"fastgeodis"``).
        intensity_normalization: ``"none"`` (as PA-Seg) or ``"zscore"`` (over Omega_M).
        rule: ``"paper"`` (eq. 2, the arguments above; this function's default, whereas
            the ``SeedExpansion_rule`` setting defaults to ``"adaptive"``) or ``"adaptive"``
            (:mod:`pymic_paseg.expansion.adaptive`: all seven clicks; it uses ``backend``,
            ``iterations`` and ``background_voxels`` and chooses its own cost and threshold).
        background_voxels: per object, its background clicks ``(z, y, x)`` (on the faces
            of its box); used by ``"adaptive"`` only; ``None``: the box faces alone.
        classes: per object, its class ``k`` in ``1 .. class_num - 1``; ``None``: all 1
            (see :mod:`pymic_paseg.expansion.classes`).
        return_conflicts: also return the number of voxels that objects of different
            classes both claimed (left unlabeled).

    Returns:
        ``(D, H, W)`` uint8: 0 background (Omega_B), ``k`` the foreground of class ``k``
        (Omega_F), ``class_num`` unlabeled. No object: everything is background. With
        ``return_conflicts``: ``(label, conflicts)``.
    """
    channels = np.asarray(image)
    channels = channels[None] if channels.ndim == _DIMS else channels
    if channels.ndim != _DIMS + 1:
        raise ValueError(f"image must have shape (D, H, W) or (C, D, H, W). "
                         f"Got: {np.shape(image)}")
    if isinstance(class_num, bool) or not 2 <= int(class_num) <= _MAX_LABEL:
        raise ValueError(f"class_num must be an integer in [2, {_MAX_LABEL}]. Got: {class_num}")
    if not 0.0 <= epsilon <= 1.0:
        raise ValueError(f"epsilon must be in [0, 1]. Got: {epsilon}")
    if rule not in RULES:
        raise ValueError(f"rule must be one of {', '.join(RULES)}. Got: {rule!r}")
    shape = channels.shape[1:]
    objects = _checked_objects(foreground_voxels, boxes, shape)
    valid = _checked_valid_mask(valid_mask, shape)
    classes = checked_classes(classes, len(objects), int(class_num))
    if rule == "adaptive":
        from pymic_paseg.expansion.adaptive import expand_adaptive
        label, conflicts = expand_adaptive(channels, objects, valid, spacing, class_num,
                                           background_voxels, backend=backend,
                                           iterations=iterations, classes=classes)
        return (label, conflicts) if return_conflicts else label
    channels = normalize_intensity(channels, valid, intensity_normalization)
    label = np.full(shape, BACKGROUND, np.uint8)
    for _, lo, hi in objects:
        box = tuple(slice(a, b + 1) for a, b in zip(lo, hi))
        label[box][valid[box]] = class_num
    kwargs = dict(lamb=lamb, iterations=iterations, backend=backend, cost=cost)
    claims = []
    for click, lo, hi in objects:
        box = tuple(slice(a, b + 1) for a, b in zip(lo, hi))
        claims.append((box, _object_foreground(channels, valid, click, lo, hi, spacing,
                                               epsilon, kwargs)))
    conflicts = paint_foreground(label, claims, classes, class_num)
    logger.debug("seed expansion: %d object(s), %d foreground, %d unlabeled voxels (%d claimed "
                 "by two classes)", len(objects),
                 int(((label > 0) & (label < class_num)).sum()),
                 int((label == class_num).sum()), conflicts)
    return (label, conflicts) if return_conflicts else label
