"""Smooth random fields and random rotations: range, mean, smoothness, orthonormality."""
import numpy as np
import pytest

from pymic_paseg.data.fields import random_rotation, smooth_random_field


def test_field_is_zero_mean_peak_one_and_reproducible():
    field = smooth_random_field(np.random.default_rng(0), (12, 20, 16), 3.0)
    assert field.dtype == np.float32 and field.shape == (12, 20, 16)
    assert abs(float(field.mean())) < 1e-6 and float(np.abs(field).max()) == pytest.approx(1.0)
    again = smooth_random_field(np.random.default_rng(0), (12, 20, 16), 3.0)
    np.testing.assert_array_equal(field, again)


def test_a_longer_correlation_length_gives_a_smoother_field():
    def roughness(sigma):
        field = smooth_random_field(np.random.default_rng(1), (24, 24, 24), sigma)
        return float(np.mean(np.abs(np.diff(field, axis=2))))
    rough, smooth = roughness(1.0), roughness(6.0)
    assert smooth < 0.5 * rough, (rough, smooth)
    # per-axis sigma: smooth along z only
    field = smooth_random_field(np.random.default_rng(2), (24, 24, 24), (8.0, 1.0, 1.0))
    along_z = np.mean(np.abs(np.diff(field, axis=0)))
    along_x = np.mean(np.abs(np.diff(field, axis=2)))
    assert along_z < 0.5 * along_x


def test_non_positive_sigma_is_refused():
    with pytest.raises(ValueError, match=r"sigma_vox must be positive. Got: \(1.0, 0.0, 1.0\)"):
        smooth_random_field(np.random.default_rng(0), (4, 4, 4), (1.0, 0.0, 1.0))


def test_rotations_are_proper_and_cover_directions():
    rng = np.random.default_rng(0)
    mats = [random_rotation(rng) for _ in range(200)]
    for q in mats:
        np.testing.assert_allclose(q @ q.T, np.eye(3), atol=1e-12)
        assert np.linalg.det(q) == pytest.approx(1.0)
    # uniform rotations map e_z to a uniform direction: mean near 0
    directions = np.array([q[:, 2] for q in mats])
    assert np.all(np.abs(directions.mean(axis=0)) < 0.15)
