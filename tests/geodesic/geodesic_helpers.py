"""Helpers for the geodesic tests: small random volumes and deviation measures.

(A uniquely named module, not conftest.py, so test files can import it by name.)
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

#: small enough for Dijkstra to be instant, anisotropic on purpose
SMALL_SHAPE = (6, 9, 10)
ANISOTROPIC_SPACING = (2.5, 1.0, 0.7)


def random_case(seed: int, channels: int = 1,
                shape: Tuple[int, int, int] = SMALL_SHAPE) -> Tuple[np.ndarray, np.ndarray]:
    """A ``(C, D, H, W)`` uniform-noise image in [0, 1) and a mask with two seeds."""
    rng = np.random.default_rng(seed)
    image = rng.random((channels,) + shape).astype(np.float32)
    seeds = np.zeros(shape, bool)
    seeds[tuple(rng.integers(0, n) for n in shape)] = True
    seeds[0, shape[1] - 1, 0] = True
    return image, seeds


def relative_deviation(result: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``|result - reference| / reference`` over the non-seed voxels."""
    inside = reference > 0
    return np.abs(np.asarray(result, np.float64)[inside] - reference[inside]) / reference[inside]
