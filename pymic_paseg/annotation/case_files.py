"""One case's clicks from several files (Slicer saves one file per point list).

:func:`read_case_files` reads every file with
:func:`~pymic_paseg.annotation.read.read_annotation` (any format: ``.mrk.json``,
``.fcsv``, click map, one-case CSV) and merges the objects: objects with the same id
in different files are one object (their clicks are joined, their classes must
agree), exactly as :func:`~pymic_paseg.annotation.io_slicer.read_slicer_markups`
merges a list of Slicer files. :func:`files_by_case` matches file names to case
names (``<case>*.mrk.json``), giving each file to the longest case name it starts
with, so ``case_1`` and ``case_10`` do not steal each other's files.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

from pymic_paseg.annotation.errors import AnnotationError
from pymic_paseg.annotation.geometry import ImageLike, as_geometry
from pymic_paseg.annotation.model import CaseAnnotation, Click, ObjectAnnotation
from pymic_paseg.annotation.read import read_annotation

__all__ = ["read_case_files", "merge_cases", "files_by_case"]

PathLike = Union[str, os.PathLike]


def merge_cases(case_id: str, parts: Sequence[CaseAnnotation]) -> CaseAnnotation:
    """One case from the annotations of several files of it (same grid)."""
    if not parts:
        raise AnnotationError("no click file", case_id=case_id)
    clicks: Dict[str, List[Click]] = {}
    labels: Dict[str, Tuple[int, str]] = {}
    for part in parts:
        for obj in part.objects:
            where = obj.clicks[0].source if obj.clicks else part.case_id
            first = labels.setdefault(obj.object_id, (obj.label, where))
            if first[0] != obj.label:
                raise AnnotationError(f"class {obj.label} ({where}) differs from class "
                                      f"{first[0]} of the same object in {first[1]}",
                                      case_id=case_id, object_id=obj.object_id)
            clicks.setdefault(obj.object_id, []).extend(obj.clicks)
    objects = tuple(ObjectAnnotation(oid, tuple(c), label=labels[oid][0])
                    for oid, c in clicks.items())
    return CaseAnnotation(case_id, objects, parts[0].geometry)


def read_case_files(paths: Sequence[PathLike], reference: ImageLike,
                    case_id: str) -> CaseAnnotation:
    """Read and merge the click files of one case (see the module docstring)."""
    geometry = as_geometry(reference)
    parts = []
    for path in sorted(os.fspath(p) for p in paths):
        try:
            parts.append(read_annotation(path, geometry, case_id=case_id))
        except AnnotationError as err:
            raise err.with_context(case_id=case_id) from None
        except (ValueError, OSError, RuntimeError) as err:
            raise AnnotationError(str(err), path=path, case_id=case_id) from None
    return merge_cases(case_id, parts)


def files_by_case(files: Iterable[PathLike], cases: Iterable[str]
                  ) -> Tuple[Dict[str, List[str]], List[str]]:
    """``(case -> its files, files matching no case)``; a file belongs to the longest
    case name that its name starts with."""
    names = sorted(set(cases), key=len, reverse=True)
    out: Dict[str, List[str]] = {}
    unmatched: List[str] = []
    for path in sorted(os.fspath(f) for f in files):
        name = Path(path).name
        owner: Optional[str] = next((c for c in names if name.startswith(c)), None)
        if owner is None:
            unmatched.append(path)
        else:
            out.setdefault(owner, []).append(path)
    return out, unmatched
