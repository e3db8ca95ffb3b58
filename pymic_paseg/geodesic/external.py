"""Thin adapters for the optional compiled backends GeodisTK and FastGeodis.

Neither package is a dependency of pymic_paseg. Both compile a C++ (and for
FastGeodis, CUDA) extension when installed, so they are used only when they
import. The adapters take and return what the default backend does: a
``(C, D, H, W)`` float32 tensor and a ``(D, H, W)`` bool seed tensor in, a
``(D, H, W)`` float32 tensor out, on the input's device.

* GeodisTK ``geodesic3d_raster_scan(I, S, spacing, lamb, iter)``: Toivanen's
  sequential forward/backward raster scan over the 26-neighbourhood, CPU only,
  NumPy in and out, channels last. Local cost: ``"geodistk"``.
* FastGeodis ``generalised_geodesic3d(image, softmask, spacing, v, lamb, iter)``:
  the parallel plane sweeps of the default backend, in C++/OpenMP or CUDA.
  Local cost: ``"fastgeodis"``. Its ``softmask`` is 0 at the seeds and 1 elsewhere;
  non-seed voxels start at ``v``.
"""
from __future__ import annotations

import importlib
from typing import Sequence

import numpy as np
import torch

__all__ = ["run_fastgeodis", "run_geodistk"]

#: FastGeodis' initial distance of non-seed voxels (its ``v``), as in its own examples.
FASTGEODIS_INITIAL_DISTANCE = 1e10


def run_geodistk(image: torch.Tensor, seeds: torch.Tensor, spacing: Sequence[float],
                 lamb: float, iterations: int, cost: str) -> torch.Tensor:
    """Geodesic distance with GeodisTK (``cost`` must be ``"geodistk"``)."""
    geodistk = importlib.import_module("GeodisTK")
    array = image.detach().cpu().numpy()
    # GeodisTK takes (D, H, W) or channels-last (D, H, W, C)
    array = array[0] if array.shape[0] == 1 else np.moveaxis(array, 0, -1)
    distance = geodistk.geodesic3d_raster_scan(
        np.ascontiguousarray(array, dtype=np.float32),
        np.ascontiguousarray(seeds.cpu().numpy(), dtype=np.uint8),
        [float(s) for s in spacing], float(lamb), int(iterations))
    return torch.from_numpy(np.asarray(distance, dtype=np.float32)).to(image.device)


def run_fastgeodis(image: torch.Tensor, seeds: torch.Tensor, spacing: Sequence[float],
                   lamb: float, iterations: int, cost: str) -> torch.Tensor:
    """Geodesic distance with FastGeodis (``cost`` must be ``"fastgeodis"``)."""
    fastgeodis = importlib.import_module("FastGeodis")
    softmask = (~seeds).to(image.dtype)[None, None]
    distance = fastgeodis.generalised_geodesic3d(
        image.unsqueeze(0).contiguous(), softmask.contiguous(), [float(s) for s in spacing],
        FASTGEODIS_INITIAL_DISTANCE, float(lamb), int(iterations))
    return distance[0, 0].to(torch.float32)
