"""Legacy 3D Slicer fiducial lists (``*.fcsv``, Slicer 4.x) -> seven-point annotations.

Format facts (Slicer's ``vtkMRMLMarkupsFiducialStorageNode``): comment lines start with
``#``; ``# CoordinateSystem = ...`` gives the frame, written as a number by Slicer
4.4-4.10 (``0`` RAS, ``1`` LPS, ``2`` IJK) and as ``RAS``/``LPS`` by later versions; when
the line is missing Slicer assumes RAS. ``# columns = id,x,y,z,ow,ox,oy,oz,vis,sel,lock,
label,desc,associatedNodeID`` names the columns (that list is assumed when the line is
missing). One data row is one point, in millimetres.

Conventions (the same as :mod:`~pymic_paseg.annotation.io_slicer`): the role of a point
is the first ``fg``/``bg`` word of its ``label`` (else of its ``desc``); its object is the
label text before the role word, else the file's point-list name (the file name without
``.fcsv``); its class is a ``class=N`` token of ``desc`` or ``label`` (default 1).
IJK files are refused: their indices do not say which image they belong to.
"""
from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

from pymic_paseg.annotation.classes import DEFAULT_CLASS
from pymic_paseg.annotation.errors import AnnotationError
from pymic_paseg.annotation.geometry import ImageLike, as_geometry, to_lps
from pymic_paseg.annotation.io_slicer import point_class, set_object_class, split_label
from pymic_paseg.annotation.model import (CaseAnnotation, Click, ObjectAnnotation,
                                          case_id_from_path)

__all__ = ["read_fcsv", "DEFAULT_COLUMNS", "FRAME_CODES"]

#: the columns Slicer 4 writes (and what a file without a ``# columns`` line holds).
DEFAULT_COLUMNS = ("id", "x", "y", "z", "ow", "ox", "oy", "oz", "vis", "sel", "lock",
                   "label", "desc", "associatedNodeID")
#: ``# CoordinateSystem`` values -> frame (``None``: refused).
FRAME_CODES = {"0": "RAS", "RAS": "RAS", "1": "LPS", "LPS": "LPS", "2": None, "IJK": None}
#: frame of a file without a ``# CoordinateSystem`` line (Slicer's reader assumes RAS).
DEFAULT_FRAME = "RAS"


def _header(lines: List[str], path: str) -> Tuple[str, Tuple[str, ...]]:
    frame, columns = DEFAULT_FRAME, DEFAULT_COLUMNS
    for line in lines:
        if not line.startswith("#"):
            continue
        key, sep, value = line[1:].partition("=")
        key, value = key.strip().lower(), value.strip()
        if not sep:
            continue
        if key == "coordinatesystem":
            if value.upper() not in FRAME_CODES:
                raise AnnotationError(f"# CoordinateSystem = {value!r} is not one of "
                                      f"{sorted(FRAME_CODES)}", path=path)
            frame = FRAME_CODES[value.upper()]
            if frame is None:
                raise AnnotationError("IJK (voxel) fiducial files are not supported: save the "
                                      "points in RAS or LPS", path=path)
        elif key == "columns":
            columns = tuple(c.strip() for c in value.split(","))
    missing = [c for c in ("x", "y", "z", "label") if c not in columns]
    if missing:
        raise AnnotationError(f"# columns lacks {missing}. Got: {list(columns)}", path=path)
    return frame, columns


def _position(row: Dict[str, str], where: str, path: str) -> List[float]:
    try:
        xyz = [float(row[c]) for c in ("x", "y", "z")]
    except (TypeError, ValueError):
        xyz = []
    if len(xyz) != 3 or not all(math.isfinite(v) for v in xyz):
        raise AnnotationError(f"{where}: x, y, z must be finite numbers. Got: "
                              f"{[row.get(c) for c in ('x', 'y', 'z')]}", path=path)
    return xyz


def read_fcsv(path: Union[str, os.PathLike], reference: ImageLike, *,
              case_id: Optional[str] = None) -> CaseAnnotation:
    """Read one ``.fcsv`` file into a :class:`CaseAnnotation` on ``reference``'s grid."""
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            lines = handle.read().splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise AnnotationError(f"cannot read the fiducial file: {err}", path=path) from None
    case_id = case_id_from_path(path) if case_id is None else case_id
    frame, columns = _header(lines, path)
    geometry = as_geometry(reference)
    list_name = Path(path).name[:-len(".fcsv")] if path.lower().endswith(".fcsv") \
        else Path(path).stem
    groups: Dict[str, List[Click]] = {}
    labels: Dict[str, int] = {}
    data = [line for line in lines if line.strip() and not line.startswith("#")]
    for number, values in enumerate(csv.reader(data), start=1):
        row = dict(zip(columns, values))
        label, desc = row.get("label", ""), row.get("desc", "")
        where = f"point #{number} {label!r}"
        role, prefix = split_label(label)
        if role is None:
            role, _ = split_label(desc)
        if role is None:
            raise AnnotationError(f"{where} has no role: its label or desc must contain "
                                  "fg/foreground or bg/background", path=path, case_id=case_id)
        voxel = geometry.world_to_voxel(to_lps(_position(row, where, path), frame))
        object_id = prefix or list_name
        groups.setdefault(object_id, []).append(Click(voxel, role, f"{label!r} in "
                                                                  f"{Path(path).name}"))
        point = {"label": label, "description": desc}
        try:
            set_object_class(labels, object_id, point_class(point, where, path), where, path)
        except AnnotationError as err:
            raise err.with_context(case_id=case_id) from None
    objects = tuple(ObjectAnnotation(oid, tuple(clicks), label=labels.get(oid, DEFAULT_CLASS))
                    for oid, clicks in groups.items())
    return CaseAnnotation(case_id, objects, geometry)
