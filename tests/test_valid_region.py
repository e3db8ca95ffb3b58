"""Ω_M (pymic_paseg.valid_region) against a voxel-by-voxel loop, and each user's meaning."""
import itertools

import numpy as np
import pytest
import torch

from pymic_paseg.valid_region import valid_region


def loop_reference(image, threshold, above_min, channel_axis):
    """The rule written out voxel by voxel: any channel above its floor by > threshold."""
    image = np.asarray(image, np.float64)
    items = image.shape[:channel_axis]
    spatial = image.shape[channel_axis + 1:]
    out = np.zeros(items + (1,) + spatial, bool)
    for item in itertools.product(*map(range, items)):
        for k in range(image.shape[channel_axis]):
            channel = image[item + (k,)]
            floor = min(channel.flat) if above_min else 0.0
            for voxel in itertools.product(*map(range, spatial)):
                if channel[voxel] - floor > threshold:
                    out[item + (0,) + voxel] = True
    return out


def _image(shape, seed=0):
    # small integers: ties with the threshold and with the minimum happen
    return np.random.default_rng(seed).integers(-2, 4, shape).astype(np.float32)


@pytest.mark.parametrize("above_min", [False, True])
@pytest.mark.parametrize("threshold", [-0.5, 0.0, 1.0, 2.5])
def test_numpy_channels_first_matches_the_loop(above_min, threshold):
    image = _image((2, 3, 4, 5))
    got = valid_region(image, threshold, above_min=above_min)
    assert got.dtype == bool and got.shape == (1, 3, 4, 5)
    np.testing.assert_array_equal(got, loop_reference(image, threshold, above_min, 0))


@pytest.mark.parametrize("above_min", [False, True])
@pytest.mark.parametrize("threshold", [0.0, 1e-5, 1.5])
def test_torch_batched_matches_the_loop(above_min, threshold):
    image = _image((2, 2, 3, 4, 5), seed=1)
    image[1, 0] += 10.0  # item 1 has its own minimum
    got = valid_region(torch.from_numpy(image), threshold, above_min=above_min, channel_axis=1)
    assert got.dtype == torch.bool and tuple(got.shape) == (2, 1, 3, 4, 5)
    np.testing.assert_array_equal(got.numpy(), loop_reference(image, threshold, above_min, 1))


def test_each_item_has_its_own_floor():
    image = np.zeros((2, 1, 1, 3), np.float32)
    image[0, 0, 0] = [0, 1, 2]
    image[1, 0, 0] = [5, 6, 7]
    got = valid_region(image, 0.5, above_min=True, channel_axis=1)
    assert got[:, 0, 0].tolist() == [[False, True, True], [False, True, True]]
    absolute = valid_region(image, 0.5, channel_axis=1)
    assert absolute[:, 0, 0].tolist() == [[False, True, True], [True, True, True]]


def test_negative_threshold_above_min_marks_everything():
    image = torch.randn(2, 3, 4, 4)
    assert valid_region(image, -1e-9, above_min=True, channel_axis=1).all()


def test_no_spatial_axis_is_an_error_naming_the_shape():
    with pytest.raises(ValueError, match=r"channel_axis = 1 leaves no spatial axis.*\(2, 3\)"):
        valid_region(np.zeros((2, 3)), 0.0, channel_axis=1)


# ---------------------------------------------------------------- the four users
def test_variance_loss_uses_the_minimum_floor():
    from pymic_paseg.losses import valid_region as vm_region
    image = _image((2, 2, 3, 4, 5), seed=2)
    got = vm_region(torch.from_numpy(image), 1e-5)
    np.testing.assert_array_equal(got.numpy(), loop_reference(image, 1e-5, True, 1))


def test_expansion_uses_the_absolute_floor_on_any_channel():
    from pymic_paseg.expansion import valid_mask_from_image
    image = _image((2, 3, 4, 5), seed=3)
    np.testing.assert_array_equal(valid_mask_from_image(image, 0.0),
                                  loop_reference(image, 0.0, False, 0)[0])
    np.testing.assert_array_equal(valid_mask_from_image(image[0], 1.0),
                                  loop_reference(image[:1], 1.0, False, 0)[0])


def test_case_expansion_prefers_the_mask_file_then_the_threshold():
    from pymic_paseg.expansion import ExpansionParams
    from pymic_paseg.expansion.case_expansion import valid_region as case_region
    image = _image((3, 4, 5), seed=4)
    mask = np.zeros((3, 4, 5), np.uint8)
    mask[1] = 7
    params = ExpansionParams(mask_threshold=0.0)
    np.testing.assert_array_equal(case_region(image, params, mask), mask != 0)
    np.testing.assert_array_equal(case_region(image, params),
                                  loop_reference(image[None], 0.0, False, 0)[0])
    assert case_region(image, ExpansionParams(mask_threshold=None)) is None
