"""ValidRegionMask: Ω_M appended to the label, keys checked, errors name the case."""
import numpy as np
import pytest

from pymic_paseg.config import ConfigError
from pymic_paseg.transforms.valid_region import (VALID_MASK_CHANNEL, ValidRegionMask,
                                                 valid_mask_from_label)


def _transform(**keys):
    return ValidRegionMask({"task": "seg", **{f"validregionmask_{k}": v for k, v in keys.items()}})


def _sample(channels=2, seed=0):
    rng = np.random.default_rng(seed)
    image = rng.integers(-1, 3, (channels, 3, 4, 5)).astype(np.float32)
    label = rng.integers(0, 3, (1, 3, 4, 5)).astype(np.uint8)
    return {"image": image, "label": label, "names": ["case7.nii.gz"]}


@pytest.mark.parametrize("threshold, channel", [(0.0, 0), (1.0, 1), (-1.0, 0)])
def test_mask_is_the_chosen_channel_above_the_threshold(threshold, channel):
    sample = _sample()
    image, label = sample["image"].copy(), sample["label"].copy()
    out = _transform(threshold=threshold, channel=channel)(sample)
    assert out["label"].shape == (2, 3, 4, 5) and out["label"].dtype == np.uint8
    np.testing.assert_array_equal(out["label"][0], label[0])  # the label itself is untouched
    expected = np.zeros((3, 4, 5), np.uint8)
    for index in np.ndindex(3, 4, 5):
        expected[index] = image[(channel,) + index] > threshold
    np.testing.assert_array_equal(out["label"][VALID_MASK_CHANNEL], expected)
    np.testing.assert_array_equal(out["image"], image)


def test_label_channel_is_read_back_as_a_batched_bool_mask():
    import torch
    out = _transform()(_sample())
    batch = torch.from_numpy(np.stack([out["label"], out["label"]]))
    mask = valid_mask_from_label(batch)
    assert mask.dtype == torch.bool and tuple(mask.shape) == (2, 1, 3, 4, 5)
    np.testing.assert_array_equal(mask[1, 0].numpy(), out["label"][1] > 0)
    assert valid_mask_from_label(batch[:, :1]) is None and valid_mask_from_label(None) is None


def test_bad_settings_and_samples_name_the_key_or_the_case():
    with pytest.raises(ConfigError, match=r"(?i)ValidRegionMask_channel = -1"):
        _transform(channel=-1)
    with pytest.raises(ConfigError, match=r"(?i)ValidRegionMask_treshold"):
        _transform(treshold=0)
    with pytest.raises(ValueError, match=r"ValidRegionMask_channel = 2.*case7.*2 channel"):
        _transform(channel=2)(_sample())
    no_label = _sample()
    del no_label["label"]
    with pytest.raises(ValueError, match="needs a label for case7"):
        _transform()(no_label)
    twice = _transform()(_sample())
    with pytest.raises(ValueError, match="listed twice"):
        _transform()(twice)
