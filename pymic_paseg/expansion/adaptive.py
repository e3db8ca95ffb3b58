"""The ``adaptive`` expansion rule: all seven clicks, thresholds chosen per object.

Eq. 2 of PA-Seg (rule ``paper``) grows a geodesic ball around the foreground click
up to ``epsilon * D_max``. One click shapes it, the threshold is the same for every
object, and on raw MRI intensities the GeodisTK cost is nearly Euclidean, so the
ball leaks out of any object that is not round. This rule uses what the six
background clicks say too: each lies just outside the object, so every voxel of
the box faces they span is background.

Per object, inside its box ``B`` (all steps on the box crop; ``I`` the first
channel, smoothed by a Gaussian of :data:`SMOOTH_SIGMA_VOX` voxels):

1. **Intensity models from the clicks.** Inside: median ``m_F`` and spread ``s_F``
   (1.4826 MAD, at least :data:`MIN_SPREAD_FRACTION` of ``|m_F|``) of ``I`` in a ball
   of :data:`CLICK_RADIUS_VOX` voxels around the foreground click. Outside: the
   known background ``S_B`` = the box faces (the background clicks lie on them, and
   the protocol puts the whole object strictly inside) and the box's voxels outside
   Omega_M; the contrast ``c`` is the :data:`CONTRAST_QUANTILE` quantile over ``S_B``
   of ``|I - m_F|`` (at least ``3 s_F``).
2. **A cost scaled to the object.** The geodesic distance (``geos`` cost,
   :mod:`pymic_paseg.geodesic.costs`, lambda :data:`LAMB`) on
   ``J = INTENSITY_WEIGHT * I / c``: a step of the full contrast ``c`` costs about
   :data:`INTENSITY_WEIGHT` voxel steps (the finest spacing counts as one step),
   whatever the scanner's units and the object's contrast (PA-Seg's GeodisTK cost
   on raw MRI saturates and becomes nearly Euclidean).
3. **Background seeds compete.** ``D_F``: distance to the foreground click;
   ``D_B``: distance to ``S_B``.
4. **Epsilon per object.** ``t = EPSILON_CLEAR * min over S_B of D_F``: the largest
   geodesic ball around the click that stays clear of every known background voxel.
5. ``Omega_F = {D_F < t} & {D_F < RATIO * D_B} & {|I - m_F| <= min(GATE * s_F,
   GATE_CONTRAST * c)}`` within Omega_M, plus the click. ``Omega_B`` is the outside
   of the boxes and of Omega_M, plus, grown inward from the background clicks and
   faces, ``{D_B < RATIO_B * D_F}`` of the box. The rest of the box is unlabeled.

The constants were chosen with ``benchmarks/expansion.py`` on the real anatomy of
:mod:`pymic_paseg.data.anatomy` and on demo lesions: ``RATIO`` and ``RATIO_B`` trade
recall for precision (0.85 gave more recall and less precision on the deep grey
matter, 0.25 for ``RATIO_B`` put Omega_B's precision on the putamen under 0.99);
``INTENSITY_WEIGHT`` 10 gave far less recall, 200 no gain. Measured figures:
docs/annotation.md, *The expansion rule*.

Note:
    A voxel in two boxes is foreground if either object claims it, else unlabeled:
    an object's inward Omega_B only labels voxels that lie in no other object's box.
    Each object's Omega_F takes its class; a voxel claimed by two classes is left
    unlabeled (:mod:`pymic_paseg.expansion.classes`).
"""
from __future__ import annotations

import logging
from typing import List, Optional, Sequence, Tuple

import numpy as np
from scipy import ndimage

from pymic_paseg.expansion.classes import checked_classes, paint_foreground
from pymic_paseg.geodesic import geodesic_distance

__all__ = ["expand_adaptive", "object_regions"]

logger = logging.getLogger(__name__)

BACKGROUND, FOREGROUND = 0, 1
#: Gaussian smoothing (voxels) before the intensity models and distances.
SMOOTH_SIGMA_VOX = 0.7
#: radius (voxels) of the ball around the foreground click giving the inside model.
CLICK_RADIUS_VOX = 2
#: least inside spread, as a fraction of the inside median: intensities are taken as
#: a ratio scale (0 = no signal, as in MRI), so the rule is invariant to their unit,
#: not to an offset.
MIN_SPREAD_FRACTION = 0.02
#: cost, in voxel steps, of a step across the object's full contrast.
INTENSITY_WEIGHT = 100.0
#: fraction of the largest background-free geodesic ball that Omega_F may fill.
EPSILON_CLEAR = 1.0
#: Omega_F needs D_F < RATIO * D_B.
RATIO = 0.7
#: inward Omega_B needs D_B < RATIO_B * D_F.
RATIO_B = 0.15
#: Omega_F needs |I - m_F| <= GATE * s_F ...
GATE = 3.0
#: ... and <= GATE_CONTRAST * c (closer to the inside than to the outside).
GATE_CONTRAST = 0.5
#: quantile of |I - m_F| over the known background that gives the contrast c.
CONTRAST_QUANTILE = 0.5
#: the geos cost's intensity/spatial mix; with J already scaled, 0.5 weighs them equally.
LAMB = 0.5

Voxel = Tuple[int, int, int]


def _faces(shape: Sequence[int]) -> np.ndarray:
    faces = np.zeros(shape, bool)
    for axis in range(3):
        index = [slice(None)] * 3
        for end in (0, -1):
            index[axis] = end
            faces[tuple(index)] = True
    return faces


