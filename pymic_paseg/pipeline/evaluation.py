"""Scores of a model's predictions: PyMIC's own Dice and ASSD, per test case and class.

The scores come from ``pymic.util.evaluation_seg.get_class_evaluation_score`` (the code
behind ``pymic_eval_seg``) through :func:`pymic_paseg.evaluation.evaluate_case`, once per
foreground class ``c`` of the project: the binary masks ``prediction == c`` against
``ground truth == c``. PyMIC gives an
ASSD of 20 when exactly one of the two masks is empty, and 0 when both are.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Dict, List, Mapping, Tuple

import numpy as np

__all__ = ["METRICS", "load_volume", "read_pairs", "evaluate_predictions", "case_name"]

METRICS = ("dice", "assd")


def load_volume(path: Path) -> Tuple[np.ndarray, List[float]]:
    """The image as a (z, y, x) array and its spacing, read by PyMIC."""
    from pymic.io.image_read_write import load_image_as_nd_array
    if not Path(path).is_file():
        raise FileNotFoundError(f"image not found: {path}")
    data = load_image_as_nd_array(str(path))
    array = np.asarray(data["data_array"])
    if array.ndim == 4 and array.shape[0] == 1:  # PyMIC adds a channel axis
        array = array[0]
    return array, data["spacing"]


def read_pairs(path: Path) -> List[Dict[str, str]]:
    """PyMIC's evaluation pairs CSV (``ground_truth``, ``segmentation``)."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    missing = {"ground_truth", "segmentation"} - set(rows[0] if rows else {})
    if not rows or missing:
        raise ValueError(f"{path}: needs rows with columns ground_truth, segmentation "
                         f"(missing: {sorted(missing) or 'every row'})")
    return rows


def case_name(file_name: str) -> str:
    """``case_032.nii.gz`` -> ``case_032``."""
    return Path(file_name).name.split(".")[0]


def evaluate_predictions(pairs_csv: Path, ground_truth_folder: Path, prediction_dir: Path,
                         classes: Mapping[int, str]) -> List[Dict[str, object]]:
    """One row per test case and class: ``case, class, class_name, dice, assd``
    (:func:`pymic_paseg.evaluation.evaluate_case`: PyMIC's scores, label values checked)."""
    from pymic_paseg.evaluation import evaluate_case
    rows: List[Dict[str, object]] = []
    for pair in read_pairs(pairs_csv):
        truth_path = ground_truth_folder / pair["ground_truth"]
        seg_path = prediction_dir / pair["segmentation"]
        truth, spacing = load_volume(truth_path)
        seg, _ = load_volume(seg_path)
        for row in evaluate_case(seg, truth, spacing, classes, metrics=METRICS,
                                 names=(str(seg_path), str(truth_path))):
            rows.append({"case": case_name(pair["segmentation"]), **row})
    return rows
