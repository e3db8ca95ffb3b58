"""Deformation, bias field and MR noise of the demo data, against direct computations."""
import numpy as np
import pytest
from scipy import ndimage

from pymic_paseg.data.augment import (MIN_FOREGROUND, add_mr_noise, apply_bias_field,
                                      random_displacement, warp, warp_mask)


def test_zero_displacement_crops_the_margin_and_a_shift_moves_the_volume():
    volume = np.random.default_rng(0).random((10, 12, 14)).astype(np.float32)
    zero = np.zeros((3, 6, 8, 10), np.float32)
    np.testing.assert_allclose(warp(volume, zero, 2), volume[2:8, 2:10, 2:12], atol=1e-6)
    shift = zero.copy()
    shift[2] = 1.0  # one voxel along x
    np.testing.assert_allclose(warp(volume, shift, 2), volume[2:8, 2:10, 3:13], atol=1e-6)
    half = zero.copy()
    half[0] = 0.5
    expected = ndimage.map_coordinates(volume, np.mgrid[2.5:8.5, 2:10, 2:12], order=1)
    np.testing.assert_allclose(warp(volume, half, 2), expected, atol=1e-6)


def test_warped_mask_is_boolean_and_follows_the_shift():
    mask = np.zeros((8, 8, 8), bool)
    mask[3:5, 3:5, 3:5] = True
    shift = np.zeros((3, 6, 6, 6), np.float32)
    shift[1] = -1.0
    out = warp_mask(mask, shift, 1)
    assert out.dtype == bool
    np.testing.assert_array_equal(out, mask[1:7, 0:6, 1:7])


def test_displacement_is_bounded_by_max_mm_in_voxels():
    spacing = (2.0, 1.0, 0.5)
    u = random_displacement(np.random.default_rng(3), (10, 10, 10), 4.0, 6.0, spacing)
    assert u.shape == (3, 10, 10, 10)
    for axis, step in enumerate(spacing):
        peak = float(np.abs(u[axis]).max())
        assert 0.5 * 4.0 / step - 1e-5 <= peak <= 4.0 / step + 1e-5


def test_bias_and_noise_touch_only_the_brain():
    rng = np.random.default_rng(4)
    brain = np.zeros((6, 6, 6), bool)
    brain[1:5, 1:5, 1:5] = True
    image = np.where(brain, 0.5, 0.0).astype(np.float32)
    biased = apply_bias_field(rng, image, brain, 0.3, 5.0, (1.0, 1.0, 1.0))
    assert np.all(biased[~brain] == 0)
    ratio = biased[brain] / 0.5
    assert np.all((ratio >= np.exp(-0.3) - 1e-6) & (ratio <= np.exp(0.3) + 1e-6))
    noisy = add_mr_noise(rng, image, brain, 0.05)
    assert np.all(noisy[~brain] == 0) and np.all(noisy[brain] >= MIN_FOREGROUND)
    np.testing.assert_array_equal(noisy > 0, brain)
    assert float(np.std(noisy[brain] - 0.5)) == pytest.approx(0.05, rel=0.35)
