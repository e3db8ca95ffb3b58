"""The most stable threshold (the adaptive rule's stopping test) and the level-set frontier
(the oracle of benchmarks/expansion_frontier.py), against brute force."""
import numpy as np
import pytest

from pymic_paseg.expansion.frontier import level_set_frontier
from pymic_paseg.expansion.plateau import most_stable_threshold


def _brute_change(score, region, t, window):
    values = score[region]
    size = np.count_nonzero(values < t)
    grown = np.count_nonzero(values < t * (1 + window))
    shrunk = np.count_nonzero(values < t * (1 - window))
    return (grown - shrunk) / max(size, 1), size


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_most_stable_threshold_matches_a_loop_over_the_thresholds(seed):
    rng = np.random.default_rng(seed)
    score = rng.gamma(2.0, 0.4, (6, 7, 8))
    region = rng.random(score.shape) < 0.8
    t, change = most_stable_threshold(score, region, 0.3, 1.2, 17, 0.07, 5)
    best = (np.inf, None)
    for candidate in np.geomspace(0.3, 1.2, 17):
        value, size = _brute_change(score, region, candidate, 0.07)
        if size >= 5 and value < best[0]:
            best = (value, candidate)
    assert change == pytest.approx(best[0]) and t == pytest.approx(best[1])


def test_a_gap_in_the_scores_is_found_as_a_plateau_and_a_steady_spread_is_not():
    # 200 voxels scoring 0.2-0.5, none in 0.5-0.9, the rest 0.9-2: a plateau at 0.55-0.8
    rng = np.random.default_rng(0)
    score = np.concatenate([rng.uniform(0.2, 0.5, 200), rng.uniform(0.9, 2.0, 800)])
    region = np.ones(score.shape, bool)
    t, change = most_stable_threshold(score, region, 0.3, 1.2, 41, 0.07, 30)
    assert change == 0.0 and 0.5 < t * 0.93 and t * 1.07 < 0.9
    # a ball growing in a homogeneous volume (no edge): its volume grows as t^3
    grid = np.indices((41, 41, 41)) - 20
    steady = np.sqrt((grid ** 2).sum(0)) / 16.0
    _, steady_change = most_stable_threshold(steady, np.ones(steady.shape, bool), 0.3, 1.2,
                                             41, 0.07, 30)
    assert steady_change > 0.1


def test_most_stable_threshold_too_few_voxels_and_bad_arguments():
    score = np.linspace(0, 1, 10)
    t, change = most_stable_threshold(score, np.ones(10, bool), 0.3, 1.2, 5, 0.07, 50)
    assert np.isnan(t) and change == np.inf
    with pytest.raises(ValueError, match="one shape"):
        most_stable_threshold(score, np.ones(9, bool), 0.3, 1.2, 5, 0.07, 1)
    with pytest.raises(ValueError, match="0 < window < 1"):
        most_stable_threshold(score, np.ones(10, bool), 0.3, 1.2, 5, 1.5, 1)


@pytest.mark.parametrize("seed", [0, 1])
def test_level_set_frontier_matches_every_threshold_tried(seed):
    rng = np.random.default_rng(seed)
    score = rng.random((5, 6, 7))            # distinct values: thresholds = prefixes
    truth = (score + 0.6 * rng.random(score.shape)) < 0.7
    region = rng.random(score.shape) < 0.9
    total = int(truth.sum()) + 3             # part of the object lies outside the crop
    precision, recall = level_set_frontier(score, truth, region, 0.25, 0.9, total)
    best_p, best_r = np.nan, 0.0
    for t in np.sort(score[region]):
        kept = region & (score <= t)
        p = np.count_nonzero(kept & truth) / np.count_nonzero(kept)
        r = np.count_nonzero(kept & truth) / total
        if r >= 0.25:
            best_p = p if np.isnan(best_p) else max(best_p, p)
        if p >= 0.9:
            best_r = max(best_r, r)
    assert precision == pytest.approx(best_p) and recall == pytest.approx(best_r)


def test_level_set_frontier_unreachable_targets_and_bad_input():
    score = np.arange(8.0)
    truth = np.array([0, 1, 0, 1, 0, 0, 0, 0], bool)
    region = np.ones(8, bool)
    precision, recall = level_set_frontier(score, truth, region, 1.0, 0.99, truth_total=4)
    assert np.isnan(precision) and recall == 0.0
    with pytest.raises(ValueError, match="one shape"):
        level_set_frontier(score, truth[:4], region, 0.25, 0.9)
    with pytest.raises(ValueError, match="empty"):
        level_set_frontier(score, np.zeros(8, bool), region, 0.25, 0.9)
