"""Geodesic distance transforms for seed expansion (PA-Seg section III-A 2, eq. 1).

Public API::

    from pymic_paseg.geodesic import geodesic_distance, available_backends

    distance = geodesic_distance(image, seeds_mask, spacing=(3.0, 0.5, 0.5), lamb=0.5)

Modules:

* :mod:`~pymic_paseg.geodesic.costs`: the local edge costs (``geos``, ``geodistk``,
  ``fastgeodis``) and the 26-neighbourhood;
* :mod:`~pymic_paseg.geodesic.raster_torch`: the default pure-PyTorch engine (CPU/CUDA);
* :mod:`~pymic_paseg.geodesic.external`: adapters for the optional GeodisTK / FastGeodis;
* :mod:`~pymic_paseg.geodesic.backends`: the name -> backend table;
* :mod:`~pymic_paseg.geodesic.distance`: :func:`geodesic_distance`;
* :mod:`~pymic_paseg.geodesic.dijkstra`: the exact reference used by tests and benchmarks.
"""
from pymic_paseg.geodesic.backends import (
    BACKENDS,
    DEFAULT_BACKEND,
    BackendUnavailableError,
    available_backends,
)
from pymic_paseg.geodesic.costs import COSTS, DEFAULT_COST
from pymic_paseg.geodesic.distance import DEFAULT_ITERATIONS, DEFAULT_LAMBDA, geodesic_distance

__all__ = [
    "BACKENDS",
    "COSTS",
    "DEFAULT_BACKEND",
    "DEFAULT_COST",
    "DEFAULT_ITERATIONS",
    "DEFAULT_LAMBDA",
    "BackendUnavailableError",
    "available_backends",
    "geodesic_distance",
]
