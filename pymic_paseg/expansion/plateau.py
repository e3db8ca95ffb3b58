"""The most stable threshold of a score map: where its level sets stop growing.

Growing a region ``{score < t}`` by raising ``t``, the region's volume grows steadily
while the boundary crosses a homogeneous area, and stalls where the boundary sits on
an edge the score respects (for a geodesic distance ratio: a contrast edge all round
the object). The threshold where the relative volume change is smallest, as in
maximally stable extremal regions (Matas et al., BMVC 2002), marks that edge. When
even the most stable threshold changes the volume a lot, there is no edge to stop at.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

__all__ = ["most_stable_threshold"]


def most_stable_threshold(score: np.ndarray, region: np.ndarray, low: float, high: float,
                          steps: int, window: float, min_voxels: int) -> Tuple[float, float]:
    """``(t, change)``: the threshold in ``[low, high]`` whose level set is most stable.

    For each ``t`` of ``steps`` thresholds spaced geometrically from ``low`` to ``high``,
    ``change(t) = (|{score < t (1 + window)}| - |{score < t (1 - window)}|) /
    |{score < t}|``, the level sets taken within ``region``. Thresholds whose level set
    has fewer than ``min_voxels`` voxels are skipped; among equal changes the lowest
    threshold wins.

    Args:
        score: real array; lower is more foreground.
        region: bool, same shape: the voxels the level sets may hold.
        low, high: ``0 < low <= high``.
        steps: number of thresholds (>= 1).
        window: relative half-width of the volume-change window, in ``(0, 1)``.
        min_voxels: least level-set size considered.

    Returns:
        The threshold and its change; ``(nan, inf)`` when no level set has
        ``min_voxels`` voxels.
    """
    if score.shape != region.shape:
        raise ValueError(f"score and region must have one shape. Got: {score.shape}, "
                         f"{region.shape}")
    if not (0 < low <= high and steps >= 1 and 0 < window < 1):
        raise ValueError(f"need 0 < low <= high, steps >= 1, 0 < window < 1. Got: low={low}, "
                         f"high={high}, steps={steps}, window={window}")
    values = np.sort(score[region], kind="stable")
    grid = np.geomspace(low, high, steps)
    size = np.searchsorted(values, grid, side="left")
    grown = np.searchsorted(values, grid * (1.0 + window), side="left")
    shrunk = np.searchsorted(values, grid * (1.0 - window), side="left")
    change = (grown - shrunk) / np.maximum(size, 1)
    change = np.where(size >= min_voxels, change, np.inf)
    best = int(np.argmin(change))
    if not np.isfinite(change[best]):
        return float("nan"), float("inf")
    return float(grid[best]), float(change[best])
