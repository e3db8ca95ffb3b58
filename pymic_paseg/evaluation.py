"""Scores of a segmentation against its dense ground truth, one row per class.

The metrics are PyMIC's own (``pymic.util.evaluation_seg.get_class_evaluation_score``:
Dice; ASSD in mm, capped at 20 mm by PyMIC, 20 when exactly one of the two is empty,
0 when both are). Class ``k`` is ``segmentation == k`` against ``truth == k``, so a
binary task (classes ``{1: name}``) gives the same figures as PyMIC's ``label_list = [1]``.

* :func:`evaluate_case`: one case -> one row per class;
* :func:`case_summary`: those rows -> one flat dict (``dice``, ``assd``: the mean over
  classes; ``dice_<k>``, ``assd_<k>`` per class when there are several);
* :func:`check_label_values`: a label map holds only background and the known classes;
* :func:`boundary_errors`: where a binary segmentation's errors lie, near the true
  surface or away from it.

A ground truth or a segmentation with a value that is not a known class raises
``ValueError`` naming the file: it is never scored as if it were binary.
"""
from __future__ import annotations

from typing import Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

__all__ = ["METRICS", "Classes", "as_classes", "check_label_values", "evaluate_case",
           "case_summary", "boundary_errors"]

#: the metrics reported for each class.
METRICS = ("dice", "assd")

#: ``{class value: name}``, or just the class values.
Classes = Union[Mapping[int, str], Sequence[int]]


def as_classes(classes: Classes) -> Dict[int, str]:
    """``{k: name}`` from a mapping or a sequence of class values (names ``class_k``)."""
    if isinstance(classes, Mapping):
        out = {int(k): str(v) for k, v in classes.items()}
    else:
        out = {int(k): f"class_{int(k)}" for k in classes}
    if not out or any(k < 1 for k in out):
        raise ValueError(f"classes must be non-empty, each >= 1 (0 is background). Got: "
                         f"{sorted(out)}")
    return dict(sorted(out.items()))


def check_label_values(array: np.ndarray, classes: Classes, what: str) -> None:
    """``ValueError`` naming ``what`` (a file) if ``array`` has a value not 0 nor a class."""
    known = set(as_classes(classes)) | {0}
    values = {int(v) for v in np.unique(np.asarray(array))}
    unknown = sorted(values - known)
    if unknown:
        raise ValueError(f"{what}: label values {unknown} are not among the classes "
                         f"{sorted(known - {0})} (0 = background); a task with K classes is "
                         f"evaluated with classes 1..K ([network] class_num = K + 1)")


def evaluate_case(segmentation: np.ndarray, truth: np.ndarray,
                  spacing: Optional[Sequence[float]], classes: Classes, *,
                  metrics: Sequence[str] = METRICS, names: Sequence[str] = ("segmentation",
                                                                             "ground truth")
                  ) -> List[Dict[str, object]]:
    """One row ``{"class", "class_name", <metric>: value, ...}`` per class.

    Args:
        segmentation, truth: label maps of the same shape (0 background, ``k`` class ``k``).
        spacing: voxel size along the arrays' axes (PyMIC's order), or ``None`` (1 mm).
        classes: the foreground classes, ``{k: name}`` or ``[k, ...]``.
        metrics: PyMIC metric names (``dice``, ``assd``, ``hd95``, ``iou``, ...).
        names: what the two arrays are (file names), for messages.

    Raises:
        ValueError: shapes differ, or a label value is not a known class.
    """
    from pymic.util.evaluation_seg import get_class_evaluation_score
    classes = as_classes(classes)
    segmentation, truth = np.asarray(segmentation), np.asarray(truth)
    if segmentation.shape != truth.shape:
        raise ValueError(f"{names[0]} and {names[1]} must have the same shape. Got: "
                         f"{segmentation.shape} and {truth.shape}")
    check_label_values(truth, classes, names[1])
    check_label_values(segmentation, classes, names[0])
    spacing = None if spacing is None else [float(s) for s in spacing]
    rows = []
    for k, name in classes.items():
        row: Dict[str, object] = {"class": k, "class_name": name}
        for metric in metrics:
            row[metric] = float(get_class_evaluation_score(segmentation, truth, k, spacing,
                                                           metric))
        rows.append(row)
    return rows


def case_summary(rows: Sequence[Mapping[str, object]],
                 metrics: Sequence[str] = METRICS) -> Dict[str, float]:
    """The rows of one case as one dict: the mean over classes of each metric and, with
    several classes, ``<metric>_<k>`` per class (one class: just its values)."""
    out: Dict[str, float] = {m: float(np.mean([float(r[m]) for r in rows])) for m in metrics}
    if len(rows) > 1:
        for row in rows:
            out.update({f"{m}_{row['class']}": float(row[m]) for m in metrics})
    return out


def boundary_errors(segmentation: np.ndarray, truth: np.ndarray,
                    width: float = 1.0) -> Dict[str, int]:
    """Error voxels of a binary segmentation (``!= 0`` is foreground), and how many lie
    within ``width`` voxels of the true object: a false positive whose distance to the
    nearest true foreground voxel is ``<= width``, a false negative whose distance to the
    nearest true background voxel is ``<= width`` (Euclidean, in voxels).

    Returns ``{"fp", "fn", "fp_near", "fn_near", "true_volume", "volume"}``. An object
    whose errors are all "near" differs from the truth only in a shell ``width`` voxels
    thick around its surface (``docs/scm.md``, where the demo's errors are)."""
    from scipy import ndimage
    seg, gt = np.asarray(segmentation) != 0, np.asarray(truth) != 0
    if seg.shape != gt.shape:
        raise ValueError(f"segmentation and ground truth must have the same shape. Got: "
                         f"{seg.shape} and {gt.shape}")
    fp, fn = seg & ~gt, gt & ~seg
    # distance_transform_edt: distance of each non-zero voxel to the nearest zero voxel
    to_truth = ndimage.distance_transform_edt(~gt) if gt.any() else np.full(gt.shape, np.inf)
    to_background = ndimage.distance_transform_edt(gt) if (~gt).any() \
        else np.full(gt.shape, np.inf)
    return {"fp": int(fp.sum()), "fn": int(fn.sum()),
            "fp_near": int((fp & (to_truth <= width)).sum()),
            "fn_near": int((fn & (to_background <= width)).sum()),
            "true_volume": int(gt.sum()), "volume": int(seg.sum())}
