"""Click simulator: the guarantees of the protocol, reproducibility, margins in mm."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from pymic_paseg.annotation import ImageGeometry, find_problems, simulate_clicks
from pymic_paseg.annotation.simulate import SIDES

SPACING = (3.0, 1.0, 0.5)  # strongly anisotropic, (z, y, x)
MARGIN = (2.0, 8.0)


def _ellipsoid(shape=(24, 64, 96), centre=(12, 30, 50), radii_mm=(18.0, 12.0, 9.0)):
    grid = np.indices(shape).astype(float)
    dist = sum(((grid[a] - centre[a]) * SPACING[a] / radii_mm[a]) ** 2 for a in range(3))
    return (dist <= 1.0).astype(np.uint8)


def _check_object(obj, component, spacing=SPACING, margin=MARGIN, jitter=False):
    """The protocol's guarantees for one simulated object and its component mask."""
    fg = obj.foreground.voxel
    assert component[fg], "foreground click must lie inside the object"
    lo, hi = obj.box()
    where = np.argwhere(component)
    assert np.all(where.min(0) > lo) and np.all(where.max(0) < hi), "box must contain object"
    for click, (axis, sign) in zip(obj.background, SIDES):
        extreme = where.max(0)[axis] if sign > 0 else where.min(0)[axis]
        beyond_mm = sign * (click.voxel[axis] - extreme) * spacing[axis]
        assert beyond_mm > 0, "background click must lie beyond the object's extreme"
        if not jitter:
            assert margin[0] <= beyond_mm < margin[1] + spacing[axis]
        for other in set(range(3)) - {axis}:
            assert where.min(0)[other] <= click.voxel[other] <= where.max(0)[other]


def test_guarantees_on_an_anisotropic_ellipsoid():
    mask = _ellipsoid()
    case = simulate_clicks(mask, SPACING, seed=0, case_id="e")
    assert case.case_id == "e" and case.geometry.spacing_zyx == SPACING
    (obj,) = case.objects
    _check_object(obj, mask.astype(bool))
    assert obj.notes == ()
    assert [c.source for c in obj.background] == [f"simulated {a}{s}" for a in "zyx"
                                                  for s in "-+"]
    assert find_problems(case) == []


def test_reproducible_for_a_seed_and_different_for_another():
    mask = _ellipsoid()
    first = simulate_clicks(mask, SPACING, seed=7)
    again = simulate_clicks(mask, SPACING, seed=7)
    other = simulate_clicks(mask, SPACING, seed=8)
    assert first == again
    assert first.objects[0].clicks != other.objects[0].clicks


def test_foreground_is_deep_but_not_fixed_at_the_centroid():
    mask = _ellipsoid()
    depth = ndimage.distance_transform_edt(np.pad(mask, 1), sampling=SPACING)[1:-1, 1:-1, 1:-1]
    fgs = {simulate_clicks(mask, SPACING, seed=s).objects[0].foreground.voxel for s in range(8)}
    assert len(fgs) > 1
    assert all(depth[v] >= 0.5 * depth.max() for v in fgs)
    deepest = simulate_clicks(mask, SPACING, seed=0, min_depth_fraction=1.0)
    assert depth[deepest.objects[0].foreground.voxel] == depth.max()


@pytest.mark.parametrize("margin", [(2.0, 8.0), (4.0, 4.0), (0.0, 0.5)])
def test_margins_in_mm_respected(margin):
    mask = _ellipsoid()
    for seed in range(5):
        obj = simulate_clicks(mask, SPACING, seed=seed, margin_mm=margin).objects[0]
        _check_object(obj, mask.astype(bool), margin=margin)


def test_jitter_keeps_the_guarantees():
    mask = _ellipsoid()
    for seed in range(10):
        case = simulate_clicks(mask, SPACING, seed=seed, jitter_mm=3.0)
        _check_object(case.objects[0], mask.astype(bool), jitter=True)
        assert find_problems(case) == []
    assert simulate_clicks(mask, SPACING, seed=1, jitter_mm=3.0) != simulate_clicks(
        mask, SPACING, seed=1)


