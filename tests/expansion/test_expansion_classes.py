"""Several classes in the partial label: each object's Omega_F takes its class.

The binary references are SHA-256 prefixes of the partial labels written by the code
before classes existed (main at commit 79ee9bd), for the same inputs on this machine.
"""
from __future__ import annotations

import hashlib

import numpy as np
import pytest
import SimpleITK as sitk

from expansion_helpers import NOISE, SHAPE, add_cube
from pymic_paseg.annotation import AnnotationError, CaseAnnotation, ImageGeometry, simulate_clicks
from pymic_paseg.annotation.model import ObjectAnnotation
from pymic_paseg.expansion.case_expansion import expand_annotation, valid_region
from pymic_paseg.expansion.classes import checked_classes, paint_foreground
from pymic_paseg.expansion.params import ExpansionParams
from pymic_paseg.expansion.seed_expansion import expand_seeds

SPACING = (1.0, 1.0, 1.0)
RULES = ("paper", "adaptive")
#: main@79ee9bd, two class-1 cubes with overlapping boxes (see ``two_cubes``), epsilon 0.6.
BINARY_TWO_CUBES = {"paper": "bca683ea908b2fe1", "adaptive": "83eefc4259f74c73"}
#: main@79ee9bd, demo dataset seed 3 (2 cases), clicks simulated with seed = case index.
BINARY_DEMO = {("case_000", "paper"): "5b324d25c1bd402b",
               ("case_000", "adaptive"): "bfdea6489269cc73",
               ("case_001", "paper"): "b91868b7c23608f9",
               ("case_001", "adaptive"): "fe3d782fb00055c5"}


def digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()[:16]


def two_cubes():
    rng = np.random.default_rng(7)
    image = rng.normal(0.0, NOISE, SHAPE).astype(np.float32)
    truth = np.zeros(SHAPE, bool)
    first = add_cube(image, truth, (4, 4, 4), 6)
    second = add_cube(image, truth, (5, 9, 10), 6)
    return image, first, second


@pytest.mark.parametrize("rule", RULES)
def test_binary_output_is_byte_identical_to_before(rule):
    image, (c1, b1), (c2, b2) = two_cubes()
    out = expand_seeds(image, [c1, c2], [b1, b2], None, SPACING, rule=rule, epsilon=0.6)
    assert digest(out) == BINARY_TWO_CUBES[rule]
    same = expand_seeds(image, [c1, c2], [b1, b2], None, SPACING, rule=rule, epsilon=0.6,
                        classes=[1, 1])
    np.testing.assert_array_equal(same, out)


def test_binary_demo_cases_are_byte_identical_to_before(tmp_path):
    from pymic_paseg.data import DemoConfig, build_demo_dataset
    ds = build_demo_dataset(tmp_path, DemoConfig(n_cases=2, seed=3, n_valid=0, n_test=0),
                            progress=False)
    for record in ds.cases:
        image_obj = sitk.ReadImage(str(ds.root / record.image))
        geometry = ImageGeometry.from_image(image_obj)
        image = sitk.GetArrayFromImage(image_obj).astype(np.float32)
        label = sitk.GetArrayFromImage(sitk.ReadImage(str(ds.root / record.label)))
        case = simulate_clicks(label, geometry.spacing_zyx, seed=record.index,
                               case_id=record.case, geometry=geometry)
        for rule in RULES:
            params = ExpansionParams(rule=rule)
            out = expand_annotation(image, case, geometry, params,
                                    valid_mask=valid_region(image, params, image > 0))
            assert digest(out) == BINARY_DEMO[(record.case, rule)], (record.case, rule)


def _alone(image, click, box, rule):
    """Omega_F of one object expanded alone (binary)."""
    return expand_seeds(image, [click], [box], None, SPACING, rule=rule, epsilon=0.6) == 1


@pytest.mark.parametrize("rule", RULES)
def test_two_classes_each_object_keeps_its_class_and_overlap_is_unlabeled(rule):
    image, (c1, b1), (c2, b2) = two_cubes()
    fg1, fg2 = _alone(image, c1, b1, rule), _alone(image, c2, b2, rule)
    label, conflicts = expand_seeds(image, [c1, c2], [b1, b2], None, SPACING, rule=rule,
                                    epsilon=0.6, class_num=3, classes=[1, 2],
                                    return_conflicts=True)
    binary = expand_seeds(image, [c1, c2], [b1, b2], None, SPACING, rule=rule, epsilon=0.6,
                          class_num=3)
    both = fg1 & fg2
    np.testing.assert_array_equal(label == 1, fg1 & ~fg2)
    np.testing.assert_array_equal(label == 2, fg2 & ~fg1)
    assert conflicts == int(both.sum())
    assert np.all(label[both] == 3)
    # background and the rest of the unlabeled region are those of the binary expansion
    np.testing.assert_array_equal(label == 0, binary == 0)
    np.testing.assert_array_equal((label == 3) & ~both, binary == 3)
    if rule == "paper":
        assert conflicts > 0  # the cubes' geodesic balls do meet at epsilon 0.6


def test_paint_foreground_by_hand():
    label = np.zeros((1, 1, 5), np.uint8)
    whole = (slice(0, 1), slice(0, 1), slice(0, 5))
    a = np.array([[[1, 1, 1, 0, 0]]], bool)
    b = np.array([[[0, 0, 1, 1, 0]]], bool)
    c = np.array([[[1, 0, 0, 0, 1]]], bool)
    conflicts = paint_foreground(label, [(whole, a), (whole, b), (whole, c)], [1, 2, 1], 3)
    assert label.ravel().tolist() == [1, 1, 3, 2, 1] and conflicts == 1


def test_class_outside_class_num_is_refused_with_case_and_object():
    image, (c1, b1), (c2, b2) = two_cubes()
    with pytest.raises(ValueError, match=r"object 1: class 2 must be in 1\.\.1 for class_num = 2"):
        expand_seeds(image, [c1, c2], [b1, b2], classes=[1, 2])
    with pytest.raises(ValueError, match="one class per object"):
        checked_classes([1], 2, 3)
    geometry = ImageGeometry(tuple(reversed(SHAPE)), (1.0, 1.0, 1.0), (0.0, 0.0, 0.0),
                             (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0))
    objects = []
    for name, (click, (lo, hi)), label in (("a", (c1, b1), 1), ("b", (c2, b2), 2)):
        faces = []  # one background click on each face of the box, in line with the click
        for axis in range(3):
            for end in (lo[axis], hi[axis]):
                voxel = list(click)
                voxel[axis] = end
                faces.append(tuple(voxel))
        objects.append(ObjectAnnotation.from_voxels(name, click, faces,
                                                    label=label))
    case = CaseAnnotation("c7", tuple(objects), geometry)
    with pytest.raises(AnnotationError) as info:
        expand_annotation(image, case, geometry, ExpansionParams(rule="paper"))
    assert "case 'c7'" in str(info.value) and "object 'b'" in str(info.value)
    assert "class_num = K + 1" in str(info.value)
    label = expand_annotation(image, case, geometry, ExpansionParams(rule="paper"), class_num=3)
    assert set(np.unique(label)) <= {0, 1, 2, 3} and (label == 2).any()
