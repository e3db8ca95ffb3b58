"""Seven-point annotations of many cases in one CSV table.

Columns (header row required, names case-insensitive, any order, extra columns ignored):

``case``, ``object``, ``role``, ``x``, ``y``, ``z``, ``units``
    required. ``role`` is ``fg``/``foreground`` or ``bg``/``background``.
``coordinate_system``
    optional, ``LPS`` (default when missing or empty) or ``RAS``; used by world rows.
``label``
    optional integer class of the object (default 1).

``units`` says what ``x, y, z`` are:

* ``voxel``: integer voxel **index in ITK order** ``(i, j, k) = (x, y, z)``, i.e.
  what ITK-SNAP/SimpleITK/Slicer show as the IJK index. They are stored in this
  package as ``(z, y, x)`` (numpy order), so row ``x=5, y=6, z=7`` is array
  element ``[7, 6, 5]``;
* ``world`` (or ``mm``): physical point in millimetres in ``coordinate_system``
  (LPS unless the row says RAS), mapped to the nearest voxel of the case's image
  with SimpleITK.

One row is one click; each case needs a reference image (its grid) to be read.
"""
from __future__ import annotations

import csv
import io
import logging
import math
import os
from typing import Dict, Iterable, List, Mapping, Optional, Tuple, Union

from pymic_paseg.annotation.errors import AnnotationError
from pymic_paseg.annotation.geometry import (COORDINATE_SYSTEMS, ImageGeometry, ImageLike,
                                             as_geometry, from_lps, to_lps)
from pymic_paseg.annotation.model import CaseAnnotation, Click, ObjectAnnotation, parse_role
from pymic_paseg.io_atomic import atomic_write_text

__all__ = ["read_csv_annotations", "read_csv_case", "write_csv_annotations",
           "REQUIRED_COLUMNS", "UNITS"]

logger = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("case", "object", "role", "x", "y", "z", "units")
OUTPUT_COLUMNS = REQUIRED_COLUMNS + ("coordinate_system", "label")
VOXEL, WORLD = "voxel", "world"
#: accepted spellings of ``units``.
UNITS = {"voxel": VOXEL, "world": WORLD, "mm": WORLD}
DEFAULT_LABEL = 1
#: how far a voxel coordinate may be from an integer (``"12.0"`` is fine).
INTEGER_TOLERANCE = 1e-6

Row = Dict[str, str]