def test_one_set_per_connected_component_of_each_label():
    mask = np.zeros((24, 64, 96), np.int16)
    mask[4:9, 5:15, 5:20] = 1
    mask[4:9, 40:50, 60:80] = 1      # a second component of label 1
    mask[15:20, 30:40, 30:50] = 3
    mask[15:20, 30:40, 50:60] = 3    # touches the previous block: same component
    mask[20, 60, 90] = 1             # a single voxel, dropped with min_size=2
    mask[10, 20, 20] = 1             # another single voxel
    case = simulate_clicks(mask, SPACING, seed=3, min_size=2)
    assert [(o.object_id, o.label) for o in case.objects] == [("1", 1), ("2", 1), ("3", 3)]
    components, _ = ndimage.label(mask > 0, structure=np.ones((3, 3, 3)))
    for obj in case.objects:
        component = components == components[obj.foreground.voxel]
        _check_object(obj, component)
    assert len(simulate_clicks(mask, SPACING, seed=3).objects) == 5


def test_diagonal_voxels_are_one_object_with_26_connectivity():
    mask = np.zeros((10, 10, 10), np.uint8)
    mask[4, 4, 4] = mask[5, 5, 5] = 1
    assert len(simulate_clicks(mask, (1.0, 1.0, 1.0), seed=0).objects) == 1


def test_border_clipping_is_noted(caplog):
    mask = np.zeros((24, 64, 96), np.uint8)
    mask[8:16, 20:40, 1:30] = 1      # one voxel from x = 0
    case = simulate_clicks(mask, SPACING, seed=0, case_id="edge", margin_mm=(4.0, 8.0))
    obj = case.objects[0]
    x_minus = obj.background[4]
    assert x_minus.voxel[2] == 0
    assert len(obj.notes) == 1
    assert obj.notes[0].startswith(f"background click x- clipped to the image border: "
                                   f"{SPACING[2]:.2f} mm beyond the object instead of ")
    assert "case edge, object 1: background click x- clipped" in caplog.text


def test_geometry_argument_must_fit_the_mask():
    mask = _ellipsoid()
    geometry = ImageGeometry(tuple(reversed(mask.shape)), tuple(reversed(SPACING)),
                             (10.0, -5.0, 3.0), tuple(np.diag([-1.0, -1.0, 1.0]).ravel()))
    assert simulate_clicks(mask, SPACING, seed=0, geometry=geometry).geometry is geometry
    with pytest.raises(ValueError, match="does not match the mask"):
        simulate_clicks(mask, (3.0, 1.0, 1.0), seed=0, geometry=geometry)


@pytest.mark.parametrize("kwargs, message", [
    ({"mask": np.zeros((4, 4)), "spacing_zyx": (1, 1, 1)}, "mask must be a 3D integer array"),
    ({"mask": np.zeros((4, 4, 4), float), "spacing_zyx": (1, 1, 1)}, "Got: float64"),
    ({"spacing_zyx": (1, 0, 1)}, "spacing_zyx must be 3 positive numbers. Got: (1.0, 0.0, 1.0)"),
    ({"margin_mm": (5.0, 2.0)}, "margin_mm must be (low, high) with 0 <= low <= high"),
    ({"jitter_mm": -1.0}, "jitter_mm must be >= 0. Got: -1.0"),
    ({"min_depth_fraction": 1.5}, "min_depth_fraction must be in [0, 1]. Got: 1.5"),
    ({"min_size": 0}, "min_size must be >= 1. Got: 0"),
])
def test_bad_arguments(kwargs, message):
    args = {"mask": np.zeros((4, 4, 4), np.uint8), "spacing_zyx": (1, 1, 1), **kwargs}
    with pytest.raises(ValueError) as info:
        simulate_clicks(args.pop("mask"), args.pop("spacing_zyx"), seed=0, **args)
    assert message in str(info.value)