def _click_model(image: np.ndarray, valid: np.ndarray, click: Voxel) -> Tuple[float, float]:
    lo = [max(c - CLICK_RADIUS_VOX, 0) for c in click]
    window = tuple(slice(a, c + CLICK_RADIUS_VOX + 1) for a, c in zip(lo, click))
    grid = np.indices(image[window].shape).reshape(3, -1).T + np.asarray(lo)
    ball = (np.sum((grid - np.asarray(click)) ** 2, axis=1) <= CLICK_RADIUS_VOX ** 2)
    ball = ball.reshape(image[window].shape) & valid[window]
    values = image[window][ball] if ball.any() else image[tuple(click)][None]
    median = float(np.median(values))
    spread = 1.4826 * float(np.median(np.abs(values - median)))
    return median, max(spread, MIN_SPREAD_FRACTION * abs(median), 1e-6)


def object_regions(image: np.ndarray, valid: np.ndarray, click: Voxel,
                   spacing: Sequence[float], *, backend: str = "torch", iterations: int = 4,
                   background_seeds: Optional[np.ndarray] = None
                   ) -> Tuple[np.ndarray, np.ndarray]:
    """``(foreground, background)`` bool masks of one object, in its box crop.

    Args:
        image: ``(D, H, W)`` intensities of the box crop (the box faces are its outer layer).
        valid: Omega_M on the crop.
        click: the foreground click, crop coordinates.
        spacing: voxel size ``(z, y, x)``.
        backend, iterations: geodesic distance backend and raster-scan iterations.
        background_seeds: extra known background voxels (bool, crop shape).
    """
    smooth = ndimage.gaussian_filter(image.astype(np.float32), SMOOTH_SIGMA_VOX)
    known_bg = _faces(image.shape) | ~valid
    if background_seeds is not None:
        known_bg |= background_seeds
    known_bg[click] = False
    seed = np.zeros(image.shape, bool)
    seed[click] = True
    m_f, s_f = _click_model(smooth, valid, click)
    contrast = float(np.quantile(np.abs(smooth[known_bg] - m_f), CONTRAST_QUANTILE))
    contrast = max(contrast, 3.0 * s_f)
    scaled = (INTENSITY_WEIGHT / contrast) * smooth
    kwargs = dict(lamb=LAMB, iterations=iterations, backend=backend, cost="geos")
    steps = [float(v) / min(float(u) for u in spacing) for v in spacing]  # finest step = 1
    d_f = geodesic_distance(scaled, seed, steps, **kwargs)
    d_b = geodesic_distance(scaled, known_bg, steps, **kwargs)
    clear = EPSILON_CLEAR * float(d_f[known_bg].min())
    gate = np.abs(smooth - m_f) <= min(GATE * s_f, GATE_CONTRAST * contrast)
    foreground = (d_f < clear) & (d_f < RATIO * d_b) & gate & valid
    foreground[click] = bool(valid[click])
    background = ((d_b < RATIO_B * d_f) | known_bg) & ~foreground
    return foreground, background


def expand_adaptive(channels: np.ndarray, objects: Sequence[Tuple[Voxel, Voxel, Voxel]],
                    valid: np.ndarray, spacing: Sequence[float], class_num: int,
                    background_voxels: Optional[Sequence[Sequence[Sequence[int]]]] = None, *,
                    backend: str = "torch", iterations: int = 4,
                    classes: Optional[Sequence[int]] = None) -> Tuple[np.ndarray, int]:
    """The partial label of the ``adaptive`` rule (see the module docstring).

    Args:
        channels: ``(C, D, H, W)`` intensities (the first channel is used).
        objects: checked ``(click, lo, hi)`` per object (inclusive box corners).
        valid: ``(D, H, W)`` bool, Omega_M.
        spacing: voxel size ``(z, y, x)``.
        class_num: the unlabeled value.
        background_voxels: per object, its background clicks (or ``None``); they lie
            on the box faces, which are background seeds already, so they only matter
            when a caller passes clicks off the faces.
        classes: per object, its class (``None``: all 1).

    Returns:
        ``(label, conflicts)``: the partial label (Omega_F of an object = its class) and
        the number of voxels claimed by objects of different classes (left unlabeled).
    """
    shape = channels.shape[1:]
    label = np.full(shape, BACKGROUND, np.uint8)
    boxes = [tuple(slice(a, b + 1) for a, b in zip(lo, hi)) for _, lo, hi in objects]
    coverage = np.zeros(shape, np.int32)
    for box in boxes:
        label[box][valid[box]] = class_num
        coverage[box] += 1
    claims: List[Tuple[Tuple[slice, ...], np.ndarray, np.ndarray]] = []
    for index, ((click, lo, _), box) in enumerate(zip(objects, boxes)):
        local = tuple(c - a for c, a in zip(click, lo))
        extra = None
        if background_voxels is not None and index < len(background_voxels):
            extra = np.zeros(label[box].shape, bool)
            for voxel in background_voxels[index]:
                offset = tuple(int(v) - a for v, a in zip(voxel, lo))
                if all(0 <= o < n for o, n in zip(offset, extra.shape)):
                    extra[offset] = True
        fg, bg = object_regions(channels[0][box], valid[box], local, spacing,
                                backend=backend, iterations=iterations,
                                background_seeds=extra)
        claims.append((box, fg, bg))
    for box, _, bg in claims:  # inside another object's box only that object decides
        label[box][bg & valid[box] & (coverage[box] == 1)] = BACKGROUND
    classes = checked_classes(classes, len(objects), class_num)
    conflicts = paint_foreground(label, [(box, fg) for box, fg, _ in claims], classes, class_num)
    logger.debug("adaptive seed expansion: %d object(s), %d foreground voxels, %d claimed by "
                 "two classes", len(objects), int(((label > 0) & (label < class_num)).sum()),
                 conflicts)
    return label, conflicts
