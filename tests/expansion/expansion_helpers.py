"""Helpers for the seed-expansion tests: bright cubes in a dark, slightly noisy volume.

(A uniquely named module, not conftest.py, so test files can import it by name.)
"""
from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np

SHAPE = (16, 24, 28)
NOISE = 0.05
CUBE_CONTRAST = 1.0
#: voxels between a cube and the box its six background clicks span
BOX_MARGIN = 3


def add_cube(image: np.ndarray, truth: np.ndarray, lo: Sequence[int], size: int):
    """Brighten a cube of side ``size`` at ``lo``; return its centre click and its box."""
    cube = tuple(slice(a, a + size) for a in lo)
    image[cube] += CUBE_CONTRAST
    truth[cube] = True
    click = tuple(a + size // 2 for a in lo)
    box = (tuple(max(a - BOX_MARGIN, 0) for a in lo),
           tuple(min(a + size - 1 + BOX_MARGIN, n - 1) for a, n in zip(lo, image.shape)))
    return click, box


def cube_case(seed: int = 0) -> Tuple[np.ndarray, np.ndarray, tuple, tuple]:
    """Image, ground truth, click and box of one 8-voxel cube."""
    rng = np.random.default_rng(seed)
    image = rng.normal(0.0, NOISE, SHAPE).astype(np.float32)
    truth = np.zeros(SHAPE, bool)
    click, box = add_cube(image, truth, (4, 8, 10), 8)
    return image, truth, click, box


def inside_box(shape: Sequence[int], box) -> np.ndarray:
    mask = np.zeros(shape, bool)
    mask[tuple(slice(a, b + 1) for a, b in zip(*box))] = True
    return mask
