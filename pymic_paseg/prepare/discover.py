"""Find a user's images, click files and dense labels, and pair them by case name.

* images: every ``*.nii.gz``, ``*.nii``, ``*.mha``, ``*.nrrd`` file of the images folder
  (not its sub-folders); the case name is the file name up to its first dot;
* clicks: a CSV file of clicks (column ``case`` names the case), or a folder whose
  ``*.mrk.json``, ``*.fcsv`` and click-map files belong to the case whose name they start
  with (``<case>*.mrk.json``; the longest case name wins, see
  :func:`~pymic_paseg.annotation.case_files.files_by_case`); image files of the images
  folder are never taken for click maps;
* labels: one file per case in the labels folder, matched the same way.
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from pymic_paseg.annotation.case_files import files_by_case
from pymic_paseg.annotation.model import case_id_from_path

__all__ = ["IMAGE_ENDINGS", "CLICK_ENDINGS", "Inputs", "discover"]

IMAGE_ENDINGS = (".nii.gz", ".nii", ".mha", ".nrrd")
CLICK_ENDINGS = (".mrk.json", ".fcsv") + IMAGE_ENDINGS


class InputError(ValueError):
    """The input folders or files cannot be paired; the message names them."""


@dataclass
class Inputs:
    """What was found: ``images`` and ``labels`` (case -> file), ``clicks`` (case -> files,
    or ``clicks_table`` for one CSV), and the files that matched no case."""

    images: Dict[str, str]
    clicks: Dict[str, List[str]] = field(default_factory=dict)
    clicks_table: Optional[str] = None
    labels: Dict[str, str] = field(default_factory=dict)
    unmatched: List[str] = field(default_factory=list)


def image_ending(path: str) -> str:
    name = path.lower()
    return next(e for e in IMAGE_ENDINGS if name.endswith(e))


def _files(folder: Path, endings) -> List[str]:
    return sorted(str(p) for p in folder.iterdir()
                  if p.is_file() and p.name.lower().endswith(endings))


def _images(folder: Path) -> Dict[str, str]:
    if not folder.is_dir():
        raise InputError(f"images folder not found: {folder}")
    images: Dict[str, str] = {}
    for path in _files(folder, IMAGE_ENDINGS):
        case = case_id_from_path(path)
        if case in images:
            raise InputError(f"two images of case {case!r}: {images[case]} and {path}; "
                             "case names are file names up to their first dot")
        images[case] = path
    if not images:
        raise InputError(f"no image ({', '.join(IMAGE_ENDINGS)}) in {folder}")
    return images


def _table_cases(path: Path) -> List[str]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = {(h or "").strip().lower(): h for h in reader.fieldnames or []}
        if "case" not in header:
            raise InputError(f"clicks CSV {path} has no 'case' column")
        return sorted({(row[header["case"]] or "").strip() for row in reader})


def discover(images: Path, clicks: Path, labels: Optional[Path] = None) -> Inputs:
    """Pair images with clicks (and labels) by case name (see the module docstring)."""
    found = Inputs(_images(Path(images)))
    clicks = Path(clicks)
    if clicks.is_file() and clicks.name.lower().endswith(".csv"):
        found.clicks_table = str(clicks)
        found.clicks = {c: [str(clicks)] for c in _table_cases(clicks) if c in found.images}
        found.unmatched += [f"{clicks} rows of case {c!r}" for c in _table_cases(clicks)
                            if c not in found.images]
    elif clicks.is_dir():
        image_files = {os.path.realpath(p) for p in found.images.values()}
        files = [p for p in _files(clicks, CLICK_ENDINGS) if os.path.realpath(p) not in image_files]
        found.clicks, unmatched = files_by_case(files, found.images)
        found.unmatched += unmatched
    else:
        raise InputError(f"--clicks {clicks}: expected a folder of click files (.mrk.json, "
                         ".fcsv, click maps) or one clicks CSV")
    if labels is not None:
        if not Path(labels).is_dir():
            raise InputError(f"labels folder not found: {labels}")
        by_case, unmatched = files_by_case(_files(Path(labels), IMAGE_ENDINGS), found.images)
        found.unmatched += unmatched
        for case, paths in by_case.items():
            if len(paths) > 1:
                raise InputError(f"case {case!r} has {len(paths)} label files: {paths}")
            found.labels[case] = paths[0]
    return found
