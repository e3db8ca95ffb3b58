"""Crop placement and lesion shapes of the demo data, against brute force and geometry."""
import itertools

import numpy as np
import pytest

from pymic_paseg.data.lesion import irregular_blob
from pymic_paseg.data.placement import choose_crop_start


def test_crop_starts_drawn_are_exactly_those_that_keep_the_margin():
    lo, hi, size, margin = (5, 10, 3), (9, 12, 6), (12, 10, 9), 2
    allowed = [s for s in itertools.product(*[range(-20, 30)] * 3)
               if all(st + margin <= a and b + margin <= st + n
                      for st, a, b, n in zip(s, lo, hi, size))]
    rng = np.random.default_rng(0)
    seen = {choose_crop_start(rng, lo, hi, size, margin) for _ in range(3000)}
    assert seen == set(allowed)  # every allowed start is drawn, nothing else


def test_a_lesion_larger_than_the_crop_gets_none():
    assert choose_crop_start(np.random.default_rng(0), (0, 0, 0), (10, 4, 4), (12, 12, 12),
                             2) is None


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (2.0, 1.0, 0.8)])
def test_a_regular_blob_is_one_filled_ellipsoid_of_the_asked_size(spacing):
    from scipy import ndimage
    mask, centre = irregular_blob(np.random.default_rng(1), (6.0, 6.0, 6.0), 0.0, 0.0,
                                  spacing)
    assert ndimage.label(mask)[1] == 1 and mask[centre]
    volume_mm3 = mask.sum() * np.prod(spacing)
    assert volume_mm3 == pytest.approx(4 / 3 * np.pi * 6.0 ** 3, rel=0.15)
    extent = np.argwhere(mask) - np.asarray(centre)
    radius_mm = np.sqrt(((extent * np.asarray(spacing)) ** 2).sum(axis=1)).max()
    assert 5.0 <= radius_mm <= 7.0
    assert np.array_equal(ndimage.binary_fill_holes(mask), mask)
