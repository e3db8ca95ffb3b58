"""The dataset's catalogue: per-case records, PyMIC CSV files and ``dataset.json``.

PyMIC's ``NiftyDataset`` reads ``root_dir + '/' + <csv path>``, so every path in
the CSV files is relative to the dataset root, with forward slashes.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

from pymic_paseg.io_utils import atomic_write_text

__all__ = ["CaseRecord", "SPLITS", "ALL_CSV", "MANIFEST", "write_csv_files", "write_manifest"]

#: split names, in case-index order.
SPLITS = ("train", "valid", "test")
#: name (without ``.csv``) of the CSV listing every case.
ALL_CSV = "all"
#: manifest file name; written last, so its presence means the build finished.
MANIFEST = "dataset.json"
#: columns of the per-split CSV files, in PyMIC's order (inputs first, label last).
PYMIC_COLUMNS = ("image", "label")
#: name (without ``.csv``) of the training images without labels.
TRAIN_IMAGES = "train_images"
#: name (without ``.csv``) of the test-split pair list for ``pymic_eval_seg``.
EVAL_PAIRS = "test_eval_pairs"
EVAL_COLUMNS = ("ground_truth", "segmentation")
#: columns of ``all.csv``.
ALL_COLUMNS = ("case", "image", "label", "mask", "split")
_JSON_INDENT = 2


@dataclass(frozen=True)
class CaseRecord:
    """What the catalogue knows about one case.

    Attributes:
        case: case name, e.g. ``case_000``.
        index: case index (its random stream is ``[seed, index]``).
        split: ``train``, ``valid`` or ``test``.
        image, label, mask: paths relative to the dataset root (forward slashes).
        lesion_voxels, lesion_volume_ml: lesion size.
        crop_start_zyx: template voxel of the crop's first voxel.
        origin_xyz: world position (mm, LPS) of the crop's first voxel.
        lesion_offset_vox: lesion centroid minus crop centre, ``(z, y, x)`` voxels.
    """

    case: str
    index: int
    split: str
    image: str
    label: str
    mask: str
    lesion_voxels: int
    lesion_volume_ml: float
    crop_start_zyx: Tuple[int, int, int]
    origin_xyz: Tuple[float, float, float]
    lesion_offset_vox: Tuple[float, float, float]


def _csv_text(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue()


def write_csv_files(root: Path, records: Sequence[CaseRecord]) -> Dict[str, Path]:
    """Write ``train.csv``, ``valid.csv``, ``test.csv`` and ``all.csv``; return their paths.

    A split with no case gets a CSV with the header only.
    """
    paths: Dict[str, Path] = {}
    for split in SPLITS:
        rows = [(r.image, r.label) for r in records if r.split == split]
        paths[split] = root / f"{split}.csv"
        atomic_write_text(paths[split], _csv_text(PYMIC_COLUMNS, rows))
    # images only, for methods whose labels come from elsewhere (SCM's pseudo labels)
    paths[TRAIN_IMAGES] = root / f"{TRAIN_IMAGES}.csv"
    atomic_write_text(paths[TRAIN_IMAGES], _csv_text(
        ("image",), [(r.image,) for r in records if r.split == "train"]))
    # PyMIC's pymic_eval_seg pairs ground truth (relative to the dataset root) with the
    # prediction file, which PyMIC's inference names after the image's base name
    pairs = [(r.label, Path(r.image).name) for r in records if r.split == "test"]
    paths[EVAL_PAIRS] = root / f"{EVAL_PAIRS}.csv"
    atomic_write_text(paths[EVAL_PAIRS], _csv_text(EVAL_COLUMNS, pairs))
    rows_all = [(r.case, r.image, r.label, r.mask, r.split) for r in records]
    paths[ALL_CSV] = root / f"{ALL_CSV}.csv"
    atomic_write_text(paths[ALL_CSV], _csv_text(ALL_COLUMNS, rows_all))
    return paths


def write_manifest(root: Path, header: Dict[str, object],
                   records: Sequence[CaseRecord]) -> Path:
    """Write ``dataset.json``: ``header`` plus the list of case records."""
    cases: List[Dict[str, object]] = [asdict(r) for r in records]
    document = dict(header)
    document["cases"] = cases
    path = root / MANIFEST
    atomic_write_text(path, json.dumps(document, indent=_JSON_INDENT) + "\n")
    return path
