"""PA-Seg click maps (NIfTI): codes, multi-object conventions, geometry, atomic writes."""
from __future__ import annotations

import os

import numpy as np
import pytest
import SimpleITK as sitk
from annotation_helpers import make_case, make_image, voxels

from pymic_paseg.annotation import (AnnotationError, ImageGeometry, click_map_array,
                                    read_annotation, read_click_map, write_click_map)


def _write_array(array: np.ndarray, image: sitk.Image, path) -> str:
    out = sitk.GetImageFromArray(array)
    out.CopyInformation(image)
    sitk.WriteImage(out, str(path))
    return str(path)


def test_single_object_round_trip_uses_original_codes(tmp_path, oblique_image):
    case = make_case(ImageGeometry.from_image(oblique_image))
    path = tmp_path / "c1_7points.nii.gz"
    write_click_map(case, path)
    array = sitk.GetArrayFromImage(sitk.ReadImage(str(path)))
    assert sorted(np.unique(array, return_counts=True)[1].tolist()) == [1, 6, array.size - 7]
    assert array[6, 10, 12] == 2 and array[3, 10, 12] == 1
    back = read_click_map(path, oblique_image)
    assert back.case_id == "c1_7points"
    assert voxels(back) == voxels(case)
    assert not back.geometry.mismatches(case.geometry)


def test_multi_object_round_trip_uses_instance_codes(tmp_path, oblique_image):
    case = make_case(ImageGeometry.from_image(oblique_image), centres=((6, 10, 6), (6, 10, 18)))
    array = click_map_array(case)
    assert array[6, 10, 6] == 2 and array[6, 10, 18] == 4
    assert array[6, 10, 1] == 1 and array[6, 10, 23] == 3
    write_click_map(case, tmp_path / "m.nii.gz")
    back = read_annotation(tmp_path / "m.nii.gz", oblique_image)
    assert [o.object_id for o in back.objects] == ["1", "2"]
    assert voxels(back) == voxels(case)


def test_plain_codes_refuse_several_objects(oblique_image):
    case = make_case(ImageGeometry.from_image(oblique_image), centres=((6, 10, 6), (6, 10, 18)))
    with pytest.raises(AnnotationError, match="2 objects cannot be written with plain 1/2"):
        click_map_array(case, encoding="plain")


def test_several_plain_foreground_clicks_are_ambiguous(tmp_path, oblique_image):
    case = make_case(ImageGeometry.from_image(oblique_image), centres=((6, 10, 6), (6, 10, 18)))
    plain = np.minimum(click_map_array(case), 2) - (click_map_array(case) == 3)
    path = _write_array(plain.astype(np.uint8), oblique_image, tmp_path / "p.nii.gz")
    with pytest.raises(AnnotationError) as info:
        read_click_map(path)
    message = str(info.value)
    assert "p.nii.gz, case 'p'" in message
    assert "2 foreground clicks (value 2)" in message and "2k+1/2k+2" in message
    assert "assignment='nearest'" in message


def test_nearest_assignment_separates_distant_objects(tmp_path):
    image = make_image(size=(60, 20, 12))
    case = make_case(ImageGeometry.from_image(image), centres=((6, 10, 10), (6, 10, 45)))
    codes = click_map_array(case)
    plain = np.where(codes % 2 == 1, 1, np.where(codes > 0, 2, 0)).astype(np.uint8)
    path = _write_array(plain, image, tmp_path / "p.nii.gz")
    back = read_click_map(path, assignment="nearest")
    assert voxels(back) == voxels(case)


def test_nearest_assignment_refuses_ambiguous_clicks(tmp_path, oblique_image):
    array = np.zeros((12, 20, 24), np.uint8)
    array[6, 10, 8] = array[6, 10, 16] = 2
    array[6, 10, 12] = 1  # half-way between the two foreground clicks
    path = _write_array(array, oblique_image, tmp_path / "amb.nii.gz")
    with pytest.raises(AnnotationError, match=r"case 'amb', background click at "
                                              r"\(z,y,x\)=\(6, 10, 12\) \[value 1 in amb.nii.gz\]"
                                              r": ambiguous"):
        read_click_map(path, assignment="nearest")


def test_reference_geometry_must_match(tmp_path, oblique_image):
    case = make_case(ImageGeometry.from_image(oblique_image))
    write_click_map(case, tmp_path / "c.nii.gz")
    other = make_image(spacing=(0.8, 1.1, 3.0))
    with pytest.raises(AnnotationError, match=r"c.nii.gz, case 'c': the annotation's grid does "
                                              r"not match the image's grid .*spacing"):
        read_click_map(tmp_path / "c.nii.gz", other)


def test_non_integer_map_is_refused(tmp_path, oblique_image):
    array = np.zeros((12, 20, 24), np.float32)
    array[1, 1, 1] = 1.5
    path = _write_array(array, oblique_image, tmp_path / "f.nii.gz")
    with pytest.raises(AnnotationError, match="f.nii.gz: a click map must hold non-negative"):
        read_click_map(path)


def test_writer_refuses_clicks_outside_or_on_top_of_each_other(tmp_path, oblique_image):
    geometry = ImageGeometry.from_image(oblique_image)
    outside = make_case(geometry, centres=((6, 10, 21),))  # x + 5 = 26 >= 24
    with pytest.raises(AnnotationError, match=r"background click at \(z,y,x\)=\(6, 10, 26\): "
                                              r"outside the image"):
        write_click_map(outside, tmp_path / "o.nii.gz")
    shared = make_case(geometry, centres=((6, 10, 6), (6, 10, 16)))  # 6+5 == 16-5 == 11
    with pytest.raises(AnnotationError, match="shares its voxel with another click"):
        write_click_map(shared, tmp_path / "s.nii.gz")
    assert os.listdir(tmp_path) == []


def test_write_is_atomic(tmp_path, oblique_image, monkeypatch):
    case = make_case(ImageGeometry.from_image(oblique_image))
    target = tmp_path / "c.nii.gz"
    target.write_bytes(b"old")

    def broken_write(image, path, *args, **kwargs):
        with open(path, "wb") as handle:
            handle.write(b"half")
        raise RuntimeError("disk full")

    monkeypatch.setattr(sitk, "WriteImage", broken_write)
    with pytest.raises(RuntimeError, match="disk full"):
        write_click_map(case, target)
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["c.nii.gz"]
