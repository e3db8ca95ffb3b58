"""3D Slicer Markups JSON (``*.mrk.json``) point lists <-> seven-point annotations.

Format facts (Slicer's ``markups-schema-v1.0.3.json`` and ``vtkMRMLMarkupsJsonStorageNode``):

* ``{"@schema": ..., "markups": [{"type": "Fiducial", "name": ..., "coordinateSystem":
  "LPS"|"RAS", "coordinateUnits": "mm", "controlPoints": [{"label", "description",
  "position": [x, y, z], "positionStatus": ...}, ...]}, ...]}``;
* ``coordinateSystem`` defaults to ``"LPS"`` in the schema, and Slicer's reader
  also assumes LPS when the key is missing (files from older Slicer versions), so
  this reader does the same. Slicer >= 4.11 writes LPS by default;
* ``coordinateUnits`` is ``"mm"`` (default) or ``"um"``;
* control points whose ``positionStatus`` is ``"undefined"`` or ``"preview"`` were
  never placed; they are skipped with a warning.

Conventions of this package:

* only point lists (``"type": "Fiducial"``) are accepted;
* **role** of a point: the first word of its ``label`` that is ``fg``,
  ``foreground``, ``bg`` or ``background`` (any case, digits may follow: ``bg3``).
  Words are runs of letters/digits, so ``obj1-bg-left`` has the role word ``bg``.
  If the label names no role, the ``description`` is searched the same way;
  if neither does, the file is refused, naming the point;
* **object** of a point: the label text before the role word, when there is any
  (``tumor-fg``, ``obj2_bg`` -> objects ``tumor``, ``obj2``); otherwise the point
  list's ``name`` (or its 1-based position in the file when unnamed). So either
  use one point list per object (the simplest in Slicer) or one list with
  object-prefixed labels. Slicer saves each point list to its own file, so
  :func:`read_slicer_markups` also takes a list of files of one case;
* **class** of an object: a ``class=N`` token in the ``description`` (or ``label``) of
  any of its points (:func:`~pymic_paseg.annotation.classes.class_from_text`); the
  tokens of one object must agree; without any the class is 1;
* world -> voxel: RAS points are converted to LPS (x, y negated), mapped with
  SimpleITK's ``TransformPhysicalPointToContinuousIndex`` on the reference image
  and rounded to the nearest voxel. Points may land outside the image; validation
  reports them.

The writer emits one point list per object (``name`` = object id) with labels
``fg`` and ``bg-1`` .. ``bg-6`` and the role in ``description``, at voxel centres.
"""
from __future__ import annotations

import json
import logging
import math
import os
import re
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from pymic_paseg.annotation.classes import DEFAULT_CLASS, class_from_text
from pymic_paseg.annotation.errors import AnnotationError
from pymic_paseg.annotation.geometry import (COORDINATE_SYSTEMS, ImageGeometry, ImageLike,
                                             as_geometry, from_lps, to_lps)
from pymic_paseg.annotation.model import (FOREGROUND, CaseAnnotation, Click,
                                          ObjectAnnotation, case_id_from_path, parse_role)
from pymic_paseg.io_atomic import atomic_write_text

__all__ = ["read_slicer_markups", "write_slicer_markups", "split_label", "point_class",
           "set_object_class",
           "DEFAULT_COORDINATE_SYSTEM", "SCHEMA_URL"]

logger = logging.getLogger(__name__)

#: schema id written by the writer (Slicer keeps the historical "master" URL as id).
SCHEMA_URL = ("https://raw.githubusercontent.com/slicer/slicer/master/Modules/Loadable/"
              "Markups/Resources/Schema/markups-schema-v1.0.3.json#")
#: what the schema and Slicer's reader assume when ``coordinateSystem`` is missing.
DEFAULT_COORDINATE_SYSTEM = "LPS"
#: millimetres per unit of ``coordinateUnits``.
MM_PER_UNIT = {"mm": 1.0, "um": 1e-3}
POINT_LIST_TYPE = "Fiducial"
UNPLACED_STATUSES = ("undefined", "preview")
PathLike = Union[str, os.PathLike]
_WORD = re.compile(r"[A-Za-z0-9]+")
_SEPARATORS = " \t-_:.,/|"


