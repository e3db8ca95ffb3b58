"""The epsilon sweep (Fig. 4) against one full expand_seeds run per epsilon."""
import logging

import numpy as np
import pytest

from expansion_helpers import cube_case
from pymic_paseg.annotation import CaseAnnotation, ImageGeometry, ObjectAnnotation
from pymic_paseg.expansion import ExpansionParams, expand_seeds, expansion_metrics
from pymic_paseg.expansion.sweep import object_distances, sweep_case, threshold_label

EPSILONS = (0.05, 0.2, 0.5, 0.9)
SPACING = (2.0, 1.0, 0.8)


def _case():
    image, truth, click, box = cube_case(seed=3)
    lo, hi = box
    z, y, x = click
    background = [(lo[0], y, x), (hi[0], y, x), (z, lo[1], x), (z, hi[1], x), (z, y, lo[2]),
                  (z, y, hi[2])]
    geometry = ImageGeometry.from_array_grid(image.shape, SPACING)
    case = CaseAnnotation("cube", (ObjectAnnotation.from_voxels("1", click, background),),
                          geometry)
    return image, truth, case, geometry


def _full(image, case, params, valid, epsilon):
    obj = case.objects[0]
    kwargs = {**params.expansion_kwargs(), "epsilon": epsilon}
    return expand_seeds(image, [obj.foreground.voxel], [obj.box()], valid, SPACING,
                        class_num=2, **kwargs)


@pytest.mark.parametrize("with_mask", [False, True])
def test_sweep_equals_a_full_expansion_at_every_epsilon(with_mask, caplog):
    image, truth, case, geometry = _case()
    valid = None
    if with_mask:
        valid = np.ones(image.shape, bool)
        valid[:, :, :12] = False  # Omega_M cuts through the box (and the cube)
    params = ExpansionParams(rule="paper", epsilon=0.2)
    partial = _full(image, case, params, valid, params.epsilon)
    with caplog.at_level(logging.WARNING, logger="pymic_paseg.expansion.sweep"):
        got = sweep_case(image, case, geometry, params, valid, partial, truth, EPSILONS, 2)
    assert "does not reproduce" not in caplog.text  # the one-distance path, not the fallback
    assert [g["epsilon"] for g in got] == list(EPSILONS)
    for entry, eps in zip(got, EPSILONS):
        expected = expansion_metrics(_full(image, case, params, valid, eps), truth, 2)
        assert entry == {"epsilon": eps, **expected}, eps
    recalls = [g["fg_recall"] for g in got]
    assert recalls == sorted(recalls) and recalls[0] < recalls[-1]  # a larger Omega_F


def test_threshold_at_the_runs_epsilon_reproduces_its_label():
    image, _, case, geometry = _case()
    params = ExpansionParams(rule="paper", epsilon=0.2)
    partial = _full(image, case, params, None, 0.2)
    distances = object_distances(image, case, geometry, params, None)
    assert len(distances) == 1 and distances[0].d_max > 0
    np.testing.assert_array_equal(threshold_label(partial, distances, 0.2, 2), partial)
    # epsilon 0: only the click is foreground
    label = threshold_label(partial, distances, 0.0, 2)
    assert np.count_nonzero(label == 1) == 1 and label[case.objects[0].foreground.voxel] == 1


def test_a_label_the_distances_do_not_reproduce_falls_back_to_full_runs(caplog):
    image, truth, case, geometry = _case()
    params = ExpansionParams(rule="paper", epsilon=0.2)
    partial = _full(image, case, params, None, 0.2)
    stale = partial.copy()
    stale[np.nonzero(partial == 2)[0][0], np.nonzero(partial == 2)[1][0],
          np.nonzero(partial == 2)[2][0]] = 1  # one voxel the distances would not give
    with caplog.at_level(logging.WARNING, logger="pymic_paseg.expansion.sweep"):
        got = sweep_case(image, case, geometry, params, None, stale, truth, (0.1, 0.5), 2)
    assert "does not reproduce expand_seeds at epsilon=0.2 (1 voxel(s) differ)" in caplog.text
    for entry, eps in zip(got, (0.1, 0.5)):
        assert entry == {"epsilon": eps, **expansion_metrics(
            _full(image, case, params, None, eps), truth, 2)}
