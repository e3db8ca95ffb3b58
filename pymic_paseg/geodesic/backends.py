"""The geodesic distance backends, chosen by name.

========== ============================= ========================== ====================
name       implementation                local cost (``costs.py``)  needs
========== ============================= ========================== ====================
torch      pure PyTorch plane sweeps     geos, geodistk, fastgeodis nothing (default)
geodistk   GeodisTK, C++ raster scan     geodistk                   ``pip install GeodisTK``
fastgeodis FastGeodis, C++/CUDA sweeps   fastgeodis                 ``pip install FastGeodis``
========== ============================= ========================== ====================

GeodisTK and FastGeodis compile an extension when installed and are never
required: :func:`available_backends` lists what imports here.
"""
from __future__ import annotations

import functools
import importlib
import logging
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch

from pymic_paseg.config import ConfigError, look_up_option
from pymic_paseg.geodesic.costs import COSTS
from pymic_paseg.geodesic.external import run_fastgeodis, run_geodistk
from pymic_paseg.geodesic.raster_torch import raster_scan_torch

__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "Backend",
    "BackendUnavailableError",
    "available_backends",
    "get_backend",
    "resolve_cost",
]

logger = logging.getLogger(__name__)

#: ``run(image (C,D,H,W), seeds (D,H,W) bool, spacing, lamb, iterations, cost) -> (D,H,W)``
RunFunction = Callable[[torch.Tensor, torch.Tensor, Sequence[float], float, int, str],
                       torch.Tensor]


class BackendUnavailableError(ImportError):
    """A known backend was asked for, but its optional package does not import."""


@dataclass(frozen=True)
class Backend:
    """One way of computing the distance.

    Attributes:
        name: the name users pass (``backend="..."``, ``SeedExpansion_backend``).
        run: the function doing the work, see :data:`RunFunction`.
        costs: the local edge costs it implements; the first is its default.
        package: module it needs to import, ``None`` if built in.
        install_hint: how to get ``package``.
    """

    name: str
    run: RunFunction
    costs: Tuple[str, ...]
    package: Optional[str] = None
    install_hint: str = ""

    def is_available(self) -> bool:
        return self.package is None or _imports(self.package)

    @property
    def default_cost(self) -> str:
        return self.costs[0]


@functools.lru_cache(maxsize=None)
def _imports(module: str) -> bool:
    try:
        importlib.import_module(module)
    except (ImportError, OSError) as err:  # OSError: a compiled extension that fails to load
        logger.debug("optional geodesic backend module %s does not import: %s", module, err)
        return False
    return True


BACKENDS: Dict[str, Backend] = {
    "torch": Backend("torch", raster_scan_torch, ("geos", "geodistk", "fastgeodis")),
    "geodistk": Backend(
        "geodistk", run_geodistk, ("geodistk",), package="GeodisTK",
        install_hint="pip install GeodisTK (builds a C++ extension; needs a compiler)"),
    "fastgeodis": Backend(
        "fastgeodis", run_fastgeodis, ("fastgeodis",), package="FastGeodis",
        install_hint="pip install FastGeodis (builds a C++/CUDA extension against your torch)"),
}

DEFAULT_BACKEND = "torch"


def available_backends() -> List[str]:
    """Names of the backends that can run here, the default first."""
    return [name for name, backend in BACKENDS.items() if backend.is_available()]


def get_backend(name: str) -> Backend:
    """The backend called ``name``.

    Raises:
        ConfigError: ``name`` is not a backend (the message lists the valid names).
        BackendUnavailableError: the backend's package does not import here.
    """
    backend = BACKENDS[look_up_option(name, BACKENDS, where="geodesic backend")]
    if not backend.is_available():
        raise BackendUnavailableError(
            f"geodesic backend {name!r} needs the optional package {backend.package!r}, "
            f"which does not import here. Install it with: {backend.install_hint}; "
            f"or use one of the available backends: {', '.join(available_backends())}")
    return backend


def resolve_cost(backend: Backend, cost: Optional[str]) -> str:
    """``cost``, or the backend's own when ``None``; checked against what the backend implements."""
    if cost is None:
        return backend.default_cost
    cost = look_up_option(cost, COSTS, where="geodesic cost")
    if cost not in backend.costs:
        raise ConfigError(
            f"geodesic backend {backend.name!r} implements only the local cost(s) "
            f"{', '.join(backend.costs)}; got cost={cost!r}. Use backend='torch' for "
            f"any of {', '.join(COSTS)}")
    return cost
