"""Where a lesion goes in the template, and where the crop around it starts.

A lesion centre is drawn uniformly among brain-tissue voxels deep enough for
the whole lesion (plus a margin) to stay inside the brain. The crop start is
then drawn uniformly among the positions that keep the lesion at least a
margin away from every crop face, so the lesion sits at a random offset from
the crop centre (as in the PA-Seg paper's VS preprocessing), not always centred.
"""
from __future__ import annotations

import logging
from typing import Optional, Sequence, Tuple

import numpy as np

from pymic_paseg.data.template import BrainTemplate

__all__ = ["LesionSites", "choose_crop_start", "Index3"]

logger = logging.getLogger(__name__)

Index3 = Tuple[int, int, int]


class LesionSites:
    """Candidate lesion centres: brain voxels with enough tissue, sorted by depth.

    Args:
        template: the brain template.
        min_tissue_probability: least GM + WM probability at the centre.
    """

    def __init__(self, template: BrainTemplate, min_tissue_probability: float) -> None:
        eligible = template.brain & (template.tissue >= min_tissue_probability)
        flat = np.flatnonzero(eligible)
        depth = template.depth_mm.ravel()[flat]
        order = np.argsort(-depth, kind="stable")
        self._flat = flat[order]
        self._depth = depth[order]
        self._shape = template.shape
        logger.debug("%d candidate lesion centres", self._flat.size)

    @property
    def max_depth_mm(self) -> float:
        return float(self._depth[0]) if self._depth.size else 0.0

    def sample(self, rng: np.random.Generator, min_depth_mm: float) -> Optional[Index3]:
        """A random candidate at least ``min_depth_mm`` deep, or None if there is none."""
        # self._depth is sorted in decreasing order: the eligible ones are a prefix.
        count = int(np.searchsorted(-self._depth, -min_depth_mm, side="right"))
        if count == 0:
            return None
        flat = self._flat[int(rng.integers(count))]
        return tuple(int(i) for i in np.unravel_index(flat, self._shape))  # type: ignore


def choose_crop_start(rng: np.random.Generator, lesion_lo: Sequence[int],
                      lesion_hi: Sequence[int], crop_size: Sequence[int],
                      margin: int) -> Optional[Index3]:
    """Random crop start keeping voxels ``[lesion_lo, lesion_hi)`` ``margin`` from the faces.

    Returns None when the lesion (plus margins) is larger than the crop.
    """
    start = []
    for lo, hi, size in zip(lesion_lo, lesion_hi, crop_size):
        first, last = hi + margin - size, lo - margin
        if first > last:
            return None
        start.append(int(rng.integers(first, last + 1)))
    return tuple(start)  # type: ignore[return-value]
