"""Simulated annotators: PA-Seg's seven clicks per object from a dense label mask.

Used to build seven-point training data from fully labelled datasets, as the
paper did for its VS and BraTS experiments. For each connected object
(``scipy.ndimage.label`` per label value, 26-connectivity; components smaller
than ``min_size`` voxels are ignored):

* **foreground click** — near the centre but not at the centroid: a voxel drawn
  uniformly among the object's voxels whose depth (Euclidean distance to the
  outside, ``distance_transform_edt`` with the voxel spacing, the image border
  counting as outside) is at least ``min_depth_fraction`` times the object's
  largest depth;
* **six background clicks**, in the order z-, z+, y-, y+, x- (``Click.source`` says
  which): along its axis the click lies beyond the object's extreme voxel by
  ``ceil(m / spacing)`` voxels (at least 1), ``m`` drawn uniformly from
  ``margin_mm``, so the real margin is in ``[m, m + spacing)`` mm. Its two other
  coordinates are drawn uniformly from the central ``lateral_fraction`` of the
  object's extent along those axes;
* **jitter** (``jitter_mm > 0``, Gaussian, standard deviation in mm): added to the
  foreground click (redrawn up to :data:`MAX_JITTER_TRIES` times until it lands
  inside the object, else left unjittered) and to the background clicks (along
  their axis it changes the margin but never brings the click to or inside the
  extreme; across, the coordinates stay within the object's extent).

A background click that would leave the image is clipped to the border voxel
and noted in ``ObjectAnnotation.notes`` (and logged); its box then reaches the
image border. An object that touches the image border leaves no room for a
background click beyond it (the margin would be 0 mm, the click on the object's
own extreme plane): :func:`simulate_clicks` raises
:class:`~pymic_paseg.annotation.errors.AnnotationError` naming the case, the
object and the side.

The box spanned by the six clicks contains the whole object, and the foreground
click lies inside the object. Results depend only on the inputs and ``seed``.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np
from scipy import ndimage

from pymic_paseg.annotation.errors import AnnotationError
from pymic_paseg.annotation.geometry import GEOMETRY_RTOL, ImageGeometry, round_half_up
from pymic_paseg.annotation.model import (AXIS_NAMES, BACKGROUND, FOREGROUND, CaseAnnotation,
                                          Click, ObjectAnnotation)

__all__ = ["simulate_clicks", "SimulationSettings", "MAX_JITTER_TRIES"]

logger = logging.getLogger(__name__)

#: how often a jittered foreground click is redrawn before it is left unjittered.
MAX_JITTER_TRIES = 20
#: 26-connectivity in 3D.
CONNECTIVITY = np.ones((3, 3, 3), dtype=bool)
#: order of the background clicks: (axis, direction) for z-, z+, y-, y+, x-, x+.
SIDES = tuple((axis, sign) for axis in range(3) for sign in (-1, 1))
#: guards ``ceil`` against float noise when a margin is an exact multiple of the spacing.
_CEIL_EPS = 1e-9


@dataclass(frozen=True)
class SimulationSettings:
    """The annotator model (see :func:`simulate_clicks` for each field)."""

    spacing: Tuple[float, float, float]
    margin_mm: Tuple[float, float] = (2.0, 8.0)
    jitter_mm: float = 0.0
    min_depth_fraction: float = 0.5
    lateral_fraction: float = 0.5
    min_size: int = 1

    def __post_init__(self) -> None:
        lo, hi = self.margin_mm
        rules = [
            (len(self.spacing) == 3 and all(s > 0 for s in self.spacing),
             f"spacing_zyx must be 3 positive numbers. Got: {self.spacing}"),
            (0 <= lo <= hi, f"margin_mm must be (low, high) with 0 <= low <= high. "
                            f"Got: {self.margin_mm}"),
            (self.jitter_mm >= 0, f"jitter_mm must be >= 0. Got: {self.jitter_mm}"),
            (0 <= self.min_depth_fraction <= 1,
             f"min_depth_fraction must be in [0, 1]. Got: {self.min_depth_fraction}"),
            (0 <= self.lateral_fraction <= 1,
             f"lateral_fraction must be in [0, 1]. Got: {self.lateral_fraction}"),
            (self.min_size >= 1, f"min_size must be >= 1. Got: {self.min_size}"),
        ]
        for ok, message in rules:
            if not ok:
                raise ValueError(message)


def _foreground(component: np.ndarray, settings: SimulationSettings,
                rng: np.random.Generator) -> np.ndarray:
    """A deep voxel of ``component`` (local coordinates of its bounding-box crop)."""
    depth = ndimage.distance_transform_edt(np.pad(component, 1), sampling=settings.spacing)
    depth = depth[1:-1, 1:-1, 1:-1]
    deep = component & (depth >= settings.min_depth_fraction * depth.max())
    candidates = np.argwhere(deep)
    return candidates[rng.integers(len(candidates))]


def _jitter_foreground(local: np.ndarray, component: np.ndarray, settings: SimulationSettings,
                       rng: np.random.Generator) -> Tuple[np.ndarray, Optional[str]]:
    if settings.jitter_mm == 0:
        return local, None
    for _ in range(MAX_JITTER_TRIES):
        shift = rng.normal(0.0, settings.jitter_mm, 3) / np.asarray(settings.spacing)
        moved = np.array([round_half_up(v) for v in local + shift])
        if np.all(moved >= 0) and np.all(moved < component.shape) and component[tuple(moved)]:
            return moved, None
    return local, (f"foreground jitter left the object {MAX_JITTER_TRIES} times; "
                   "the click was kept unjittered")


def _background(axis: int, sign: int, lo: np.ndarray, hi: np.ndarray, shape: Sequence[int],
                settings: SimulationSettings, rng: np.random.Generator
                ) -> Tuple[Tuple[int, int, int], Optional[str]]:
    """One background click beyond the extreme ``sign`` of ``axis``, and a note if clipped."""
    margin = rng.uniform(*settings.margin_mm)
    if settings.jitter_mm > 0:
        margin += rng.normal(0.0, settings.jitter_mm)
    steps = max(1, math.ceil(margin / settings.spacing[axis] - _CEIL_EPS))
    extreme = hi[axis] if sign > 0 else lo[axis]
    voxel = [0, 0, 0]
    voxel[axis] = int(np.clip(extreme + sign * steps, 0, shape[axis] - 1))
    for other in range(3):
        if other == axis:
            continue
        centre = 0.5 * (lo[other] + hi[other])
        half = 0.5 * settings.lateral_fraction * (hi[other] - lo[other])
        value = rng.uniform(centre - half, centre + half)
        if settings.jitter_mm > 0:
            value += rng.normal(0.0, settings.jitter_mm) / settings.spacing[other]
        voxel[other] = int(np.clip(round_half_up(value), lo[other], hi[other]))
    note = None
    got = abs(voxel[axis] - extreme)
    if got != steps:
        note = (f"background click {AXIS_NAMES[axis]}{'+' if sign > 0 else '-'} clipped to the "
                f"image border: {got * settings.spacing[axis]:.2f} mm beyond the object instead "
                f"of {steps * settings.spacing[axis]:.2f} mm")
    return tuple(voxel), note


def _simulate_object(object_id: str, label: int, component: np.ndarray, corner: np.ndarray,
                     shape: Sequence[int], settings: SimulationSettings,
                     rng: np.random.Generator, case_id: Optional[str] = None) -> ObjectAnnotation:
    lo, hi = corner, corner + np.asarray(component.shape) - 1
    local, note = _jitter_foreground(_foreground(component, settings, rng), component,
                                     settings, rng)
    notes: List[str] = [note] if note else []
    clicks = [Click(tuple(int(v) for v in corner + local), FOREGROUND, "simulated")]
    for axis, sign in SIDES:
        voxel, note = _background(axis, sign, lo, hi, shape, settings, rng)
        side = f"{AXIS_NAMES[axis]}{'+' if sign > 0 else '-'}"
        if voxel[axis] == (hi[axis] if sign > 0 else lo[axis]):
            raise AnnotationError(
                f"the object touches the image border on side {side}: no background click "
                "can lie beyond it (the margin would be 0 mm and the click on the object); "
                "pad the image or leave the object out", case_id=case_id, object_id=object_id)
        clicks.append(Click(voxel, BACKGROUND, f"simulated {side}"))
        if note:
            notes.append(note)
    return ObjectAnnotation(object_id, tuple(clicks), label=label, notes=tuple(notes))


def _components(mask: np.ndarray, min_size: int,
                case_id: str) -> Iterator[Tuple[int, np.ndarray, np.ndarray]]:
    """``(label, component cropped to its bounding box, box corner)`` in label order."""
    for label in (int(v) for v in np.unique(mask) if v != 0):
        components, _ = ndimage.label(mask == label, structure=CONNECTIVITY)
        for index, box in enumerate(ndimage.find_objects(components), start=1):
            component = components[box] == index
            size = int(component.sum())
            if size < min_size:
                logger.info("case %s: label %d component %d has %d voxel(s) < min_size %d; "
                            "not annotated", case_id, label, index, size, min_size)
                continue
            yield label, component, np.array([s.start for s in box])


def simulate_clicks(mask: np.ndarray, spacing_zyx: Sequence[float], *, seed: int,
                    margin_mm: Tuple[float, float] = (2.0, 8.0), jitter_mm: float = 0.0,
                    min_depth_fraction: float = 0.5, lateral_fraction: float = 0.5,
                    min_size: int = 1, case_id: str = "case",
                    geometry: Optional[ImageGeometry] = None) -> CaseAnnotation:
    """Seven clicks for each connected object of a label mask (see module docstring).

    Args:
        mask: ``(D, H, W)`` integer (or bool) labels, 0 = background.
        spacing_zyx: voxel spacing in mm along ``(z, y, x)``.
        seed: seed of ``np.random.default_rng``; same seed, same clicks.
        margin_mm: ``(low, high)`` range of the background margin in mm.
        jitter_mm: standard deviation of the annotator's Gaussian jitter in mm.
        min_depth_fraction: foreground clicks are drawn among voxels at least this
            fraction of the object's largest depth from its surface (0 = anywhere).
        lateral_fraction: central fraction of the object's extent from which the
            across-axis coordinates of background clicks are drawn.
        min_size: components with fewer voxels are not annotated.
        case_id: id of the returned case.
        geometry: the image grid; defaults to an axis-aligned grid at the origin
            with ``mask.shape`` and ``spacing_zyx``.

    Returns:
        One object per kept component, ids ``"1", "2", ...`` in label then
        component order, ``ObjectAnnotation.label`` holding the label value.
    """
    mask = np.asarray(mask)
    if mask.ndim != 3 or not (np.issubdtype(mask.dtype, np.integer) or mask.dtype == bool):
        raise ValueError(f"mask must be a 3D integer array (D, H, W). Got: {mask.dtype} "
                         f"array of shape {mask.shape}")
    settings = SimulationSettings(tuple(float(s) for s in spacing_zyx), tuple(margin_mm),
                                  float(jitter_mm), min_depth_fraction, lateral_fraction,
                                  int(min_size))
    if geometry is None:
        geometry = ImageGeometry.from_array_grid(mask.shape, settings.spacing)
    elif geometry.shape_zyx != mask.shape or not np.allclose(
            geometry.spacing_zyx, settings.spacing, rtol=GEOMETRY_RTOL, atol=0.0):
        raise ValueError(f"geometry (shape {geometry.shape_zyx}, spacing "
                         f"{geometry.spacing_zyx}) does not match the mask (shape {mask.shape}, "
                         f"spacing {settings.spacing})")
    rng = np.random.default_rng(seed)
    objects: List[ObjectAnnotation] = []
    for label, component, corner in _components(mask, settings.min_size, case_id):
        obj = _simulate_object(str(len(objects) + 1), label, component, corner, mask.shape,
                               settings, rng, case_id)
        for note in obj.notes:
            logger.warning("case %s, object %s: %s", case_id, obj.object_id, note)
        objects.append(obj)
    return CaseAnnotation(case_id, tuple(objects), geometry)
