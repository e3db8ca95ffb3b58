"""Local edge costs: hand-computed values for each formula."""
import math

import pytest
import torch

from pymic_paseg.geodesic.costs import (
    COSTS,
    GEODISTK_EPSILON,
    HALF_NEIGHBOUR_OFFSETS,
    NEIGHBOUR_OFFSETS,
    edge_cost,
    spatial_length,
)


def test_neighbourhood_is_26_connected_with_13_undirected_edges():
    assert len(NEIGHBOUR_OFFSETS) == 26
    assert len(HALF_NEIGHBOUR_OFFSETS) == 13
    opposite = {tuple(-v for v in o) for o in HALF_NEIGHBOUR_OFFSETS}
    assert opposite.isdisjoint(HALF_NEIGHBOUR_OFFSETS)
    assert opposite | set(HALF_NEIGHBOUR_OFFSETS) == set(NEIGHBOUR_OFFSETS)


def test_spatial_length_uses_spacing():
    assert spatial_length((1, 0, 0), (3.0, 1.0, 1.0)) == pytest.approx(3.0)
    assert spatial_length((1, -1, 1), (2.0, 3.0, 6.0)) == pytest.approx(7.0)  # sqrt(4+9+36)


# delta = (3, 4) over two channels: ||.||_2 = 5, ||.||_1 = 7; d = 2; lamb = 0.36
DELTA = torch.tensor([[3.0], [4.0]], dtype=torch.float64)
EXPECTED = {
    "geos": math.sqrt(0.64 * 4 + 0.36 * 25),                         # sqrt(11.56) = 3.4
    "geodistk": 2 / (0.64 + 0.36 / (5 + GEODISTK_EPSILON)),
    "fastgeodis": 0.64 * 2 + 0.36 * 7,                               # 3.8
}


@pytest.mark.parametrize("cost", sorted(COSTS))
def test_hand_computed_value(cost):
    value = edge_cost(cost, DELTA, 2.0, 0.36)
    assert value.shape == (1,)
    assert float(value[0]) == pytest.approx(EXPECTED[cost], rel=1e-9)


@pytest.mark.parametrize("cost", sorted(COSTS))
def test_lambda_zero_is_the_spatial_length(cost):
    delta = torch.tensor([[[0.0, 5.0, -100.0]]])
    assert torch.allclose(edge_cost(cost, delta, 1.7, 0.0), torch.full((1, 3), 1.7))


def test_lambda_one_limits():
    delta = torch.tensor([[-3.0], [4.0]], dtype=torch.float64)
    assert float(edge_cost("geos", delta, 2.0, 1.0)[0]) == pytest.approx(5.0)
    assert float(edge_cost("fastgeodis", delta, 2.0, 1.0)[0]) == pytest.approx(7.0)
    assert float(edge_cost("geodistk", delta, 2.0, 1.0)[0]) == pytest.approx(
        2.0 * (5.0 + GEODISTK_EPSILON))


@pytest.mark.parametrize("cost", sorted(COSTS))
def test_writes_into_a_strided_out(cost):
    delta = torch.rand(1, 4, 5)
    out = torch.zeros(4, 2, 5)
    edge_cost(cost, delta, 1.3, 0.5, out=out[:, 1])
    assert torch.allclose(out[:, 1], edge_cost(cost, delta, 1.3, 0.5))
    assert torch.count_nonzero(out[:, 0]) == 0
