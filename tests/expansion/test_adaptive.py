"""The ``adaptive`` expansion rule on hand-built phantoms whose true object is known."""
import numpy as np
import pytest

from pymic_paseg.config import ConfigError, Section
from pymic_paseg.expansion import BACKGROUND, FOREGROUND, ExpansionParams, expand_seeds

SHAPE = (20, 36, 36)
LOW, HIGH = 140.0, 180.0   # MRI-like units; a low-contrast object, 30 % brighter
NOISE = 4.0
MARGIN = 2               # background clicks this many voxels beyond the extremes


def _l_shape() -> np.ndarray:
    """A non-convex object: two 6-voxel-thick bars joined at a corner (an 'L')."""
    truth = np.zeros(SHAPE, bool)
    truth[7:13, 6:30, 6:12] = True    # long bar along y
    truth[7:13, 24:30, 6:30] = True   # foot along x
    return truth


def _clicks(truth: np.ndarray, click):
    """The box corners and the six background clicks MARGIN voxels beyond the extremes."""
    coords = np.argwhere(truth)
    lo, hi = coords.min(0) - MARGIN, coords.max(0) + MARGIN
    centre = ((lo + hi) // 2).tolist()
    background = []
    for axis in range(3):
        for end in (lo[axis], hi[axis]):
            voxel = list(centre)
            voxel[axis] = int(end)
            background.append(tuple(voxel))
    return (tuple(int(v) for v in lo), tuple(int(v) for v in hi)), background


def _phantom(seed=0):
    rng = np.random.default_rng(seed)
    truth = _l_shape()
    image = np.where(truth, HIGH, LOW) + rng.normal(0, NOISE, SHAPE)
    click = (10, 15, 9)   # inside the long bar, far from the object's centre of mass
    assert truth[click]
    box, background = _clicks(truth, click)
    return image.astype(np.float32), truth, click, box, background


def _precision_recall(region, truth):
    hits = np.count_nonzero(region & truth)
    return hits / max(np.count_nonzero(region), 1), hits / np.count_nonzero(truth)


@pytest.mark.parametrize("seed", [0, 1])
def test_adaptive_is_precise_on_a_low_contrast_l_shape_where_the_paper_rule_leaks(seed):
    image, truth, click, box, background = _phantom(seed)
    adaptive = expand_seeds(image, [click], [box], rule="adaptive",
                            background_voxels=[background])
    paper = expand_seeds(image, [click], [box], rule="paper")
    precision, recall = _precision_recall(adaptive == FOREGROUND, truth)
    paper_precision, _ = _precision_recall(paper == FOREGROUND, truth)
    assert precision >= 0.95 and recall >= 0.25, (precision, recall)
    assert paper_precision < precision, (paper_precision, precision)
    # Omega_B grown inward: it reaches into the box, but never onto the object
    in_box = np.zeros(SHAPE, bool)
    in_box[tuple(slice(a, b + 1) for a, b in zip(*box))] = True
    inward = (adaptive == BACKGROUND) & in_box
    assert np.count_nonzero(inward) > 0.5 * np.count_nonzero(in_box & ~truth)
    assert not np.any(inward & truth)


def test_omega_b_invariants_outside_boxes_mask_and_on_the_faces():
    image, truth, click, box, background = _phantom()
    valid = np.ones(SHAPE, bool)
    valid[:, :, :3] = False           # Omega_M cuts into the box
    label = expand_seeds(image, [click], [box], valid, rule="adaptive", class_num=3,
                         background_voxels=[background])
    assert set(np.unique(label)) <= {BACKGROUND, FOREGROUND, 3}
    in_box = np.zeros(SHAPE, bool)
    in_box[tuple(slice(a, b + 1) for a, b in zip(*box))] = True
    assert np.all(label[~in_box] == BACKGROUND)
    assert np.all(label[~valid] == BACKGROUND)
    faces = in_box & ~np.pad(np.ones([b - a - 1 for a, b in zip(*box)], bool),
                             [(a + 1, n - b) for a, b, n in zip(*box, SHAPE)])
    assert np.all(label[faces] == BACKGROUND)
    assert label[click] == FOREGROUND
    for voxel in background:
        assert label[voxel] == BACKGROUND


def test_a_voxel_in_another_objects_box_is_never_made_background_by_its_neighbour():
    image, truth, click, box, background = _phantom()
    # a second object whose box overlaps the first one's; nothing bright inside it
    other_click = (10, 4, 20)
    other_box = ((6, 1, 14), (14, 8, 26))
    label = expand_seeds(image, [click, other_click], [box, other_box], rule="adaptive")
    overlap = np.zeros(SHAPE, bool)
    overlap[tuple(slice(max(a, c), min(b, d) + 1)
                  for a, b, c, d in zip(*box, *other_box))] = True
    faces_of = np.zeros(SHAPE, bool)
    for lo, hi in (box, other_box):
        shell = np.zeros(SHAPE, bool)
        shell[tuple(slice(a, b + 1) for a, b in zip(lo, hi))] = True
        shell[tuple(slice(a + 1, b) for a, b in zip(lo, hi))] = False
        faces_of |= shell
    inner_overlap = overlap & ~faces_of
    assert inner_overlap.any()
    assert not np.any(label[inner_overlap] == BACKGROUND)


def test_flat_image_and_a_click_on_the_mask_edge_do_not_break_it():
    flat = np.zeros(SHAPE, np.float32)
    box = ((2, 2, 2), (12, 14, 16))
    label = expand_seeds(flat, [(6, 7, 8)], [box], rule="adaptive")
    assert label[6, 7, 8] == FOREGROUND and np.all(np.isin(label, [0, 1, 2]))


def test_rule_is_chosen_by_name_and_a_typo_is_named():
    params = ExpansionParams.from_section(Section("dataset", {"seedexpansion_rule": "paper"}))
    assert params.rule == "paper" and params.expansion_kwargs()["rule"] == "paper"
    with pytest.raises(ConfigError, match=r"SeedExpansion_rule.*Did you mean 'adaptive'"):
        ExpansionParams.from_section(Section("dataset", {"seedexpansion_rule": "adaptve"}))
    with pytest.raises(ValueError, match="rule must be one of"):
        expand_seeds(np.zeros(SHAPE, np.float32), [(6, 7, 8)], [((2, 2, 2), (12, 14, 16))],
                     rule="geodesic")


def test_same_label_in_other_units_and_at_another_voxel_size():
    """The rule scales the cost by the object's own contrast and by the finest step
    (intensities are a ratio scale, as in MRI: a unit change, not an offset)."""
    image, _, click, box, background = _phantom()
    kwargs = dict(rule="adaptive", background_voxels=[background])
    reference = expand_seeds(image, [click], [box], spacing=(1.0, 1.0, 1.0), **kwargs)
    rescaled = expand_seeds(image * 0.01, [click], [box], spacing=(1.0, 1.0, 1.0),
                            **kwargs)
    coarser = expand_seeds(image, [click], [box], spacing=(2.5, 2.5, 2.5), **kwargs)
    assert np.count_nonzero(rescaled != reference) <= 0.001 * reference.size
    np.testing.assert_array_equal(coarser, reference)


def _u_shape() -> np.ndarray:
    """Two 5-voxel-thick arms 4 voxels apart, joined at one end (a 'U'): non-convex."""
    truth = np.zeros(SHAPE, bool)
    truth[7:13, 5:30, 6:11] = True    # arm 1
    truth[7:13, 5:30, 15:20] = True   # arm 2, across a 4-voxel background gap
    truth[7:13, 25:30, 6:20] = True   # the bottom joining them
    return truth


@pytest.mark.parametrize("seed", [0, 1])
def test_on_a_low_contrast_u_shape_nothing_leaks_into_the_gap_between_the_arms(seed):
    rng = np.random.default_rng(seed)
    truth = _u_shape()
    image = (np.where(truth, HIGH, LOW) + rng.normal(0, NOISE, SHAPE)).astype(np.float32)
    click = (10, 9, 8)                 # near the open end of arm 1, next to the gap
    box, background = _clicks(truth, click)
    label = expand_seeds(image, [click], [box], rule="adaptive",
                         background_voxels=[background])
    paper = expand_seeds(image, [click], [box], rule="paper")
    gap = np.zeros(SHAPE, bool)
    gap[7:13, 5:25, 11:15] = True
    assert not np.any((label == FOREGROUND) & gap)
    assert np.any((paper == FOREGROUND) & gap)    # the paper's ball does cross it
    # the arms' edges stop the growth (a plateau): most of the U is reached, around the
    # bottom; at the no-edge fallback ratio the recall would be about 0.45
    precision, recall = _precision_recall(label == FOREGROUND, truth)
    assert precision >= 0.95 and recall >= 0.7, (precision, recall)


def test_a_high_contrast_object_is_filled_from_an_off_centre_click():
    rng = np.random.default_rng(0)
    grid = np.indices(SHAPE)
    centre, radii = np.array([10, 18, 18]), np.array([5, 9, 7])
    truth = (((grid - centre[:, None, None, None]) / radii[:, None, None, None]) ** 2
             ).sum(0) <= 1
    image = (np.where(truth, 2 * LOW, LOW) + rng.normal(0, NOISE, SHAPE)).astype(np.float32)
    click = (10, 13, 16)               # off-centre
    box, background = _clicks(truth, click)
    label = expand_seeds(image, [click], [box], rule="adaptive",
                         background_voxels=[background])
    precision, recall = _precision_recall(label == FOREGROUND, truth)
    assert precision >= 0.95 and recall >= 0.5, (precision, recall)


def test_without_an_edge_omega_f_stops_at_the_fallback_ratio():
    """Noise only: no plateau, so Omega_F = {D_F < RATIO * D_B} within the gate."""
    from pymic_paseg.expansion import adaptive
    from pymic_paseg.expansion.plateau import most_stable_threshold
    rng = np.random.default_rng(3)
    image = (LOW + rng.normal(0, NOISE, (16, 24, 24))).astype(np.float32)
    valid = np.ones(image.shape, bool)
    click = (8, 9, 14)
    maps = adaptive.object_distances(image, valid, click, (1.0, 1.0, 1.0))
    ratio = np.where(maps.d_b > 0, maps.d_f / np.where(maps.d_b > 0, maps.d_b, 1), np.inf)
    gate = np.abs(maps.smooth - maps.inside_median) <= min(
        adaptive.GATE * maps.inside_spread, adaptive.GATE_CONTRAST * maps.contrast)
    _, change = most_stable_threshold(ratio, gate, *adaptive.PLATEAU_RATIOS,
                                      adaptive.PLATEAU_STEPS, adaptive.PLATEAU_WINDOW,
                                      adaptive.PLATEAU_MIN_VOXELS)
    assert change >= adaptive.PLATEAU_MAX_CHANGE
    foreground, _ = adaptive.object_regions(image, valid, click, (1.0, 1.0, 1.0))
    expected = (ratio < adaptive.RATIO) & gate
    expected[click] = True
    np.testing.assert_array_equal(foreground, expected)
