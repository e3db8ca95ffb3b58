"""Checks that a seven-point annotation follows the PA-Seg protocol and fits its image.

Rules (each broken rule is one :class:`AnnotationError` naming case, object, click):

1. the annotation's grid equals the image's grid: same size, spacing and origin
   within :data:`~pymic_paseg.annotation.geometry.GEOMETRY_RTOL` (relative), direction
   within :data:`~pymic_paseg.annotation.geometry.DIRECTION_ATOL`. When it does not, no
   other rule is checked (the voxels would be meaningless);
2. the case has at least one object and object ids are unique;
3. each object has exactly one foreground click and exactly six background clicks;
4. every click lies inside the image;
5. the box spanned by the background clicks spans at least
   :data:`MIN_BOX_EXTENT` voxels along each axis. The background clicks sit on the
   box faces and the object lies strictly between them, so 3 is the least extent
   that leaves room for one object voxel;
6. the foreground click lies strictly inside that box (``lo < v < hi`` per axis);
7. the foreground click lies in the valid region Omega_M, when a mask is given.

Two background clicks on the same voxel break no rule, but the box may then be
smaller than the annotator meant: :func:`validate_case` logs a warning naming them.

:func:`find_problems` lists every problem of a case; :func:`validate_case` raises
the first; :func:`validate_cases` sorts a batch into good cases and errors so
that a batch run can report the bad cases and carry on with the good ones.
"""
from __future__ import annotations

import logging
from collections import Counter
from typing import Iterable, List, Mapping, Optional, Tuple

import numpy as np

from pymic_paseg.annotation.errors import AnnotationError
from pymic_paseg.annotation.geometry import ImageGeometry, ImageLike, as_geometry
from pymic_paseg.annotation.model import (AXIS_NAMES, BACKGROUND_CLICKS_PER_OBJECT,
                                          CaseAnnotation, ObjectAnnotation)

__all__ = ["AnnotationError", "MIN_BOX_EXTENT", "check_geometry", "find_problems",
           "validate_case", "validate_cases"]

logger = logging.getLogger(__name__)

#: least number of voxels the background box must span along every axis.
MIN_BOX_EXTENT = 3


def check_geometry(annotation_geometry: ImageGeometry, image_geometry: ImageGeometry, *,
                   case_id: Optional[str] = None, path: Optional[str] = None) -> None:
    """Raise :class:`AnnotationError` listing the differences between two grids."""
    diffs = annotation_geometry.mismatches(image_geometry)
    if diffs:
        raise AnnotationError("the annotation's grid does not match the image's grid "
                              "(annotation != image): " + "; ".join(diffs),
                              path=path, case_id=case_id)


def _count_problems(obj: ObjectAnnotation, case_id: str) -> List[AnnotationError]:
    out = []
    fgs, bgs = obj.foreground_clicks, obj.background
    if not fgs:
        out.append(AnnotationError("no foreground click; exactly 1 is required",
                                   case_id=case_id, object_id=obj.object_id))
    elif len(fgs) > 1:
        where = "; ".join(c.describe(i + 1) for i, c in enumerate(fgs))
        out.append(AnnotationError(f"{len(fgs)} foreground clicks ({where}); exactly 1 is "
                                   "required", case_id=case_id, object_id=obj.object_id,
                                   point=fgs[1].describe(2)))
    if len(bgs) != BACKGROUND_CLICKS_PER_OBJECT:
        out.append(AnnotationError(
            f"{len(bgs)} background clicks; exactly {BACKGROUND_CLICKS_PER_OBJECT} are required "
            "(one beyond each extreme: left, right, anterior, posterior, inferior, superior)",
            case_id=case_id, object_id=obj.object_id))
    return out


def _outside_problems(obj: ObjectAnnotation, geometry: ImageGeometry,
                      case_id: str) -> List[AnnotationError]:
    out = []
    counters: Counter = Counter()
    for click in obj.clicks:
        counters[click.role] += 1
        if not geometry.contains(click.voxel):
            out.append(AnnotationError(
                f"outside the image of shape (z,y,x)={geometry.shape_zyx}",
                case_id=case_id, object_id=obj.object_id,
                point=click.describe(counters[click.role])))
    return out


def _box_problems(obj: ObjectAnnotation, valid_mask: Optional[np.ndarray],
                  case_id: str) -> List[AnnotationError]:
    lo, hi = obj.box()
    bgs = obj.background
    for axis, name in enumerate(AXIS_NAMES):
        extent = hi[axis] - lo[axis] + 1
        if extent < MIN_BOX_EXTENT:
            i_lo = next(i for i, c in enumerate(bgs) if c.voxel[axis] == lo[axis])
            i_hi = next(i for i, c in enumerate(bgs) if c.voxel[axis] == hi[axis])
            return [AnnotationError(
                f"degenerate box: the background clicks span {extent} voxel(s) along {name} "
                f"({lo[axis]}..{hi[axis]}); at least {MIN_BOX_EXTENT} are needed so the "
                "object fits strictly between them",
                case_id=case_id, object_id=obj.object_id,
                point=f"{bgs[i_lo].describe(i_lo + 1)} and {bgs[i_hi].describe(i_hi + 1)}")]
    fg = obj.foreground
    bad = [f"{name}: not {lo[a]} < {fg.voxel[a]} < {hi[a]}"
           for a, name in enumerate(AXIS_NAMES) if not lo[a] < fg.voxel[a] < hi[a]]
    if bad:
        return [AnnotationError(
            f"not strictly inside the box spanned by the background clicks "
            f"(z,y,x) {lo}..{hi} ({'; '.join(bad)})",
            case_id=case_id, object_id=obj.object_id, point=fg.describe())]
    if valid_mask is not None and not valid_mask[fg.voxel]:
        return [AnnotationError("outside the valid image region Omega_M (valid_mask is False "
                                "there)", case_id=case_id, object_id=obj.object_id,
                                point=fg.describe())]
    return []


