"""The seven-point model and the image geometry (world <-> voxel through SimpleITK)."""
from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
from annotation_helpers import make_case, make_image

from pymic_paseg.annotation import (BACKGROUND, FOREGROUND, AnnotationError, Click,
                                    ImageGeometry, ObjectAnnotation, as_geometry)
from pymic_paseg.annotation.geometry import ras_to_lps
from pymic_paseg.annotation.model import case_id_from_path, parse_role


def test_box_is_inclusive_span_of_background_clicks():
    obj = ObjectAnnotation.from_voxels("a", (5, 5, 5), [(1, 5, 5), (9, 4, 6), (5, 2, 5),
                                                         (5, 8, 5), (5, 5, 0), (5, 5, 7)])
    assert obj.box() == ((1, 2, 0), (9, 8, 7))
    assert obj.foreground == Click((5, 5, 5), FOREGROUND)
    assert len(obj.background) == 6 and all(c.role == BACKGROUND for c in obj.background)


def test_foreground_property_requires_exactly_one():
    obj = ObjectAnnotation("a", (Click((1, 1, 1), BACKGROUND),))
    with pytest.raises(AnnotationError, match="object 'a': expected exactly 1 foreground click. "
                                              "Got: 0"):
        obj.foreground


def test_click_checks_role_and_voxel():
    with pytest.raises(ValueError, match="role must be one of"):
        Click((1, 2, 3), "fg")
    with pytest.raises(ValueError, match=r"must be \(z, y, x\)"):
        Click((1, 2), FOREGROUND)
    assert Click(np.array([1, 2, 3]), BACKGROUND).voxel == (1, 2, 3)


@pytest.mark.parametrize("word, role", [("fg", FOREGROUND), ("Foreground", FOREGROUND),
                                        ("BG3", BACKGROUND), ("background", BACKGROUND),
                                        ("F-1", None), ("fgx", None)])
def test_parse_role(word, role):
    assert parse_role(word) == role


def test_case_id_from_path():
    assert case_id_from_path("/a/vs_012_7points.nii.gz") == "vs_012_7points"
    assert case_id_from_path("b.mrk.json") == "b"


def test_case_object_lookup():
    case = make_case(ImageGeometry.from_array_grid((12, 20, 24), (1, 1, 1)),
                     centres=((6, 10, 12), (6, 10, 6)))
    assert case.object("2").foreground.voxel == (6, 10, 6)
    with pytest.raises(KeyError, match="objects: \\['1', '2'\\]"):
        case.object("3")


@pytest.mark.parametrize("flip", [False, True])
def test_world_voxel_mapping_matches_simpleitk_on_the_full_image(flip):
    image = make_image(flip=flip)
    geometry = ImageGeometry.from_image(image)
    assert geometry.shape_zyx == sitk.GetArrayViewFromImage(image).shape
    for zyx in [(0, 0, 0), (11, 19, 23), (3, 7, 15)]:
        expected = image.TransformIndexToPhysicalPoint((zyx[2], zyx[1], zyx[0]))
        np.testing.assert_allclose(geometry.voxel_to_world(zyx), expected, atol=1e-9)
        assert geometry.world_to_voxel(expected) == zyx
        # a point 0.4 voxel off along every index axis still rounds to the same voxel
        nudged = image.TransformContinuousIndexToPhysicalPoint(
            (zyx[2] + 0.4, zyx[1] - 0.4, zyx[0] + 0.4))
        assert geometry.world_to_voxel(nudged) == zyx


def test_ras_to_lps_negates_x_and_y():
    assert ras_to_lps((1.0, -2.0, 3.0)) == (-1.0, 2.0, 3.0)


def test_geometry_from_file_reads_header(tmp_path):
    image = make_image()
    sitk.WriteImage(image, str(tmp_path / "img.nii.gz"))
    geometry = as_geometry(tmp_path / "img.nii.gz")
    assert geometry.size == image.GetSize()
    assert not geometry.mismatches(ImageGeometry.from_image(image))


def test_geometry_mismatches_use_relative_tolerance():
    base = ImageGeometry((4, 5, 6), (1.0, 1.0, 2.0), (100.0, 0.0, -50.0), tuple(np.eye(3).ravel()))
    near = ImageGeometry((4, 5, 6), (1.0 + 1e-6, 1.0, 2.0), (100.0 + 1e-3, 0.0, -50.0),
                         base.direction)
    assert base.mismatches(near) == []
    far = ImageGeometry((4, 5, 7), (1.01, 1.0, 2.0), (101.0, 0.0, -50.0),
                        tuple(np.diag([-1.0, -1.0, 1.0]).ravel()))
    diffs = base.mismatches(far)
    assert [d.split(" ")[0] for d in diffs] == ["size", "spacing", "origin", "direction"]


def test_geometry_rejects_non_3d():
    with pytest.raises(ValueError, match="expected a 3D image. Got: a 2D image"):
        ImageGeometry.from_image(sitk.Image(4, 4, sitk.sitkUInt8))
    with pytest.raises(TypeError, match="Got: int"):
        as_geometry(3)
