"""Exact geodesic distance by Dijkstra's algorithm, the reference for the raster scans.

The voxel grid becomes an undirected graph with an edge between each voxel and
each of its 26 neighbours, weighted by the same local cost as the raster scans
(:mod:`pymic_paseg.geodesic.costs`). :func:`scipy.sparse.csgraph.dijkstra` then
gives the exact cheapest-path length from the seeds. A raster scan relaxes the
same edges, so it converges to this value as iterations are added.

Memory and time grow with 13 edges per voxel: meant for small test volumes
(up to a few hundred thousand voxels).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from pymic_paseg.geodesic.costs import HALF_NEIGHBOUR_OFFSETS, edge_cost, spatial_length

__all__ = ["dijkstra_distance"]

#: Dijkstra drops edges of weight exactly 0 from a sparse matrix; they get this instead.
_ZERO_WEIGHT = 1e-30


def _edge_slices(offset: Sequence[int], shape: Sequence[int]):
    own = tuple(slice(max(0, -o), n - max(0, o)) for o, n in zip(offset, shape))
    other = tuple(slice(max(0, o), n + min(0, o)) for o, n in zip(offset, shape))
    return own, other


def dijkstra_distance(image: np.ndarray, seeds: np.ndarray, spacing: Sequence[float],
                      lamb: float, cost: str) -> np.ndarray:
    """Exact geodesic distance (float64) of every voxel to the nearest seed.

    Args:
        image: ``(C, D, H, W)`` array.
        seeds: ``(D, H, W)`` bool array with at least one ``True``.
        spacing: voxel size along ``(D, H, W)``.
        lamb: weight of the intensity term in ``[0, 1]``.
        cost: local edge cost name, see :data:`pymic_paseg.geodesic.costs.COSTS`.
    """
    image = torch.as_tensor(np.asarray(image, dtype=np.float64))
    shape = tuple(image.shape[1:])
    index = np.arange(int(np.prod(shape))).reshape(shape)
    rows, cols, weights = [], [], []
    for offset in HALF_NEIGHBOUR_OFFSETS:
        own, other = _edge_slices(offset, shape)
        delta = image[(slice(None),) + own] - image[(slice(None),) + other]
        weight = edge_cost(cost, delta, spatial_length(offset, spacing), lamb).numpy()
        rows.append(index[own].ravel())
        cols.append(index[other].ravel())
        weights.append(np.maximum(weight.ravel(), _ZERO_WEIGHT))
    n = index.size
    graph = coo_matrix((np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))),
                       shape=(n, n)).tocsr()
    sources = np.flatnonzero(np.asarray(seeds, dtype=bool).ravel())
    distance = dijkstra(graph, directed=False, indices=sources, min_only=True)
    return distance.reshape(shape)