def _rows_by_case(path: str) -> Dict[str, List[Tuple[int, Row]]]:
    """``case -> [(line number, row)]`` in file order; checks the header."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
            missing = [c for c in REQUIRED_COLUMNS if c not in header]
            if missing:
                raise AnnotationError(f"missing column(s) {missing}; required: "
                                      f"{list(REQUIRED_COLUMNS)}. Got: {header}", path=path)
            reader.fieldnames = header
            out: Dict[str, List[Tuple[int, Row]]] = {}
            for row in reader:
                clean = {k: (v or "").strip() for k, v in row.items() if k}
                out.setdefault(clean["case"], []).append((reader.line_num, clean))
    except OSError as err:
        raise AnnotationError(f"cannot read the CSV file: {err}", path=path) from None
    return out


def _number(row: Row, column: str) -> float:
    try:
        value = float(row[column])
    except ValueError:
        raise ValueError(f"{column}={row[column]!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{column}={row[column]!r} is not finite")
    return value


def _row_voxel(row: Row, geometry: ImageGeometry) -> Tuple[int, int, int]:
    xyz = [_number(row, c) for c in ("x", "y", "z")]
    units = UNITS.get(row["units"].lower())
    if units is None:
        raise ValueError(f"units={row['units']!r} is not one of {sorted(UNITS)}")
    if units == VOXEL:
        if any(abs(v - round(v)) > INTEGER_TOLERANCE for v in xyz):
            raise ValueError(f"voxel coordinates must be integers. Got: x,y,z={xyz}")
        return (int(round(xyz[2])), int(round(xyz[1])), int(round(xyz[0])))
    return geometry.world_to_voxel(to_lps(xyz, row.get("coordinate_system") or "LPS"))


def _row_click(line: int, row: Row, geometry: ImageGeometry,
               path: str) -> Tuple[str, int, Click]:
    """``(object id, label, click)`` of one row."""
    role = parse_role(row["role"])
    try:
        if role is None:
            raise ValueError(f"role={row['role']!r} is not fg/foreground or bg/background")
        label = int(row.get("label") or DEFAULT_LABEL)
        voxel = _row_voxel(row, geometry)
    except ValueError as err:
        raise AnnotationError(f"line {line}: {err}", path=path, case_id=row["case"],
                              object_id=row["object"]) from None
    return row["object"], label, Click(voxel, role, f"line {line} of {os.path.basename(path)}")


def _build_case(case_id: str, rows: List[Tuple[int, Row]], reference: ImageLike,
                path: str) -> CaseAnnotation:
    geometry = as_geometry(reference)
    clicks: Dict[str, List[Click]] = {}
    labels: Dict[str, int] = {}
    for line, row in rows:
        object_id, label, click = _row_click(line, row, geometry, path)
        if labels.setdefault(object_id, label) != label:
            raise AnnotationError(f"line {line}: label {label} differs from the object's "
                                  f"earlier label {labels[object_id]}", path=path,
                                  case_id=case_id, object_id=object_id)
        clicks.setdefault(object_id, []).append(click)
    objects = tuple(ObjectAnnotation(oid, tuple(c), label=labels[oid]) for oid, c in clicks.items())
    return CaseAnnotation(case_id, objects, geometry)


def read_csv_annotations(path: Union[str, os.PathLike],
                         references: Mapping[str, ImageLike]) -> Dict[str, CaseAnnotation]:
    """Read every case of a CSV file.

    Args:
        path: the CSV file.
        references: ``case -> image`` (path, SimpleITK image or geometry) giving each
            case's grid. Every case in the file needs one.

    Returns:
        ``case -> CaseAnnotation`` in the order the cases first appear.
    """
    path = os.fspath(path)
    by_case = _rows_by_case(path)
    lacking = [c for c in by_case if c not in references]
    if lacking:
        raise AnnotationError(f"no reference image for case(s) {lacking}; give one per case "
                              "in `references`", path=path)
    return {case: _build_case(case, rows, references[case], path)
            for case, rows in by_case.items()}


def read_csv_case(path: Union[str, os.PathLike], reference: ImageLike,
                  case_id: Optional[str] = None) -> CaseAnnotation:
    """Read one case of a CSV file (``case_id`` may be omitted if the file holds one case)."""
    path = os.fspath(path)
    by_case = _rows_by_case(path)
    if case_id is None:
        if len(by_case) != 1:
            raise AnnotationError(f"the file holds {len(by_case)} cases {list(by_case)}; "
                                  "say which with case_id", path=path)
        case_id = next(iter(by_case))
    if case_id not in by_case:
        raise AnnotationError(f"no rows for this case; cases in the file: {list(by_case)}",
                              path=path, case_id=case_id)
    return _build_case(case_id, by_case[case_id], reference, path)


def _case_rows(case: CaseAnnotation, units: str, system: str) -> Iterable[List[object]]:
    for obj in case.objects:
        for click in obj.clicks:
            if units == VOXEL:
                xyz: Tuple[float, ...] = tuple(reversed(click.voxel))
            else:
                xyz = from_lps(case.geometry.voxel_to_world(click.voxel), system)
            yield [case.case_id, obj.object_id, click.role, *xyz, units,
                   system if units == WORLD else "", obj.label]


def write_csv_annotations(cases: Iterable[CaseAnnotation], path: Union[str, os.PathLike], *,
                          units: str = VOXEL, coordinate_system: str = "LPS") -> None:
    """Write cases to one CSV file (atomic write), in voxel or world coordinates."""
    units = UNITS.get(units.lower(), units)
    system = coordinate_system.upper()
    if units not in (VOXEL, WORLD) or system not in COORDINATE_SYSTEMS:
        raise ValueError(f"units must be 'voxel' or 'world' and coordinate_system one of "
                         f"{COORDINATE_SYSTEMS}. Got: {units!r}, {coordinate_system!r}")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(OUTPUT_COLUMNS)
    n_cases = 0
    for case in cases:
        n_cases += 1
        writer.writerows(_case_rows(case, units, system))
    atomic_write_text(path, buffer.getvalue())
    logger.info("wrote %d case(s) to %s", n_cases, path)
