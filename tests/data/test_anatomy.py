"""The real-anatomy evaluation objects and their human-like clicks (nilearn's MNI template)."""
import numpy as np
import pytest

pytest.importorskip("nilearn")

from pymic_paseg.data.anatomy import (HUMAN_CLICKS, KINDS, anatomy_cases, anatomy_objects,
                                      clicks_like_a_human)
from pymic_paseg.data.template import GM_FILE, PROBABILITY_MAX, _read, load_template


@pytest.fixture(scope="module")
def objects():
    return anatomy_objects()


def test_each_kind_is_a_mirror_pair_of_plausible_size_and_tissue(objects):
    template = load_template()
    gm = _read(GM_FILE)[0] / PROBABILITY_MAX
    mid = template.shape[2] / 2
    assert set(objects) == set(KINDS)
    for kind, (left, right) in objects.items():
        assert left.sum() == right.sum(), kind           # the template is symmetric
        assert np.argwhere(left)[:, 2].max() < mid < np.argwhere(right)[:, 2].min(), kind
        volume_ml = left.sum() * np.prod(template.spacing_xyz) / 1000
        assert 1.0 < volume_ml < 15.0, (kind, volume_ml)  # deep nuclei and ventricles
        assert not np.any(left & right)
        if kind == "ventricle":                          # CSF: dark in T1, little GM
            assert template.t1[left].mean() < 0.6 * template.wm_reference
        else:                                            # grey matter: low contrast to WM
            assert gm[left].mean() > 0.5
            assert 0.6 * template.wm_reference < template.t1[left].mean() < template.wm_reference
    # distinct structures
    names = list(objects)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not np.any(objects[a][0] & objects[b][0]), (a, b)


def test_clicks_behave_like_a_human_on_a_known_box():
    truth = np.zeros((30, 30, 30), bool)
    truth[8:20, 10:22, 6:26] = True
    for seed in range(5):
        case = clicks_like_a_human(truth, (1.0, 1.0, 1.0), seed, "box")
        (obj,) = case.objects
        assert truth[obj.foreground.voxel]
        lo, hi = obj.box()
        low, high = HUMAN_CLICKS["margin_mm"]
        for axis, (a, b, first, last) in enumerate(zip(lo, hi, (8, 10, 6), (19, 21, 25))):
            assert 1 <= first - a <= int(np.ceil(high)), (axis, first - a)
            assert 1 <= b - last <= int(np.ceil(high)), (axis, b - last)
    clicks = {clicks_like_a_human(truth, (1.0, 1.0, 1.0), s, "box").objects[0].foreground.voxel
              for s in range(8)}
    assert len(clicks) > 4                               # anywhere inside, not one centre


def test_cases_hold_consistent_arrays(objects):
    cases = anatomy_cases(variants=1, kinds=("caudate",))
    assert [c.case_id for c in cases] == ["caudate_left_0", "caudate_right_0"]
    for case in cases:
        assert case.image.shape == case.mask.shape == case.truth.shape
        assert case.truth.sum() == objects["caudate"][0].sum()
        assert np.all(case.mask[case.truth]) and np.all(case.image[~case.mask] == 0)
        (obj,) = case.annotation.objects
        assert case.truth[obj.foreground.voxel]
    assert not np.array_equal(cases[0].image, cases[1].image[:, :, ::-1])   # own noise
