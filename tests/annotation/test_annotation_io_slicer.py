"""3D Slicer Markups JSON: LPS/RAS, labels, objects; checked against SimpleITK's own mapping."""
from __future__ import annotations

import json

import numpy as np
import pytest
from annotation_helpers import make_case, voxels

from pymic_paseg.annotation import (AnnotationError, ImageGeometry, read_annotation,
                                    read_slicer_markups, write_slicer_markups)


def _world(image, zyx, system, offset=(0.0, 0.0, 0.0)):
    """Independent reference: SimpleITK's index -> LPS point on the full image, then RAS."""
    index = (zyx[2] + offset[0], zyx[1] + offset[1], zyx[0] + offset[2])
    x, y, z = image.TransformContinuousIndexToPhysicalPoint(index)
    return [-x, -y, z] if system == "RAS" else [x, y, z]


def _write(path, markups):
    path.write_text(json.dumps({"@schema": "x", "markups": markups}))
    return path


def _point_list(image, case, system, offset=(0.0, 0.0, 0.0), with_system=True):
    markups = []
    for obj in case.objects:
        points = [{"label": "fg" if c.role == "foreground" else f"bg-{i}",
                   "position": _world(image, c.voxel, system, offset)}
                  for i, c in enumerate(obj.clicks)]
        markup = {"type": "Fiducial", "name": f"lesion{obj.object_id}", "controlPoints": points}
        if with_system:
            markup["coordinateSystem"] = system
        markups.append(markup)
    return markups


@pytest.mark.parametrize("system", ["LPS", "RAS"])
def test_reader_matches_simpleitk_reference(tmp_path, oblique_image, system):
    case = make_case(ImageGeometry.from_image(oblique_image), centres=((6, 10, 6), (5, 9, 17)))
    # points 0.3 voxel away from the centres must still round to the annotated voxels
    path = _write(tmp_path / "c.mrk.json",
                  _point_list(oblique_image, case, system, offset=(0.3, -0.3, 0.3)))
    back = read_slicer_markups(path, oblique_image)
    assert back.case_id == "c"
    assert [o.object_id for o in back.objects] == ["lesion1", "lesion2"]
    assert voxels(back) == voxels(case)


def test_coordinate_system_matters(tmp_path, oblique_image):
    case = make_case(ImageGeometry.from_image(oblique_image))
    markups = _point_list(oblique_image, case, "RAS")
    markups[0]["coordinateSystem"] = "LPS"  # RAS numbers mislabelled as LPS
    back = read_slicer_markups(_write(tmp_path / "w.mrk.json", markups), oblique_image)
    assert voxels(back) != voxels(case)


def test_missing_coordinate_system_means_lps(tmp_path, oblique_image):
    case = make_case(ImageGeometry.from_image(oblique_image))
    path = _write(tmp_path / "old.mrk.json",
                  _point_list(oblique_image, case, "LPS", with_system=False))
    assert voxels(read_slicer_markups(path, oblique_image)) == voxels(case)


@pytest.mark.parametrize("system", ["LPS", "RAS"])
def test_writer_round_trip_and_positions(tmp_path, oblique_image, system):
    case = make_case(ImageGeometry.from_image(oblique_image), centres=((6, 10, 6), (5, 9, 17)))
    path = tmp_path / "out.mrk.json"
    write_slicer_markups(case, path, coordinate_system=system)
    doc = json.loads(path.read_text())
    first = doc["markups"][0]
    assert first["coordinateSystem"] == system and first["type"] == "Fiducial"
    assert [p["label"] for p in first["controlPoints"]] == ["fg"] + [f"bg-{i}" for i in range(1, 7)]
    np.testing.assert_allclose(first["controlPoints"][0]["position"],
                               _world(oblique_image, (6, 10, 6), system), atol=1e-9)
    back = read_annotation(path, oblique_image, case_id="c1")
    assert [o.object_id for o in back.objects] == ["1", "2"]
    assert voxels(back) == voxels(case)


