"""geodesic_distance: types in and out, limiting cases, and error messages."""
import numpy as np
import pytest
import torch
from geodesic_helpers import ANISOTROPIC_SPACING, SMALL_SHAPE, random_case

from pymic_paseg.config import ConfigError
from pymic_paseg.geodesic import (
    BACKENDS,
    BackendUnavailableError,
    available_backends,
    geodesic_distance,
)
from pymic_paseg.geodesic import backends as backends_module
from pymic_paseg.geodesic.dijkstra import dijkstra_distance


def test_numpy_in_numpy_out():
    image, seeds = random_case(seed=0)
    result = geodesic_distance(image[0].astype(np.float64), seeds, ANISOTROPIC_SPACING, 0.5)
    assert isinstance(result, np.ndarray)
    assert result.dtype == np.float32 and result.shape == SMALL_SHAPE


def test_flipped_numpy_views_are_accepted():
    image, seeds = random_case(seed=0)
    flipped = geodesic_distance(image[:, ::-1], seeds[::-1], ANISOTROPIC_SPACING, 0.5)
    np.testing.assert_allclose(flipped[::-1],
                               geodesic_distance(image, seeds, ANISOTROPIC_SPACING, 0.5),
                               rtol=1e-6)


def test_torch_in_torch_out():
    image, seeds = random_case(seed=0, channels=3)
    result = geodesic_distance(torch.from_numpy(image), torch.from_numpy(seeds))
    assert isinstance(result, torch.Tensor)
    assert result.dtype == torch.float32 and tuple(result.shape) == SMALL_SHAPE


def test_seeds_are_zero_and_the_rest_positive():
    image, seeds = random_case(seed=1)
    result = geodesic_distance(image, seeds, ANISOTROPIC_SPACING, 0.5)
    assert np.all(result[seeds] == 0)
    assert np.all(result[~seeds] > 0)


@pytest.mark.parametrize("cost", ["geos", "geodistk", "fastgeodis"])
def test_lambda_zero_on_uniform_image_is_the_chamfer_distance(cost):
    image = np.full(SMALL_SHAPE, 0.25, np.float32)
    seeds = np.zeros(SMALL_SHAPE, bool)
    seeds[2, 4, 5] = True
    result = geodesic_distance(image, seeds, ANISOTROPIC_SPACING, 0.0, cost=cost)
    reference = dijkstra_distance(image[None], seeds, ANISOTROPIC_SPACING, 0.0, cost)
    np.testing.assert_allclose(result, reference, rtol=1e-6)
    # along a grid axis the chamfer distance is the exact Euclidean distance
    np.testing.assert_allclose(result[2, 4, :], 0.7 * np.abs(np.arange(10) - 5), rtol=1e-6)
    np.testing.assert_allclose(result[:, 4, 5], 2.5 * np.abs(np.arange(6) - 2), rtol=1e-6)


def test_lambda_one_geos_is_zero_inside_a_constant_region():
    """Pure geodesic (eq. 1): no cost inside a flat region, the jump at its border."""
    image = np.zeros(SMALL_SHAPE, np.float32)
    image[:, :, 5:] = 2.0
    seeds = np.zeros(SMALL_SHAPE, bool)
    seeds[0, 0, 0] = True
    result = geodesic_distance(image, seeds, ANISOTROPIC_SPACING, 1.0)
    assert np.all(result[:, :, :5] == 0)
    np.testing.assert_allclose(result[:, :, 5:], 2.0)


def test_integer_seeds_are_accepted():
    image, seeds = random_case(seed=2)
    as_bool = geodesic_distance(image, seeds)
    as_int = geodesic_distance(image, seeds.astype(np.uint8) * 7)
    np.testing.assert_array_equal(as_bool, as_int)


def test_unknown_backend_lists_the_valid_names():
    image, seeds = random_case(seed=0)
    with pytest.raises(ConfigError, match=r"Did you mean 'torch'\?.*fastgeodis, geodistk, torch"):
        geodesic_distance(image, seeds, backend="troch")


@pytest.mark.parametrize("name", [n for n in BACKENDS if n not in available_backends()])
def test_unavailable_backend_says_how_to_install(name):
    image, seeds = random_case(seed=0)
    with pytest.raises(BackendUnavailableError, match=r"pip install"):
        geodesic_distance(image, seeds, backend=name)


def test_cost_the_backend_lacks_is_a_config_error(monkeypatch):
    monkeypatch.setattr(backends_module, "_imports", lambda module: True)
    image, seeds = random_case(seed=0)
    with pytest.raises(ConfigError, match=r"implements only the local cost\(s\) geodistk"):
        geodesic_distance(image, seeds, backend="geodistk", cost="geos")


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(spacing=(1.0, 0.0, 1.0)), ValueError, r"spacing must be 3 positive numbers"),
    (dict(spacing=(1.0, 1.0)), ValueError, r"spacing must be 3 positive numbers"),
    (dict(lamb=1.5), ValueError, r"lamb must be in \[0, 1\]. Got: 1.5"),
    (dict(iterations=0), ValueError, r"iterations must be an integer >= 1. Got: 0"),
    (dict(cost="euclid"), ConfigError, r"geodesic cost = 'euclid': unknown name"),
])
def test_bad_parameters(kwargs, error, message):
    image, seeds = random_case(seed=0)
    with pytest.raises(error, match=message):
        geodesic_distance(image, seeds, **kwargs)


def test_bad_arrays():
    image, seeds = random_case(seed=0)
    with pytest.raises(ValueError, match=r"\(D, H, W\) or \(C, D, H, W\). Got: shape \(9, 10\)"):
        geodesic_distance(image[0, 0], seeds)
    with pytest.raises(ValueError, match=r"spatial shape \(6, 9, 10\). Got: \(6, 9, 9\)"):
        geodesic_distance(image, seeds[..., :9])
    with pytest.raises(ValueError, match=r"no seed voxel"):
        geodesic_distance(image, np.zeros_like(seeds))
    with pytest.raises(TypeError, match=r"seeds_mask must be bool"):
        geodesic_distance(image, seeds.astype(np.float32))
    image[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"only finite values"):
        geodesic_distance(image, seeds)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("cost", ["geos", "geodistk", "fastgeodis"])
def test_gpu_matches_cpu(cost):
    image, seeds = random_case(seed=4, channels=2, shape=(12, 20, 24))
    cpu = geodesic_distance(torch.from_numpy(image), torch.from_numpy(seeds),
                            ANISOTROPIC_SPACING, 0.5, cost=cost)
    gpu = geodesic_distance(torch.from_numpy(image).cuda(), torch.from_numpy(seeds).cuda(),
                            ANISOTROPIC_SPACING, 0.5, cost=cost)
    assert gpu.is_cuda
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-5, atol=1e-5)
