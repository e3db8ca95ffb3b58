"""``geodesic_distance``: the one entry point to the geodesic distance backends."""
from __future__ import annotations

import logging
import math
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch

from pymic_paseg.geodesic.backends import DEFAULT_BACKEND, get_backend, resolve_cost

__all__ = ["DEFAULT_ITERATIONS", "DEFAULT_LAMBDA", "geodesic_distance"]

logger = logging.getLogger(__name__)

Array = Union[np.ndarray, torch.Tensor]

#: Raster-scan iterations, as in GeodisTK/FastGeodis examples and the PA-Seg code.
DEFAULT_ITERATIONS = 4
#: Pure intensity-based geodesic distance (PA-Seg eq. 1) unless told otherwise.
DEFAULT_LAMBDA = 1.0
_SPATIAL_DIMS = 3


def _as_image(image: Array) -> torch.Tensor:
    tensor = (torch.from_numpy(np.ascontiguousarray(image)) if isinstance(image, np.ndarray)
              else image)
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"image must be a numpy array or a torch tensor. Got: {type(image)}")
    if tensor.ndim not in (_SPATIAL_DIMS, _SPATIAL_DIMS + 1):
        raise ValueError(f"image must have shape (D, H, W) or (C, D, H, W). "
                         f"Got: shape {tuple(tensor.shape)}")
    if tensor.ndim == _SPATIAL_DIMS:
        tensor = tensor.unsqueeze(0)
    if tensor.is_complex() or tensor.dtype == torch.bool:
        raise TypeError(f"image must be real-valued. Got: dtype {tensor.dtype}")
    tensor = tensor.detach().to(torch.float32).contiguous()
    if min(tensor.shape) == 0 or not bool(torch.isfinite(tensor).all()):
        raise ValueError("image must be non-empty and contain only finite values")
    return tensor


def _as_seeds(seeds: Array, image: torch.Tensor) -> torch.Tensor:
    tensor = (torch.from_numpy(np.ascontiguousarray(seeds)) if isinstance(seeds, np.ndarray)
              else seeds)
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"seeds_mask must be a numpy array or a torch tensor. Got: {type(seeds)}")
    if tuple(tensor.shape) != tuple(image.shape[1:]):
        raise ValueError(f"seeds_mask must have the image's spatial shape "
                         f"{tuple(image.shape[1:])}. Got: {tuple(tensor.shape)}")
    if tensor.is_floating_point() or tensor.is_complex():
        raise TypeError(f"seeds_mask must be bool (or integer, non-zero = seed). "
                        f"Got: dtype {tensor.dtype}")
    tensor = (tensor != 0).to(image.device)
    if not bool(tensor.any()):
        raise ValueError("seeds_mask has no seed voxel: the distance would be infinite everywhere")
    return tensor


def _check_parameters(spacing: Sequence[float], lamb: float,
                      iterations: int) -> Tuple[float, float, float]:
    values = tuple(float(s) for s in spacing)
    if len(values) != _SPATIAL_DIMS or not all(math.isfinite(s) and s > 0 for s in values):
        raise ValueError(f"spacing must be 3 positive numbers (z, y, x). Got: {spacing}")
    if not 0.0 <= float(lamb) <= 1.0:
        raise ValueError(f"lamb must be in [0, 1]. Got: {lamb}")
    if isinstance(iterations, bool) or int(iterations) != iterations or iterations < 1:
        raise ValueError(f"iterations must be an integer >= 1. Got: {iterations}")
    return values  # type: ignore[return-value]


def geodesic_distance(image: Array, seeds_mask: Array,
                      spacing: Sequence[float] = (1.0, 1.0, 1.0), lamb: float = DEFAULT_LAMBDA,
                      iterations: int = DEFAULT_ITERATIONS, backend: str = DEFAULT_BACKEND,
                      cost: Optional[str] = None) -> Array:
    """Generalised geodesic distance of every voxel to the nearest seed, by raster scan.

    The distance is the cheapest path length on the 26-neighbour voxel graph whose
    edges cost ``cost(d, I(p) - I(q), lamb)`` (see :mod:`pymic_paseg.geodesic.costs`;
    with the default ``"geos"`` cost: ``sqrt((1 - lamb) d^2 + lamb ||I(p) - I(q)||^2)``
    with ``d`` the step length in physical units). ``lamb = 1`` is the purely
    intensity-based geodesic distance of PA-Seg eq. 1; ``lamb = 0`` a chamfer
    approximation of the Euclidean distance. A raster scan over-estimates the exact
    shortest path until it converges: paths that turn back often (noisy images, a
    high ``lamb``) need more iterations; 4 is the GeodisTK/PA-Seg default (see
    ``benchmarks/geodesic.py`` for measured deviations).

    Args:
        image: ``(D, H, W)`` or ``(C, D, H, W)`` NumPy array or torch tensor (computed
            in float32; for C > 1 the squared differences are summed over channels).
        seeds_mask: bool (or integer, non-zero = seed) array of shape ``(D, H, W)``.
        spacing: voxel size along the array axes ``(z, y, x)``.
        lamb: weight of the intensity term, in ``[0, 1]``.
        iterations: raster-scan iterations (>= 1).
        backend: ``"torch"`` (default, CPU or CUDA), ``"geodistk"`` or ``"fastgeodis"``;
            see :func:`pymic_paseg.geodesic.available_backends`.
        cost: local edge cost; ``None`` takes the backend's own (``"geos"`` for torch).

    Returns:
        ``(D, H, W)`` float32 distances, 0 at the seeds: a NumPy array for a NumPy
        ``image``, else a tensor on the image's device.

    Raises:
        ConfigError: unknown ``backend`` or ``cost``, or a cost the backend lacks.
        BackendUnavailableError: the backend's optional package is not installed.
        ValueError, TypeError: malformed inputs (the message says what was given).
    """
    chosen = get_backend(backend)
    chosen_cost = resolve_cost(chosen, cost)
    steps = _check_parameters(spacing, lamb, iterations)
    tensor = _as_image(image)
    seeds = _as_seeds(seeds_mask, tensor)
    logger.debug("geodesic distance: backend=%s cost=%s lamb=%g iterations=%d shape=%s",
                 chosen.name, chosen_cost, lamb, iterations, tuple(tensor.shape))
    distance = chosen.run(tensor, seeds, steps, float(lamb), int(iterations), chosen_cost)
    if isinstance(image, np.ndarray):
        return distance.cpu().numpy().astype(np.float32, copy=False)
    return distance
