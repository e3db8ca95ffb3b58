"""What any threshold of one score map could reach: the precision/recall frontier of its level sets.

An expansion rule that keeps ``{score < t}`` (a geodesic ball, a distance ratio) can at
best pick the threshold ``t`` that suits each object. Over all thresholds, the level
sets of ``score`` are the nested prefixes of the voxels sorted by score; this module
gives, for one object, the best precision among the prefixes whose recall reaches a
target, and the best recall among those whose precision reaches a target. When even
these per-object oracle thresholds miss a target, no rule thresholding that map can
meet it (``benchmarks/expansion_frontier.py``).
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

__all__ = ["level_set_frontier"]


def level_set_frontier(score: np.ndarray, truth: np.ndarray, region: np.ndarray,
                       recall_target: float, precision_target: float,
                       truth_total: int = -1) -> Tuple[float, float]:
    """``(best precision at recall >= recall_target, best recall at precision >=
    precision_target)`` over the level sets ``{score <= t} & region``.

    Args:
        score: lower is more foreground (any real array).
        truth: bool, the true object, same shape.
        region: bool, the voxels a level set may contain (e.g. Omega_M in the box).
        recall_target, precision_target: in ``[0, 1]``.
        truth_total: the object's size for the recall (default: ``truth.sum()``);
            pass the full object's size when ``truth`` is a crop.

    Returns:
        The two figures; ``nan`` for the precision when no level set reaches the recall
        target, ``0.0`` for the recall when none reaches the precision target. Ties in
        ``score`` are broken by array order (a finer level set than any threshold gives),
        so the figures are an upper bound for thresholds of ``score``.
    """
    if score.shape != truth.shape or truth.shape != region.shape:
        raise ValueError(f"score, truth and region must have one shape. Got: {score.shape}, "
                         f"{truth.shape}, {region.shape}")
    total = int(truth.sum()) if truth_total < 0 else int(truth_total)
    if total <= 0:
        raise ValueError("the object is empty: no recall can be computed")
    order = np.argsort(score[region], kind="stable")
    hits = np.cumsum(truth[region][order])
    size = np.arange(1, hits.size + 1)
    precision = hits / size
    recall = hits / total
    reach = np.nonzero(recall >= recall_target)[0]
    best_precision = float(precision[reach].max()) if reach.size else float("nan")
    good = precision >= precision_target
    best_recall = float(recall[good].max()) if good.any() else 0.0
    return best_precision, best_recall
