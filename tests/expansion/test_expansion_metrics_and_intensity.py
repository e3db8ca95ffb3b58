"""expansion_metrics against hand-computed values; Omega_M and intensity scaling."""
import numpy as np
import pytest

from pymic_paseg.expansion import expansion_metrics, normalize_intensity, valid_mask_from_image


def test_metrics_hand_computed():
    # 10 voxels: GT foreground = first 4. Partial: fg at 1..4, bg at 7..9, unlabeled (2) at 0, 5, 6
    truth = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0]).reshape(1, 1, 10)
    label = np.array([2, 1, 1, 1, 1, 2, 2, 0, 0, 0], np.uint8).reshape(1, 1, 10)
    metrics = expansion_metrics(label, truth, class_num=2)
    # fg: TP = 3 (voxels 1..3), FP = 1 (voxel 4), FN = 1 (voxel 0)
    assert metrics["fg_precision"] == pytest.approx(3 / 4)
    assert metrics["fg_recall"] == pytest.approx(3 / 4)
    assert metrics["fg_dice"] == pytest.approx(6 / 8)
    # bg: predicted {7, 8, 9}, truth {4..9}: TP = 3, FP = 0, FN = 3
    assert metrics["bg_precision"] == pytest.approx(1.0)
    assert metrics["bg_recall"] == pytest.approx(3 / 6)
    assert metrics["bg_dice"] == pytest.approx(6 / 9)
    assert (metrics["fg_fraction"], metrics["bg_fraction"], metrics["unlabeled_fraction"]) == (
        pytest.approx(0.4), pytest.approx(0.3), pytest.approx(0.3))


def test_metrics_multiclass_partial_label_and_empty_sets():
    truth = np.zeros((2, 2, 2), np.uint8)
    label = np.full((2, 2, 2), 3, np.uint8)
    label[0, 0, 0] = 2  # a foreground class of a 3-class task
    metrics = expansion_metrics(label, truth, class_num=3)
    assert metrics["fg_precision"] == 0.0 and metrics["fg_recall"] == 0.0  # medpy convention
    assert metrics["bg_precision"] == 0.0 and metrics["bg_recall"] == 0.0


def test_metrics_bad_input():
    with pytest.raises(ValueError, match=r"same shape"):
        expansion_metrics(np.zeros((2, 2, 2)), np.zeros((2, 2, 3)), 2)
    with pytest.raises(ValueError, match=r"values must be in \[0, class_num=2\]. Got: \[0, 5\]"):
        expansion_metrics(np.array([[[0, 5]]]), np.zeros((1, 1, 2)), 2)


def test_valid_mask_from_image():
    image = np.array([[[0.0, 0.5, 2.0]]])
    np.testing.assert_array_equal(valid_mask_from_image(image, 0.0), [[[False, True, True]]])
    two_channels = np.stack([image, image[..., ::-1]])
    np.testing.assert_array_equal(valid_mask_from_image(two_channels, 1.0), [[[True, False, True]]])
    with pytest.raises(ValueError, match=r"\(D, H, W\) or \(C, D, H, W\)"):
        valid_mask_from_image(image[0], 0.0)


def test_zscore_uses_only_the_valid_region():
    rng = np.random.default_rng(0)
    image = rng.normal(5.0, 3.0, (2, 4, 5, 6))
    valid = np.zeros((4, 5, 6), bool)
    valid[1:3] = True
    image[:, ~valid] = 1000.0
    scaled = normalize_intensity(image, valid, "zscore")
    assert scaled.dtype == np.float32
    np.testing.assert_allclose(scaled[:, valid].mean(axis=1), 0.0, atol=1e-5)
    np.testing.assert_allclose(scaled[:, valid].std(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(normalize_intensity(image, valid, "none"),
                                  image.astype(np.float32))
    constant = normalize_intensity(np.full((1, 2, 2, 2), 4.0), np.ones((2, 2, 2), bool), "zscore")
    np.testing.assert_array_equal(constant, 0.0)
