"""The GeodisTK / FastGeodis adapters.

The real packages are optional and usually absent. When installed, they are
compared with Dijkstra in ``test_geodesic_vs_dijkstra.py`` like every available
backend. Here, stand-in modules that check the calling convention each package
documents (and answer with the exact distance) test the adapters' plumbing.
"""
import sys
import types

import numpy as np
import pytest
import torch
from geodesic_helpers import ANISOTROPIC_SPACING, random_case

from pymic_paseg.geodesic import backends as backends_module
from pymic_paseg.geodesic import geodesic_distance
from pymic_paseg.geodesic.dijkstra import dijkstra_distance
from pymic_paseg.geodesic.external import FASTGEODIS_INITIAL_DISTANCE


def _fake_geodistk(calls):
    def geodesic3d_raster_scan(image, seeds, spacing, lamb, iterations):
        assert image.dtype == np.float32 and seeds.dtype == np.uint8
        assert isinstance(spacing, list) and isinstance(iterations, int)
        channels_first = image[None] if image.ndim == 3 else np.moveaxis(image, -1, 0)
        calls.append(image.shape)
        return dijkstra_distance(channels_first, seeds > 0, spacing, lamb, "geodistk")
    return types.SimpleNamespace(geodesic3d_raster_scan=geodesic3d_raster_scan)


def _fake_fastgeodis(calls):
    def generalised_geodesic3d(image, softmask, spacing, v, lamb, iterations):
        assert image.ndim == 5 and image.shape[0] == 1 and softmask.shape[:2] == (1, 1)
        assert v == FASTGEODIS_INITIAL_DISTANCE
        calls.append(tuple(image.shape))
        seeds = (softmask[0, 0] == 0).numpy()
        exact = dijkstra_distance(image[0].numpy(), seeds, spacing, lamb, "fastgeodis")
        return torch.from_numpy(exact).float()[None, None]
    return types.SimpleNamespace(generalised_geodesic3d=generalised_geodesic3d)


@pytest.mark.parametrize("name, package, fake, cost", [
    ("geodistk", "GeodisTK", _fake_geodistk, "geodistk"),
    ("fastgeodis", "FastGeodis", _fake_fastgeodis, "fastgeodis"),
])
@pytest.mark.parametrize("channels", [1, 2])
def test_adapter_calling_convention(monkeypatch, name, package, fake, cost, channels):
    calls = []
    monkeypatch.setitem(sys.modules, package, fake(calls))
    monkeypatch.setattr(backends_module, "_imports", lambda module: True)
    image, seeds = random_case(seed=11, channels=channels)
    result = geodesic_distance(torch.from_numpy(image), torch.from_numpy(seeds),
                               ANISOTROPIC_SPACING, 0.4, backend=name)
    expected = dijkstra_distance(image, seeds, ANISOTROPIC_SPACING, 0.4, cost)
    assert len(calls) == 1
    if name == "geodistk":  # channels last, and no channel axis for a single channel
        assert calls[0] == (seeds.shape if channels == 1 else seeds.shape + (channels,))
    assert isinstance(result, torch.Tensor) and result.dtype == torch.float32
    np.testing.assert_allclose(result.numpy(), expected, rtol=1e-6)
