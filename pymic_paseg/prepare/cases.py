"""Check each case of a project: its image, its dense label, its clicks.

Every problem becomes a :class:`BadCase` row (case, split, step, problem) instead of
an exception, so ``prepare`` finishes the good cases and lists the bad ones.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np
import SimpleITK as sitk

from pymic_paseg.annotation import AnnotationError, CaseAnnotation, ImageGeometry
from pymic_paseg.annotation.case_files import read_case_files
from pymic_paseg.annotation.io_csv import read_csv_case
from pymic_paseg.annotation.validate import find_problems, warn_coincident_clicks
from pymic_paseg.io_integrity import check_image_file

__all__ = ["BadCase", "ImageInfo", "check_image", "check_label", "read_clicks",
           "click_problems", "apply_object_classes", "read_object_classes"]


@dataclass(frozen=True)
class BadCase:
    """One problem of one case; ``step`` is image, label, clicks, validation or expansion."""

    case: str
    split: str
    step: str
    problem: str


@dataclass(frozen=True)
class ImageInfo:
    geometry: ImageGeometry
    minimum: float


def _read_scalar_3d(path: str, what: str) -> sitk.Image:
    check_image_file(path)
    try:
        image = sitk.ReadImage(path)
    except RuntimeError as err:
        raise ValueError(f"{path}: unreadable {what} ({' '.join(str(err).split())[-200:]})") \
            from None
    if image.GetDimension() != 3 or image.GetNumberOfComponentsPerPixel() != 1:
        raise ValueError(f"{path}: the {what} must be a 3D scalar image. Got: "
                         f"{image.GetDimension()}D, {image.GetNumberOfComponentsPerPixel()} "
                         "component(s)")
    return image


def check_image(path: str) -> ImageInfo:
    """Grid and minimum voxel of a readable, complete, finite 3D scalar image."""
    image = _read_scalar_3d(path, "image")
    minimum = float(sitk.GetArrayViewFromImage(image).min())
    return ImageInfo(ImageGeometry.from_image(image), minimum)


def check_label(path: str, geometry: ImageGeometry) -> int:
    """The largest class of a dense label on the image's grid (integers >= 0)."""
    image = _read_scalar_3d(path, "label")
    diffs = ImageGeometry.from_image(image).mismatches(geometry)
    if diffs:
        raise ValueError(f"{path}: the label's grid does not match the image's (label != "
                         "image): " + "; ".join(diffs))
    array = sitk.GetArrayViewFromImage(image)
    if array.min() < 0 or not np.array_equal(array, np.round(array)):
        raise ValueError(f"{path}: a dense label must hold integers >= 0 (0 background)")
    return int(array.max())


def read_clicks(case: str, files: List[str], geometry: ImageGeometry,
                table: Optional[str]) -> CaseAnnotation:
    """The case's clicks from its files (merged) or from the clicks CSV ``table``."""
    if table is not None:
        return read_csv_case(table, geometry, case_id=case)
    return read_case_files(files, geometry, case)


def read_object_classes(path: str) -> Dict[Tuple[str, str], int]:
    """``(case, object) -> class`` from a CSV with columns ``case,object,label``."""
    import csv
    out: Dict[Tuple[str, str], int] = {}
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = {(h or "").strip().lower(): h for h in reader.fieldnames or []}
        missing = [c for c in ("case", "object", "label") if c not in header]
        if missing:
            raise ValueError(f"--object-classes {path}: missing column(s) {missing}")
        for line, row in enumerate(reader, start=2):
            text = (row[header["label"]] or "").strip()
            if not text.isdigit() or int(text) < 1:
                raise ValueError(f"--object-classes {path} line {line}: label {text!r} must be "
                                 "an integer >= 1")
            out[(row[header["case"]].strip(), row[header["object"]].strip())] = int(text)
    return out


def apply_object_classes(case: CaseAnnotation, table: Dict[Tuple[str, str], int]
                         ) -> CaseAnnotation:
    """``case`` with the classes of ``table`` (objects not listed keep theirs)."""
    from dataclasses import replace
    objects = tuple(replace(o, label=table.get((case.case_id, o.object_id), o.label))
                    for o in case.objects)
    return replace(case, objects=objects)


def click_problems(case: CaseAnnotation, geometry: ImageGeometry, image_path: str,
                   threshold: Optional[float]) -> List[str]:
    """Every protocol problem of ``case`` (the clicks fit Omega_M = image > threshold)."""
    mask = None
    if threshold is not None:
        mask = sitk.GetArrayFromImage(sitk.ReadImage(image_path)) > threshold
    problems = [str(p) for p in find_problems(case, geometry, mask)]
    if not problems:
        for obj in case.objects:
            warn_coincident_clicks(obj, case.case_id)
    return problems


def error_text(err: Exception) -> str:
    """One line for the bad-case table."""
    if isinstance(err, AnnotationError):
        return str(err)
    return " ".join(str(err).split()) or type(err).__name__
