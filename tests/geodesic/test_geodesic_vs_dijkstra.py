"""Every available backend against the exact shortest path (scipy Dijkstra, same edges/costs).

Tolerances. A raster scan relaxes the same 26-neighbour edges as Dijkstra, so it
can only over-estimate, and once converged it finds the same paths: what is
left is float32 rounding of the path sums. For the torch backend, on 6x9x10
random images with anisotropic spacing, 4 iterations give a max relative
deviation of 2e-7 for every cost and lambda used here (1 iteration: up to 2.2,
i.e. not converged; 2 iterations: up to 0.3). ``TORCH_MAX_REL = 1e-5`` leaves a 50x
margin for other CPUs and BLAS-free rounding differences.

GeodisTK and FastGeodis are not installed where this was written, so their
deviation could not be measured; they get the looser bounds of an approximate
raster scan (mean < 1e-3, max < 5 %), which a converged scan should meet easily.
"""
import numpy as np
import pytest
import torch
from geodesic_helpers import ANISOTROPIC_SPACING, random_case, relative_deviation

from pymic_paseg.geodesic import BACKENDS, COSTS, available_backends, geodesic_distance
from pymic_paseg.geodesic.dijkstra import dijkstra_distance

TORCH_MAX_REL = 1e-5
EXTERNAL_MEAN_REL = 1e-3
EXTERNAL_MAX_REL = 5e-2
#: raster results may sit below the exact value by float32 rounding only
ROUNDING = 1e-6
LAMBDAS = (0.0, 0.3, 0.7, 1.0)


def _check(result, reference, backend):
    rel = relative_deviation(result, reference)
    assert np.all(result >= reference * (1 - ROUNDING)), "raster scan below the exact distance"
    if backend == "torch":
        assert rel.max() < TORCH_MAX_REL, rel.max()
    else:
        assert rel.mean() < EXTERNAL_MEAN_REL and rel.max() < EXTERNAL_MAX_REL, (
            rel.mean(), rel.max())


@pytest.mark.parametrize("lamb", LAMBDAS)
@pytest.mark.parametrize("backend", available_backends())
def test_backend_matches_dijkstra_with_its_own_cost(backend, lamb):
    image, seeds = random_case(seed=int(lamb * 10))
    cost = BACKENDS[backend].default_cost
    reference = dijkstra_distance(image, seeds, ANISOTROPIC_SPACING, lamb, cost)
    result = geodesic_distance(image[0], seeds, ANISOTROPIC_SPACING, lamb, backend=backend)
    _check(result, reference, backend)


@pytest.mark.parametrize("lamb", LAMBDAS)
@pytest.mark.parametrize("cost", sorted(COSTS))
def test_torch_matches_dijkstra_for_every_cost(cost, lamb):
    image, seeds = random_case(seed=7, channels=2)
    reference = dijkstra_distance(image, seeds, ANISOTROPIC_SPACING, lamb, cost)
    result = geodesic_distance(image, seeds, ANISOTROPIC_SPACING, lamb, cost=cost)
    _check(result, reference, "torch")


def test_more_iterations_never_increase_the_distance():
    image, seeds = random_case(seed=3)
    reference = dijkstra_distance(image, seeds, ANISOTROPIC_SPACING, 1.0, "geos")
    results = [geodesic_distance(image, seeds, ANISOTROPIC_SPACING, 1.0, iterations=n)
               for n in (1, 2, 4)]
    assert np.all(results[1] <= results[0]) and np.all(results[2] <= results[1])
    assert relative_deviation(results[0], reference).max() > TORCH_MAX_REL  # 1 is not enough
    assert relative_deviation(results[2], reference).max() < TORCH_MAX_REL


def test_single_plane_volume():
    """A degenerate axis of length 1 leaves the 2-D problem on the other two."""
    image, _ = random_case(seed=5, shape=(1, 7, 8))
    seeds = np.zeros((1, 7, 8), bool)
    seeds[0, 3, 3] = True
    reference = dijkstra_distance(image, seeds, ANISOTROPIC_SPACING, 0.5, "geos")
    result = geodesic_distance(torch.from_numpy(image), torch.from_numpy(seeds),
                               ANISOTROPIC_SPACING, 0.5)
    _check(result.numpy(), reference, "torch")