def _object_problems(obj: ObjectAnnotation, geometry: ImageGeometry,
                     valid_mask: Optional[np.ndarray], case_id: str) -> List[AnnotationError]:
    counts = _count_problems(obj, case_id)
    outside = _outside_problems(obj, geometry, case_id)
    if counts or outside:
        return counts + outside
    return _box_problems(obj, valid_mask, case_id)


def _case_level_problems(case: CaseAnnotation, image: ImageGeometry,
                         valid_mask: Optional[np.ndarray]) -> List[AnnotationError]:
    try:
        check_geometry(case.geometry, image, case_id=case.case_id)
    except AnnotationError as err:
        return [err]
    out = []
    if valid_mask is not None and tuple(valid_mask.shape) != image.shape_zyx:
        out.append(AnnotationError(f"valid_mask has shape {tuple(valid_mask.shape)}; the "
                                   f"image grid is (z,y,x)={image.shape_zyx}",
                                   case_id=case.case_id))
    if not case.objects:
        out.append(AnnotationError("no annotated object", case_id=case.case_id))
    duplicated = [k for k, n in Counter(o.object_id for o in case.objects).items() if n > 1]
    if duplicated:
        out.append(AnnotationError(f"object ids are not unique: {duplicated}",
                                   case_id=case.case_id))
    return out


def find_problems(case: CaseAnnotation, image_geometry: Optional[ImageLike] = None,
                  valid_mask: Optional[np.ndarray] = None) -> List[AnnotationError]:
    """Every problem of ``case`` (empty list when it is valid).

    Args:
        case: the annotation.
        image_geometry: the grid of the image it annotates (a geometry, image or
            path); ``None`` checks the clicks against ``case.geometry`` only.
        valid_mask: optional boolean ``(D, H, W)`` array, Omega_M of the paper.
    """
    image = case.geometry if image_geometry is None else as_geometry(image_geometry)
    mask = None if valid_mask is None else np.asarray(valid_mask, dtype=bool)
    out = _case_level_problems(case, image, mask)
    if out:
        return out
    for obj in case.objects:
        out += _object_problems(obj, image, mask, case.case_id)
    return out


def validate_case(case: CaseAnnotation, image_geometry: Optional[ImageLike] = None,
                  valid_mask: Optional[np.ndarray] = None) -> CaseAnnotation:
    """Return ``case`` unchanged if valid; else raise its first :class:`AnnotationError`.

    See :func:`find_problems` for the arguments and the module docstring for the rules.
    """
    problems = find_problems(case, image_geometry, valid_mask)
    if problems:
        for extra in problems[1:]:
            logger.error("%s", extra)
        raise problems[0]
    for obj in case.objects:
        warn_coincident_clicks(obj, case.case_id)
    return case


def warn_coincident_clicks(obj: ObjectAnnotation, case_id: str) -> List[str]:
    """Log (and return) a warning for background clicks of ``obj`` on the same voxel.

    Two such clicks still span a valid box, but one of the six sides it should reach
    is then set by another click: the box may be smaller than the annotator meant, and
    object voxels outside it become background.
    """
    seen: dict = {}
    warnings = []
    for index, click in enumerate(obj.background, start=1):
        if click.voxel in seen:
            lo, hi = obj.box()
            text = (f"case {case_id}, object {obj.object_id}: background clicks "
                    f"{seen[click.voxel]} and {index} lie on the same voxel (z,y,x) "
                    f"{click.voxel}; the box {lo}..{hi} may be smaller than intended "
                    "(object voxels outside it become background)")
            logger.warning("%s", text)
            warnings.append(text)
        else:
            seen[click.voxel] = index
    return warnings


def validate_cases(cases: Iterable[CaseAnnotation],
                   image_geometries: Optional[Mapping[str, ImageLike]] = None,
                   valid_masks: Optional[Mapping[str, np.ndarray]] = None,
                   ) -> Tuple[List[CaseAnnotation], List[AnnotationError]]:
    """Split a batch into valid cases and the problems of the others, without stopping.

    Args:
        cases: the annotations.
        image_geometries: ``case_id -> image grid``; a case missing here is checked
            against its own geometry only.
        valid_masks: optional ``case_id -> Omega_M`` boolean arrays.

    Returns:
        ``(good, errors)``: the cases without problems, in input order, and every
        problem of the other cases (each error carries ``case_id``).
    """
    good: List[CaseAnnotation] = []
    errors: List[AnnotationError] = []
    geometries = image_geometries or {}
    masks = valid_masks or {}
    n_bad = 0
    for case in cases:
        problems = find_problems(case, geometries.get(case.case_id), masks.get(case.case_id))
        if problems:
            n_bad += 1
            for problem in problems:
                logger.warning("skipping case %r: %s", case.case_id, problem)
            errors += problems
        else:
            good.append(case)
    logger.info("validated %d case(s): %d good, %d with problems",
                len(good) + n_bad, len(good), n_bad)
    return good, errors
