"""CSV tables: ITK-order voxel columns, world LPS/RAS rows, many cases, row-level errors."""
from __future__ import annotations

import pytest
from annotation_helpers import make_case, make_image, voxels

from pymic_paseg.annotation import (AnnotationError, ImageGeometry, read_annotation,
                                    read_csv_annotations, read_csv_case, write_csv_annotations)

HEADER = "case,object,role,x,y,z,units"


def _csv(tmp_path, *lines, name="clicks.csv"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_voxel_columns_are_itk_order(tmp_path, oblique_image):
    path = _csv(tmp_path, HEADER, "c1,a,fg,5,6,7,voxel", "c1,a,Background,1,2,3,voxel")
    case = read_csv_case(path, oblique_image)
    assert case.case_id == "c1"
    assert [c.voxel for c in case.object("a").clicks] == [(7, 6, 5), (3, 2, 1)]
    assert case.object("a").clicks[0].source == "line 2 of clicks.csv"


@pytest.mark.parametrize("system", ["LPS", "RAS"])
def test_world_rows_match_simpleitk_reference(tmp_path, oblique_image, system):
    x, y, z = oblique_image.TransformContinuousIndexToPhysicalPoint((15.3, 4.8, 9.2))
    if system == "RAS":
        x, y = -x, -y
    path = _csv(tmp_path, HEADER + ",coordinate_system",
                f"c1,a,fg,{x},{y},{z},world,{system}", f"c1,a,bg,{x},{y},{z},mm,{system}")
    case = read_csv_case(path, oblique_image)
    assert [c.voxel for c in case.objects[0].clicks] == [(9, 5, 15)] * 2


@pytest.mark.parametrize("units, system", [("voxel", "LPS"), ("world", "LPS"), ("world", "RAS")])
def test_round_trip_many_cases(tmp_path, units, system):
    images = {"a": make_image(), "b": make_image(flip=True, origin=(3.0, -4.0, 5.0))}
    cases = [make_case(ImageGeometry.from_image(images["a"]), case_id="a",
                       centres=((6, 10, 6), (5, 9, 17))),
             make_case(ImageGeometry.from_image(images["b"]), case_id="b")]
    path = tmp_path / "all.csv"
    write_csv_annotations(cases, path, units=units, coordinate_system=system)
    back = read_csv_annotations(path, images)
    assert list(back) == ["a", "b"]
    for case in cases:
        assert voxels(back[case.case_id]) == voxels(case)
        assert [o.object_id for o in back[case.case_id].objects] == ["1", "2"][:len(case.objects)]
    assert voxels(read_annotation(path, images["b"], case_id="b")) == voxels(cases[1])


def test_missing_columns_are_listed(tmp_path, oblique_image):
    path = _csv(tmp_path, "case,object,role,x,y,z", "c1,a,fg,1,2,3")
    with pytest.raises(AnnotationError, match=r"clicks.csv: missing column\(s\) \['units'\]"):
        read_csv_case(path, oblique_image)


@pytest.mark.parametrize("row, message", [
    ("c1,a,inside,1,2,3,voxel", "line 3: role='inside' is not fg/foreground or bg/background"),
    ("c1,a,bg,1.5,2,3,voxel", r"line 3: voxel coordinates must be integers"),
    ("c1,a,bg,one,2,3,voxel", r"line 3: x='one' is not a number"),
    ("c1,a,bg,1,2,3,pixels", r"line 3: units='pixels' is not one of"),
])
def test_bad_rows_name_file_line_case_and_object(tmp_path, oblique_image, row, message):
    path = _csv(tmp_path, HEADER, "c1,a,fg,1,2,3,voxel", row)
    with pytest.raises(AnnotationError, match=r"clicks.csv, case 'c1', object 'a': " + message):
        read_csv_case(path, oblique_image)


def test_cases_need_references_and_case_choice(tmp_path, oblique_image):
    path = _csv(tmp_path, HEADER, "c1,a,fg,1,2,3,voxel", "c2,a,fg,1,2,3,voxel")
    with pytest.raises(AnnotationError, match=r"no reference image for case\(s\) \['c2'\]"):
        read_csv_annotations(path, {"c1": oblique_image})
    with pytest.raises(AnnotationError, match=r"holds 2 cases \['c1', 'c2'\]; say which"):
        read_csv_case(path, oblique_image)
    with pytest.raises(AnnotationError, match="case 'c3': no rows for this case"):
        read_csv_case(path, oblique_image, case_id="c3")