def split_label(text: str) -> Tuple[Optional[str], Optional[str]]:
    """``'tumor-bg3'`` -> ``('background', 'tumor')``; ``'fg'`` -> ``('foreground', None)``."""
    for word in _WORD.finditer(text):
        role = parse_role(word.group())
        if role is not None:
            prefix = text[:word.start()].strip(_SEPARATORS)
            return role, (prefix or None)
    return None, None


def _load_json(path: str) -> Dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            doc = json.load(handle)
    except (OSError, ValueError) as err:
        raise AnnotationError(f"cannot read Slicer markups JSON: {err}", path=path) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("markups"), list):
        raise AnnotationError("not a Slicer markups file: no 'markups' list at the top level",
                              path=path)
    return doc


def _frame(markup: Mapping[str, Any], where: str, path: str) -> Tuple[str, float]:
    system = str(markup.get("coordinateSystem", DEFAULT_COORDINATE_SYSTEM)).upper()
    if system not in COORDINATE_SYSTEMS:
        raise AnnotationError(f"{where}: coordinateSystem {system!r} is not one of "
                              f"{COORDINATE_SYSTEMS}", path=path)
    units = markup.get("coordinateUnits", "mm")
    units = units[0] if isinstance(units, list) and units else units
    if units not in MM_PER_UNIT:
        raise AnnotationError(f"{where}: coordinateUnits {units!r} is not one of "
                              f"{tuple(MM_PER_UNIT)}", path=path)
    return system, MM_PER_UNIT[units]


def point_class(point: Mapping[str, Any], where: str, path: str) -> Optional[int]:
    """The ``class=N`` token of a point's description, else of its label, else None."""
    try:
        found = class_from_text(str(point.get("description", "")), where)
        return found if found is not None else class_from_text(str(point.get("label", "")),
                                                               where)
    except AnnotationError as err:
        raise AnnotationError(err.reason, path=path) from None


def set_object_class(labels: Dict[str, int], object_id: str, label: Optional[int],
                     where: str, path: str) -> None:
    """Record ``object_id``'s class; a point naming another class is an error."""
    if label is None:
        return
    if labels.setdefault(object_id, label) != label:
        raise AnnotationError(f"{where} says class={label}, an earlier point of the object "
                              f"says class={labels[object_id]}", path=path,
                              object_id=object_id)


def _point_click(point: Mapping[str, Any], where: str, system: str, scale: float,
                 geometry: ImageGeometry, path: str) -> Tuple[Optional[str], Click]:
    """The object prefix (or None) and the click of one control point."""
    label = str(point.get("label", ""))
    role, prefix = split_label(label)
    if role is None:
        role, _ = split_label(str(point.get("description", "")))
    if role is None:
        raise AnnotationError(f"{where} has no role: its label or description must contain "
                              "fg/foreground or bg/background", path=path)
    position = point.get("position")
    if (not isinstance(position, list) or len(position) != 3
            or not all(isinstance(p, (int, float)) and math.isfinite(p) for p in position)):
        raise AnnotationError(f"{where}: 'position' must be 3 finite numbers. Got: {position!r}",
                              path=path)
    voxel = geometry.world_to_voxel(to_lps([scale * float(p) for p in position], system))
    return prefix, Click(voxel, role, f"{label!r} in {Path(path).name}")


