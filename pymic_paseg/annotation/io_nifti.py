"""PA-Seg click maps: a NIfTI (or any ITK) image on the image grid.

Original PA-Seg format (``<case>_7points.nii.gz``): ``0`` nothing,
``1`` background click, ``2`` foreground click — one object per map.

Several objects in one map cannot be told apart from the values 1/2 alone (a
background click carries no object id, and connected components do not help:
clicks are isolated voxels). Two conventions are supported:

* ``assignment="instance"`` (default, lossless): object ``k = 0, 1, ...`` uses
  value ``2k+1`` for its background clicks and ``2k+2`` for its foreground click
  (object 0 -> 1/2, object 1 -> 3/4, ...). An original single-object map is the
  special case ``k = 0``. Object ids are ``"1", "2", ...`` (``k + 1``). A map with
  only values 1/2 but several foreground clicks is refused as ambiguous.
* ``assignment="nearest"`` (for legacy maps holding several objects in 1/2):
  each background click goes to the nearest foreground click in millimetres.
  A click whose second-nearest foreground click is closer than
  :data:`NEAREST_AMBIGUITY_RATIO` times its nearest one is refused as ambiguous.
  Object ids follow the foreground clicks in (z, y, x) raster order.

The writer uses values 1/2 for a single object and the instance codes otherwise
(``encoding="auto"``), on the geometry of ``case.geometry``, written atomically.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

import numpy as np
import SimpleITK as sitk

from pymic_paseg.annotation.errors import AnnotationError
from pymic_paseg.annotation.geometry import ImageGeometry, ImageLike, as_geometry
from pymic_paseg.annotation.model import (BACKGROUND, CODE_BACKGROUND, CODE_FOREGROUND,
                                          CODE_NONE, FOREGROUND, CaseAnnotation, Click,
                                          ObjectAnnotation, case_id_from_path)
from pymic_paseg.annotation.validate import check_geometry
from pymic_paseg.io_atomic import atomic_path

__all__ = ["read_click_map", "write_click_map", "click_map_array", "instance_codes",
           "ASSIGNMENTS", "ENCODINGS", "NEAREST_AMBIGUITY_RATIO"]

logger = logging.getLogger(__name__)

#: how ``read_click_map`` groups clicks into objects.
ASSIGNMENTS = ("instance", "nearest")
#: how ``write_click_map`` encodes objects.
ENCODINGS = ("auto", "plain", "instance")
#: nearest assignment refuses a background click whose 2nd-nearest foreground click
#: is closer than this factor times the nearest one.
NEAREST_AMBIGUITY_RATIO = 1.5
_CODES_PER_OBJECT = 2
_UINT8_MAX = np.iinfo(np.uint8).max


def instance_codes(k: int) -> Tuple[int, int]:
    """``(background, foreground)`` voxel values of object ``k`` (0-based): ``2k+1, 2k+2``."""
    return (_CODES_PER_OBJECT * k + CODE_BACKGROUND, _CODES_PER_OBJECT * k + CODE_FOREGROUND)


# ------------------------------------------------------------------ writing
def click_map_array(case: CaseAnnotation, *, encoding: str = "auto") -> np.ndarray:
    """The click map of ``case`` as a ``(D, H, W)`` integer array (see module docstring)."""
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding must be one of {ENCODINGS}. Got: {encoding!r}")
    if encoding == "plain" and len(case.objects) > 1:
        raise AnnotationError(f"{len(case.objects)} objects cannot be written with plain 1/2 "
                              "codes; use encoding='instance'", case_id=case.case_id)
    instance = encoding == "instance" or len(case.objects) > 1
    top = instance_codes(len(case.objects) - 1)[1] if instance else CODE_FOREGROUND
    out = np.full(case.geometry.shape_zyx, CODE_NONE,
                  dtype=np.uint8 if top <= _UINT8_MAX else np.uint16)
    for k, obj in enumerate(case.objects):
        bg_code, fg_code = instance_codes(k) if instance else (CODE_BACKGROUND, CODE_FOREGROUND)
        for click in obj.clicks:
            if not case.geometry.contains(click.voxel):
                raise AnnotationError(f"outside the image of shape (z,y,x)="
                                      f"{case.geometry.shape_zyx}", case_id=case.case_id,
                                      object_id=obj.object_id, point=click.describe())
            if out[click.voxel] != CODE_NONE:
                raise AnnotationError("shares its voxel with another click; a click map can "
                                      "hold one click per voxel", case_id=case.case_id,
                                      object_id=obj.object_id, point=click.describe())
            out[click.voxel] = fg_code if click.role == FOREGROUND else bg_code
    return out


def write_click_map(case: CaseAnnotation, path: Union[str, os.PathLike], *,
                    encoding: str = "auto") -> None:
    """Write ``case`` as a click map on ``case.geometry`` (atomic write)."""
    image = sitk.GetImageFromArray(click_map_array(case, encoding=encoding))
    geometry = case.geometry
    image.SetSpacing(geometry.spacing)
    image.SetOrigin(geometry.origin)
    image.SetDirection(geometry.direction)
    with atomic_path(path) as tmp:
        sitk.WriteImage(image, tmp, True)
    logger.info("wrote click map of case %r (%d object(s)) to %s",
                case.case_id, len(case.objects), path)


# ------------------------------------------------------------------ reading
def _load_codes(path: str) -> Tuple[np.ndarray, ImageGeometry]:
    try:
        image = sitk.ReadImage(path)
    except RuntimeError as err:
        raise AnnotationError(f"cannot read the click map: {err}", path=path) from None
    if image.GetNumberOfComponentsPerPixel() != 1 or image.GetDimension() != 3:
        raise AnnotationError("a click map must be a 3D scalar image. Got: "
                              f"{image.GetDimension()}D with "
                              f"{image.GetNumberOfComponentsPerPixel()} component(s)", path=path)
    array = sitk.GetArrayFromImage(image)
    if np.any(array < 0) or np.any(array != np.round(array)):
        raise AnnotationError("a click map must hold non-negative integers (0 nothing, 2k+1 "
                              "background / 2k+2 foreground click of object k)", path=path)
    return array.astype(np.int64), ImageGeometry.from_image(image)


def _group_instance(voxels: np.ndarray, values: np.ndarray, path: str,
                    case_id: str) -> Dict[int, List[Click]]:
    n_fg_plain = int(np.sum(values == CODE_FOREGROUND))
    if values.max(initial=CODE_NONE) <= CODE_FOREGROUND and n_fg_plain > 1:
        raise AnnotationError(
            f"{n_fg_plain} foreground clicks (value {CODE_FOREGROUND}) in a map without object "
            "codes: several objects are ambiguous here. Write object k with values "
            "2k+1/2k+2, or read with assignment='nearest'", path=path, case_id=case_id)
    groups: Dict[int, List[Click]] = {}
    for voxel, value in zip(voxels, values):
        k, offset = divmod(int(value) - CODE_BACKGROUND, _CODES_PER_OBJECT)
        role = BACKGROUND if offset == 0 else FOREGROUND
        source = f"value {int(value)} in {Path(path).name}"
        groups.setdefault(k, []).append(Click(tuple(voxel), role, source))
    return dict(sorted(groups.items()))


def _nearest_object(fg: np.ndarray, click: Click, spacing_zyx: np.ndarray, path: str,
                    case_id: str) -> int:
    """Index of the foreground click nearest (mm) to ``click``; refuse ambiguous ones."""
    if len(fg) < 2:
        return 0
    dist = np.linalg.norm((fg - np.asarray(click.voxel)) * spacing_zyx, axis=1)
    first, second = np.argsort(dist, kind="stable")[:2]
    if dist[second] < NEAREST_AMBIGUITY_RATIO * dist[first]:
        raise AnnotationError(
            f"ambiguous: {dist[first]:.1f} mm from the foreground click at "
            f"{tuple(int(v) for v in fg[first])} and {dist[second]:.1f} mm from the one at "
            f"{tuple(int(v) for v in fg[second])} (needs a ratio >= {NEAREST_AMBIGUITY_RATIO}); "
            "write object k with values 2k+1/2k+2 instead", path=path, case_id=case_id,
            point=click.describe())
    return int(first)


def _group_nearest(voxels: np.ndarray, values: np.ndarray, spacing_zyx: np.ndarray,
                   path: str, case_id: str) -> Dict[int, List[Click]]:
    if values.max(initial=CODE_NONE) > CODE_FOREGROUND:
        raise AnnotationError("assignment='nearest' needs a map with values 0/1/2 only. Got: "
                              f"max value {values.max()}", path=path, case_id=case_id)
    name = Path(path).name
    fg = voxels[values == CODE_FOREGROUND]
    groups: Dict[int, List[Click]] = {
        k: [Click(tuple(v), FOREGROUND, f"value {CODE_FOREGROUND} in {name}")]
        for k, v in enumerate(fg)}
    for voxel in voxels[values == CODE_BACKGROUND]:
        click = Click(tuple(voxel), BACKGROUND, f"value {CODE_BACKGROUND} in {name}")
        groups.setdefault(_nearest_object(fg, click, spacing_zyx, path, case_id),
                          []).append(click)
    return groups


def read_click_map(path: Union[str, os.PathLike], reference: Optional[ImageLike] = None, *,
                   case_id: Optional[str] = None, assignment: str = "instance") -> CaseAnnotation:
    """Read a click map into a :class:`CaseAnnotation` on the map's own grid.

    Args:
        path: the click map file.
        reference: optional image (or geometry/path) the map must match; a mismatch
            raises :class:`AnnotationError` listing the differences.
        case_id: defaults to the file name without extension.
        assignment: ``"instance"`` or ``"nearest"`` (see module docstring).
    """
    if assignment not in ASSIGNMENTS:
        raise ValueError(f"assignment must be one of {ASSIGNMENTS}. Got: {assignment!r}")
    path = os.fspath(path)
    case_id = case_id_from_path(path) if case_id is None else case_id
    codes, geometry = _load_codes(path)
    if reference is not None:
        check_geometry(geometry, as_geometry(reference), case_id=case_id, path=path)
    voxels = np.argwhere(codes != CODE_NONE)
    values = codes[tuple(voxels.T)]
    if assignment == "instance":
        groups = _group_instance(voxels, values, path, case_id)
    else:
        groups = _group_nearest(voxels, values, np.asarray(geometry.spacing_zyx), path, case_id)
    objects = [ObjectAnnotation(str(k + 1), tuple(clicks)) for k, clicks in groups.items()]
    logger.debug("read %d object(s) from click map %s", len(objects), path)
    return CaseAnnotation(case_id, tuple(objects), geometry)
