"""The epsilon sweep of PA-Seg Fig. 4: Omega_F's precision and recall for several epsilon.

Eq. 2 thresholds one geodesic distance map per object at ``epsilon * D_max``, so
the sweep computes each object's distance once and thresholds it at every
epsilon, instead of running :func:`~pymic_paseg.expansion.expand_seeds` once per
epsilon. Only Omega_F depends on epsilon; Omega_B and the boxes do not.

:func:`expand_seeds` does not return its distances, so :class:`ObjectDistances`
recomputes them with the same public pieces (``normalize_intensity``,
``geodesic_distance`` on each box, ``D_max`` over ``box & Omega_M``, the click
always foreground). :func:`sweep_case` checks the result at the run's own epsilon
against the label :func:`expand_seeds` gave; if they differ (the expansion
changed), it logs a warning and falls back to one full expansion per epsilon.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from pymic_paseg.annotation import CaseAnnotation, ImageGeometry
from pymic_paseg.expansion.case_expansion import torch_threads
from pymic_paseg.expansion.intensity import normalize_intensity
from pymic_paseg.expansion.metrics import expansion_metrics
from pymic_paseg.expansion.params import ExpansionParams
from pymic_paseg.expansion.seed_expansion import FOREGROUND, expand_seeds
from pymic_paseg.geodesic import geodesic_distance

__all__ = ["ObjectDistances", "object_distances", "sweep_case", "threshold_label"]

logger = logging.getLogger(__name__)

Slices = Tuple[slice, slice, slice]


@dataclass(frozen=True)
class ObjectDistances:
    """One object's geodesic distance inside its box.

    Attributes:
        box: the box as array slices.
        distance: ``D(i, i_f)`` over the box.
        seed: the foreground click, as a mask of the box.
        valid: Omega_M over the box.
        d_max: ``max D`` over ``box & Omega_M`` (finite values); ``None`` if there is none.
    """

    box: Slices
    distance: np.ndarray
    seed: np.ndarray
    valid: np.ndarray
    d_max: Optional[float]

    def foreground(self, epsilon: float) -> np.ndarray:
        """Omega_F of this object at ``epsilon`` (eq. 2, click included), as a box mask."""
        if self.d_max is None:
            return self.seed & self.valid
        return ((self.distance < epsilon * self.d_max) | self.seed) & self.valid


def object_distances(image: np.ndarray, case: CaseAnnotation, geometry: ImageGeometry,
                     params: ExpansionParams,
                     valid_mask: Optional[np.ndarray]) -> List[ObjectDistances]:
    """The geodesic distance of every object of a validated ``case``."""
    channels = np.asarray(image)
    channels = channels[None] if channels.ndim == len(geometry.shape_zyx) else channels
    valid = (np.ones(channels.shape[1:], bool) if valid_mask is None
             else np.asarray(valid_mask, bool))
    channels = normalize_intensity(channels, valid, params.intensity_normalization)
    out = []
    for obj in case.objects:
        lo, hi = obj.box()
        box = tuple(slice(a, b + 1) for a, b in zip(lo, hi))
        seed = np.zeros(valid[box].shape, bool)
        seed[tuple(c - a for c, a in zip(obj.foreground.voxel, lo))] = True
        distance = geodesic_distance(channels[(slice(None),) + box], seed, geometry.spacing_zyx,
                                     lamb=params.lamb, iterations=params.iterations,
                                     backend=params.backend, cost=params.cost)
        region = valid[box] & np.isfinite(distance)
        d_max = float(distance[region].max()) if region.any() else None
        out.append(ObjectDistances(box, distance, seed, valid[box], d_max))
    return out


def threshold_label(partial: np.ndarray, distances: Sequence[ObjectDistances], epsilon: float,
                    class_num: int) -> np.ndarray:
    """``partial`` with its Omega_F redrawn at ``epsilon`` (Omega_B unchanged)."""
    label = partial.copy()
    label[(label > 0) & (label < class_num)] = class_num
    for obj in distances:
        label[obj.box][obj.foreground(epsilon)] = FOREGROUND
    return label


def sweep_case(image: np.ndarray, case: CaseAnnotation, geometry: ImageGeometry,
               params: ExpansionParams, valid_mask: Optional[np.ndarray], partial: np.ndarray,
               ground_truth: np.ndarray, epsilons: Sequence[float],
               class_num: int) -> List[Dict[str, float]]:
    """Metrics (see :func:`expansion_metrics`) of the partial label at each epsilon.

    Args:
        image, case, geometry, params, valid_mask: as given to ``expand_annotation``.
        partial: the partial label at ``params.epsilon``, from :func:`expand_seeds`.
        ground_truth: the dense label.
        epsilons: the values to sweep, each in ``[0, 1]``.
        class_num: the unlabeled value.

    Returns:
        One dict per epsilon, in order, with an ``epsilon`` entry.
    """
    with torch_threads():
        distances = object_distances(image, case, geometry, params, valid_mask)
    own = threshold_label(partial, distances, params.epsilon, class_num)
    if np.array_equal(own, partial):
        labels = [threshold_label(partial, distances, eps, class_num) for eps in epsilons]
    else:
        logger.warning("case %s: the one-distance sweep does not reproduce expand_seeds at "
                       "epsilon=%g (%d voxel(s) differ); re-running the expansion per epsilon",
                       case.case_id, params.epsilon, int(np.count_nonzero(own != partial)))
        kwargs = params.expansion_kwargs()
        with torch_threads():
            labels = [expand_seeds(image, [o.foreground.voxel for o in case.objects],
                                   [o.box() for o in case.objects], valid_mask,
                                   geometry.spacing_zyx, class_num=class_num,
                                   **{**kwargs, "epsilon": eps}) for eps in epsilons]
    return [{"epsilon": float(eps), **expansion_metrics(label, ground_truth, class_num)}
            for eps, label in zip(epsilons, labels)]