def _add_file_clicks(path: str, geometry: ImageGeometry, groups: Dict[str, List[Click]],
                     labels: Dict[str, int]) -> None:
    """Append the clicks of one file to ``groups`` (object id -> clicks)."""
    for m, markup in enumerate(_load_json(path)["markups"]):
        if not isinstance(markup, dict):
            raise AnnotationError(f"markup #{m + 1} is not a JSON object", path=path)
        name = str(markup.get("name") or m + 1)
        where = f"point list {name!r}"
        if markup.get("type") != POINT_LIST_TYPE:
            raise AnnotationError(f"{where} has type {markup.get('type')!r}; only point lists "
                                  f"({POINT_LIST_TYPE!r}) hold clicks", path=path)
        system, scale = _frame(markup, where, path)
        for p, point in enumerate(markup.get("controlPoints") or []):
            if not isinstance(point, dict):
                raise AnnotationError(f"point #{p + 1} of {where} is not a JSON object",
                                      path=path)
            point_where = f"point #{p + 1} {point.get('label', '')!r} of {where}"
            if point.get("positionStatus", "defined") in UNPLACED_STATUSES:
                logger.warning("%s: skipping %s (positionStatus %r)", path, point_where,
                               point.get("positionStatus"))
                continue
            prefix, click = _point_click(point, point_where, system, scale, geometry, path)
            groups.setdefault(prefix or name, []).append(click)
            set_object_class(labels, prefix or name, point_class(point, point_where, path),
                             point_where, path)


def read_slicer_markups(path: Union[PathLike, Sequence[PathLike]], reference: ImageLike, *,
                        case_id: Optional[str] = None) -> CaseAnnotation:
    """Read ``.mrk.json`` file(s) into one :class:`CaseAnnotation` on ``reference``'s grid.

    Args:
        path: one file, or a list of files of the same case (Slicer saves each point
            list to its own file); objects with the same id across files are merged.
        reference: the annotated image (path, SimpleITK image or geometry).
        case_id: defaults to the (first) file name up to its first dot.
    """
    paths = [os.fspath(p) for p in ([path] if isinstance(path, (str, os.PathLike)) else path)]
    if not paths:
        raise ValueError("read_slicer_markups needs at least one file")
    geometry = as_geometry(reference)
    case_id = case_id_from_path(paths[0]) if case_id is None else case_id
    groups: Dict[str, List[Click]] = {}
    labels: Dict[str, int] = {}
    for one in paths:
        try:
            _add_file_clicks(one, geometry, groups, labels)
        except AnnotationError as err:
            raise err.with_context(case_id=case_id) from None
    objects = tuple(ObjectAnnotation(oid, tuple(clicks), label=labels.get(oid, DEFAULT_CLASS))
                    for oid, clicks in groups.items())
    logger.debug("read %d object(s) from %s", len(objects), ", ".join(paths))
    return CaseAnnotation(case_id, objects, geometry)


def _markup(obj: ObjectAnnotation, geometry: ImageGeometry, system: str) -> Dict[str, Any]:
    points = []
    n_bg = 0
    for i, click in enumerate(obj.clicks):
        world = geometry.voxel_to_world(click.voxel)
        if click.role == FOREGROUND:
            label = "fg"
        else:
            n_bg += 1
            label = f"bg-{n_bg}"
        description = click.role if obj.label == DEFAULT_CLASS else \
            f"{click.role} class={obj.label}"
        points.append({"id": str(i + 1), "label": label, "description": description,
                       "position": list(from_lps(world, system)),
                       "positionStatus": "defined"})
    return {"type": POINT_LIST_TYPE, "name": obj.object_id, "coordinateSystem": system,
            "coordinateUnits": "mm", "labelFormat": "%N-%d", "controlPoints": points}


def write_slicer_markups(case: CaseAnnotation, path: Union[str, os.PathLike], *,
                         coordinate_system: str = DEFAULT_COORDINATE_SYSTEM) -> None:
    """Write ``case`` as a ``.mrk.json`` file Slicer can load (one point list per object)."""
    system = coordinate_system.upper()
    if system not in COORDINATE_SYSTEMS:
        raise ValueError(f"coordinate_system must be one of {COORDINATE_SYSTEMS}. "
                         f"Got: {coordinate_system!r}")
    doc = {"@schema": SCHEMA_URL,
           "markups": [_markup(obj, case.geometry, system) for obj in case.objects]}
    atomic_write_text(path, json.dumps(doc, indent=2) + "\n")
    logger.info("wrote %d point list(s) of case %r to %s", len(case.objects), case.case_id, path)
