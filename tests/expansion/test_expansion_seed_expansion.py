"""expand_seeds on bright cubes: where labels go, how Omega_F grows with epsilon."""
import numpy as np
import pytest
from expansion_helpers import SHAPE, add_cube, cube_case, inside_box

from pymic_paseg.expansion import BACKGROUND, FOREGROUND, expand_seeds
from pymic_paseg.geodesic import geodesic_distance

SPACING = (1.5, 1.0, 1.0)
SETTINGS = [dict(), dict(cost="geos", intensity_normalization="zscore"),
            dict(cost="fastgeodis", intensity_normalization="zscore", lamb=0.8)]


@pytest.mark.parametrize("settings", SETTINGS, ids=["pa-seg-defaults", "geos-zscore",
                                                    "fastgeodis-zscore"])
def test_foreground_stays_in_the_cube_and_grows_with_epsilon(settings):
    image, truth, click, box = cube_case()
    previous = None
    for epsilon in (0.05, 0.1, 0.2, 0.3):
        label = expand_seeds(image, [click], [box], None, SPACING, epsilon=epsilon, **settings)
        foreground = label == FOREGROUND
        assert foreground[click]
        assert np.all(truth[foreground]), f"leaked out of the cube at epsilon={epsilon}"
        if previous is not None:
            assert np.all(foreground[previous]) and foreground.sum() >= previous.sum()
        previous = foreground
    assert previous.sum() > 27  # a moderate epsilon fills a good part of the 512-voxel cube


def test_epsilon_zero_keeps_only_the_click_and_one_fills_the_box():
    image, _, click, box = cube_case()
    label = expand_seeds(image, [click], [box], epsilon=0.0)
    assert np.argwhere(label == FOREGROUND).tolist() == [list(click)]
    label = expand_seeds(image, [click], [box], epsilon=1.0)
    in_box = inside_box(SHAPE, box)
    assert np.count_nonzero(label[in_box] != FOREGROUND) <= 1  # strict '<': the farthest voxel


@pytest.mark.parametrize("class_num", [2, 3])
def test_background_outside_boxes_and_mask_unlabeled_elsewhere(class_num):
    image, _, click, box = cube_case()
    valid = np.ones(SHAPE, bool)
    valid[:, :, :11] = False  # cuts through the box and the cube, not through the click
    label = expand_seeds(image, [click], [box], valid, SPACING, class_num=class_num,
                         epsilon=0.3)
    in_box = inside_box(SHAPE, box)
    assert np.all(label[~in_box] == BACKGROUND)
    assert np.all(label[~valid] == BACKGROUND)
    assert set(np.unique(label[in_box & valid])) == {FOREGROUND, class_num}
    assert label.dtype == np.uint8


def test_multiple_objects_each_stay_in_their_cube():
    rng = np.random.default_rng(1)
    image = rng.normal(0.0, 0.05, SHAPE).astype(np.float32)
    truths = [np.zeros(SHAPE, bool), np.zeros(SHAPE, bool)]
    first = add_cube(image, truths[0], (2, 2, 2), 6)
    second = add_cube(image, truths[1], (8, 13, 16), 7)
    label = expand_seeds(image, [first[0], second[0]], [first[1], second[1]], epsilon=0.2)
    for (click, box), truth in zip((first, second), truths):
        in_box = inside_box(SHAPE, box)
        foreground = (label == FOREGROUND) & in_box
        assert foreground[click] and foreground.sum() > 1 and np.all(truth[foreground])
    union = inside_box(SHAPE, first[1]) | inside_box(SHAPE, second[1])
    assert np.all(label[~union] == BACKGROUND) and np.all(label[union] != BACKGROUND)


def test_matches_the_original_pa_seg_rule_for_one_object():
    """PA-Seg's script: crop to the box, where(D < eps * max(D), 1, 2), 0 outside."""
    image, _, click, box = cube_case(seed=3)
    lo, hi = box
    crop = tuple(slice(a, b + 1) for a, b in zip(lo, hi))
    seed = np.zeros(image[crop].shape, bool)
    seed[tuple(c - a for c, a in zip(click, lo))] = True
    distance = geodesic_distance(image[crop], seed, SPACING, 0.5, 4, cost="geodistk")
    expected = np.zeros(SHAPE, np.uint8)
    expected[crop] = np.where(distance < 0.2 * distance.max(), 1, 2)
    np.testing.assert_array_equal(expand_seeds(image, [click], [box], None, SPACING), expected)


def test_voxels_outside_the_box_do_not_matter():
    image, _, click, box = cube_case()
    other = image.copy()
    other[~inside_box(SHAPE, box)] = 100.0
    np.testing.assert_array_equal(expand_seeds(image, [click], [box]),
                                  expand_seeds(other, [click], [box]))


def test_multichannel_image():
    image, truth, click, box = cube_case()
    label = expand_seeds(np.stack([image, 2 * image]), [click], [box], epsilon=0.2)
    assert label[click] == FOREGROUND and np.all(truth[label == FOREGROUND])


def test_no_object_is_all_background():
    image, _, _, _ = cube_case()
    assert np.all(expand_seeds(image, [], []) == BACKGROUND)


@pytest.mark.parametrize("clicks, boxes, message", [
    ([(1, 1, 1)], [], r"one foreground click per box is needed"),
    ([(0, 0, 0)], [((1, 1, 1), (3, 3, 3))], r"object 0: foreground click \(0, 0, 0\) is outside"),
    ([(1, 1, 1)], [((0, 0, 0), (3, 3, 99))], r"object 0: box .* must satisfy 0 <= lo <= hi <"),
    ([(1, 1, 1)], [((2, 0, 0), (1, 3, 3))], r"object 0: box .* must satisfy"),
    ([(1, 1)], [((0, 0, 0), (3, 3, 3))], r"must be \(z, y, x\)"),
])
def test_bad_objects(clicks, boxes, message):
    image, _, _, _ = cube_case()
    with pytest.raises(ValueError, match=message):
        expand_seeds(image, clicks, boxes)


def test_bad_arguments():
    image, _, click, box = cube_case()
    with pytest.raises(ValueError, match=r"epsilon must be in \[0, 1\]. Got: 1.5"):
        expand_seeds(image, [click], [box], epsilon=1.5)
    with pytest.raises(ValueError, match=r"class_num must be an integer in \[2, 255\]"):
        expand_seeds(image, [click], [box], class_num=1)
    with pytest.raises(ValueError, match=r"valid_mask must have the image's spatial shape"):
        expand_seeds(image, [click], [box], np.ones((2, 2, 2), bool))
    with pytest.raises(ValueError, match=r"\(D, H, W\) or \(C, D, H, W\)"):
        expand_seeds(image[0], [click], [box])
