"""Quality of an expanded partial label against the dense ground truth (PA-Seg Fig. 4).

For the expanded foreground Omega_F (labels ``1 .. class_num - 1``) against the
ground-truth foreground (``ground_truth != 0``), and for the background Omega_B
(label 0) against the ground-truth background, with TP, FP, FN voxel counts::

    precision = TP / (TP + FP)     recall = TP / (TP + FN)     Dice = 2 TP / (2 TP + FP + FN)

With several classes (``class_num > 2``) the same scores are also given per class
``k`` (``fg{k}_precision``, ``fg{k}_recall``, ``fg{k}_dice``: ``partial_label == k``
against ``ground_truth == k``), and ``conflict_fraction``: the share of voxels that
objects of two classes claimed (left unlabeled) when the expansion says how many.

Note:
    An empty denominator gives 0.0, the convention of ``medpy.metric.binary`` with
    which PA-Seg's ``generate_geodesic_labels.py`` computed its figures.
"""
from __future__ import annotations

from typing import Dict, Optional

import numpy as np

__all__ = ["expansion_metrics"]


def _scores(predicted: np.ndarray, truth: np.ndarray, prefix: str) -> Dict[str, float]:
    tp = int(np.count_nonzero(predicted & truth))
    n_predicted, n_truth = int(np.count_nonzero(predicted)), int(np.count_nonzero(truth))

    def ratio(numerator: int, denominator: int) -> float:
        return numerator / denominator if denominator else 0.0

    return {f"{prefix}_precision": ratio(tp, n_predicted),
            f"{prefix}_recall": ratio(tp, n_truth),
            f"{prefix}_dice": ratio(2 * tp, n_predicted + n_truth)}


def expansion_metrics(partial_label: np.ndarray, ground_truth: np.ndarray,
                      class_num: int, conflicts: Optional[int] = None) -> Dict[str, float]:
    """Precision, recall and Dice of Omega_F and of Omega_B, and the share of each region.

    Args:
        partial_label: ``(D, H, W)`` map from :func:`~pymic_paseg.expansion.expand_seeds`:
            0 background, ``1 .. class_num - 1`` foreground, ``class_num`` unlabeled.
        ground_truth: ``(D, H, W)`` dense label, non-zero = foreground.
        class_num: the unlabeled value of ``partial_label``.
        conflicts: voxels claimed by two classes (several classes only).

    Returns:
        ``fg_precision, fg_recall, fg_dice, bg_precision, bg_recall, bg_dice`` and
        ``fg_fraction, bg_fraction, unlabeled_fraction`` (shares of all voxels); with
        ``class_num > 2`` also the per-class scores and ``conflict_fraction``.
    """
    partial_label, ground_truth = np.asarray(partial_label), np.asarray(ground_truth)
    if partial_label.shape != ground_truth.shape:
        raise ValueError(f"partial_label and ground_truth must have the same shape. "
                         f"Got: {partial_label.shape} and {ground_truth.shape}")
    if partial_label.size and (partial_label.min() < 0 or partial_label.max() > class_num):
        raise ValueError(f"partial_label values must be in [0, class_num={class_num}]. Got: "
                         f"[{partial_label.min()}, {partial_label.max()}]")
    foreground = (partial_label > 0) & (partial_label < class_num)
    background = partial_label == 0
    truth = ground_truth != 0
    metrics = _scores(foreground, truth, "fg")
    metrics.update(_scores(background, ~truth, "bg"))
    total = max(partial_label.size, 1)
    metrics.update(fg_fraction=np.count_nonzero(foreground) / total,
                   bg_fraction=np.count_nonzero(background) / total,
                   unlabeled_fraction=np.count_nonzero(partial_label == class_num) / total)
    if class_num > 2:
        for k in range(1, class_num):
            metrics.update(_scores(partial_label == k, ground_truth == k, f"fg{k}"))
        metrics["conflict_fraction"] = (conflicts or 0) / total
    return metrics