def test_objects_from_label_prefixes_and_roles_from_description(tmp_path, oblique_image):
    geometry = ImageGeometry.from_image(oblique_image)
    case = make_case(geometry, centres=((6, 10, 6), (5, 9, 17)))
    points = []
    for obj in case.objects:
        for i, click in enumerate(obj.clicks):
            role = "FG" if click.role == "foreground" else f"Background{i}"
            entry = {"label": f"obj{obj.object_id}_{role}",
                     "position": _world(oblique_image, click.voxel, "LPS")}
            if i == 2:  # role given in the description only
                entry = {"label": f"P-{i}", "description": "bg",
                         "position": entry["position"]}
            points.append(entry)
    path = _write(tmp_path / "one.mrk.json", [{"type": "Fiducial", "name": "F",
                                               "coordinateSystem": "LPS",
                                               "controlPoints": points}])
    back = read_slicer_markups(path, oblique_image)
    # points without an object prefix fall back to the point list's name
    assert [o.object_id for o in back.objects] == ["obj1", "F", "obj2"]
    assert len(back.object("F").clicks) == 2


def test_point_without_role_is_named(tmp_path, oblique_image):
    path = _write(tmp_path / "bad.mrk.json", [{"type": "Fiducial", "name": "F", "controlPoints": [
        {"label": "fg", "position": [0, 0, 0]}, {"label": "F-2", "position": [1, 2, 3]}]}])
    with pytest.raises(AnnotationError, match=r"bad.mrk.json, case 'bad': point #2 'F-2' of "
                                              r"point list 'F' has no role"):
        read_slicer_markups(path, oblique_image)


def test_non_point_list_and_bad_system_are_refused(tmp_path, oblique_image):
    line = _write(tmp_path / "line.mrk.json", [{"type": "Line", "name": "L", "controlPoints": []}])
    with pytest.raises(AnnotationError, match="point list 'L' has type 'Line'"):
        read_slicer_markups(line, oblique_image)
    odd = _write(tmp_path / "odd.mrk.json", [{"type": "Fiducial", "coordinateSystem": "XYZ"}])
    with pytest.raises(AnnotationError, match="coordinateSystem 'XYZ' is not one of"):
        read_slicer_markups(odd, oblique_image)
    (tmp_path / "junk.mrk.json").write_text("{not json")
    with pytest.raises(AnnotationError,
                       match="junk.mrk.json, case 'junk': cannot read Slicer markups JSON"):
        read_slicer_markups(tmp_path / "junk.mrk.json", oblique_image)


def test_unplaced_points_are_skipped_and_micrometres_scaled(tmp_path, oblique_image):
    case = make_case(ImageGeometry.from_image(oblique_image))
    markups = _point_list(oblique_image, case, "LPS")
    for point in markups[0]["controlPoints"]:
        point["position"] = [1000.0 * p for p in point["position"]]
    markups[0]["coordinateUnits"] = "um"
    markups[0]["controlPoints"].append({"label": "bg", "positionStatus": "undefined"})
    back = read_slicer_markups(_write(tmp_path / "um.mrk.json", markups), oblique_image)
    assert voxels(back) == voxels(case)


def test_one_file_per_point_list_can_be_read_together(tmp_path, oblique_image):
    case = make_case(ImageGeometry.from_image(oblique_image), centres=((6, 10, 6), (5, 9, 17)))
    markups = _point_list(oblique_image, case, "RAS")
    paths = [_write(tmp_path / f"lesion{i + 1}.mrk.json", [m]) for i, m in enumerate(markups)]
    back = read_slicer_markups(paths, oblique_image, case_id="c9")
    assert back.case_id == "c9"
    assert [o.object_id for o in back.objects] == ["lesion1", "lesion2"]
    assert voxels(back) == voxels(case)


def test_bad_position_is_named(tmp_path, oblique_image):
    path = _write(tmp_path / "nan.mrk.json", [{"type": "Fiducial", "name": "F", "controlPoints": [
        {"label": "bg-2", "position": [1.0, float("nan"), 2.0]}]}])
    with pytest.raises(AnnotationError, match=r"nan.mrk.json, case 'nan': point #1 'bg-2' of "
                                              r"point list 'F': 'position' must be 3 finite"):
        read_slicer_markups(path, oblique_image)
