"""The .fcsv reader, clicks CSV through prepare, class tokens, file matching, and the rules."""
from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from pymic_paseg.annotation import AnnotationError, ImageGeometry, read_annotation
from pymic_paseg.annotation.case_files import files_by_case, merge_cases
from pymic_paseg.annotation.classes import class_from_text, class_table, parse_class_names
from pymic_paseg.annotation.model import CaseAnnotation, ObjectAnnotation
from pymic_paseg.ini_edit import IniEditor
from pymic_paseg.prepare.rules import (choose_patch_size, choose_valid_threshold,
                                       crf_bandwidth)
from pymic_paseg.prepare.split import assign_splits, parse_split

# identity direction, origin 0, spacing (x, y, z) = (1, 1, 2): LPS (x, y, z) mm is voxel
# (x, y, z / 2); a RAS point (r, a, s) is LPS (-r, -a, s).
GEOMETRY = ImageGeometry.from_array_grid((10, 20, 20), (2.0, 1.0, 1.0))

FCSV_44 = """# Markups fiducial file version = 4.4
# CoordinateSystem = 0
# columns = id,x,y,z,ow,ox,oy,oz,vis,sel,lock,label,desc,associatedNodeID
vtkMRMLMarkupsFiducialNode_0,-5,-6,8,0,0,0,1,1,1,0,tumour-fg,,vtkMRMLScalarVolumeNode1
vtkMRMLMarkupsFiducialNode_1,-2,-6,8,0,0,0,1,1,1,0,tumour-bg1,class=3,
vtkMRMLMarkupsFiducialNode_2,-7,-6,8,0,0,0,1,1,1,0,other,bg,
"""

FCSV_LPS = """# Markups fiducial file version = 4.11
# CoordinateSystem = LPS
# columns = id,x,y,z,ow,ox,oy,oz,vis,sel,lock,label,desc,associatedNodeID
1,5,6,8,0,0,0,1,1,1,1,F-1,fg,
"""


def test_fcsv_slicer_4_4_ras_codes_roles_objects_and_class(tmp_path):
    path = tmp_path / "pat1_list.fcsv"
    path.write_text(FCSV_44)
    case = read_annotation(path, GEOMETRY)
    assert case.case_id == "pat1_list"
    tumour, other = case.objects
    assert tumour.object_id == "tumour" and tumour.label == 3
    assert [(c.role, c.voxel) for c in tumour.clicks] == [
        ("foreground", (4, 6, 5)), ("background", (4, 6, 2))]
    # no object prefix in the label: the file's list name; role from desc
    assert other.object_id == "pat1_list" and other.label == 1
    assert [(c.role, c.voxel) for c in other.clicks] == [("background", (4, 6, 7))]


def test_fcsv_lps_frame_and_refusals(tmp_path):
    path = tmp_path / "a.fcsv"
    path.write_text(FCSV_LPS)
    assert read_annotation(path, GEOMETRY).objects[0].clicks[0].voxel == (4, 6, 5)
    path.write_text(FCSV_LPS.replace("= LPS", "= 2"))
    with pytest.raises(AnnotationError, match="IJK"):
        read_annotation(path, GEOMETRY)
    path.write_text(FCSV_LPS.replace(",F-1,fg,", ",F-1,,"))
    with pytest.raises(AnnotationError, match="no role"):
        read_annotation(path, GEOMETRY)
    path.write_text(FCSV_44.replace(",class=3,", ",class=3,").replace(",tumour-fg,,",
                                                                      ",tumour-fg,class=2,"))
    with pytest.raises(AnnotationError, match="class=3"):
        read_annotation(path, GEOMETRY)


def _write_image(path, shape=(16, 32, 32)):
    image = sitk.GetImageFromArray(np.ones(shape, np.float32))
    image.SetSpacing((1.0, 1.0, 2.0))
    sitk.WriteImage(image, str(path))


def test_prepare_reads_one_hand_written_clicks_csv(tmp_path, capsys):
    from pymic_paseg.cli import main
    images = tmp_path / "images"
    images.mkdir()
    rows = ["case,object,role,x,y,z,units"]
    for case in ("a", "b"):
        _write_image(images / f"{case}.nii.gz")
        rows.append(f"{case},1,fg,10,10,5,voxel")
        rows += [f"{case},1,bg,{x},{y},{z},voxel" for x, y, z in
                 ((6, 10, 5), (14, 10, 5), (10, 6, 5), (10, 14, 5), (10, 10, 3), (10, 10, 7))]
    rows.append("b,2,fg,3,3,3,voxel")  # object 2 of case b has no background click
    (tmp_path / "clicks.csv").write_text("\n".join(rows) + "\n")
    code = main(["prepare", str(images), "--clicks", str(tmp_path / "clicks.csv"),
                 "--out", str(tmp_path / "p"), "--split", "1,0,0", "--no-expand", "--quiet"])
    assert code == 1
    assert "case 'b', object '2'" in capsys.readouterr().err
    written = (tmp_path / "p" / "data" / "clicks.csv").read_text().splitlines()
    assert written[1] == "a,1,foreground,10,10,5,voxel,,1" and len(written) == 8


def test_class_tokens_names_and_the_single_class_switch():
    assert class_from_text("left kidney, class=2") == 2
    assert class_from_text("Label: 4") == 4
    assert class_from_text("subclass=2 fg") is None and class_from_text("") is None
    with pytest.raises(AnnotationError, match="integer"):
        class_from_text("class=tumour")
    assert parse_class_names("1=tumour, 2=oedema") == {1: "tumour", 2: "oedema"}
    with pytest.raises(ValueError):
        parse_class_names("tumour")

    def case(*labels):
        return CaseAnnotation("c", tuple(ObjectAnnotation(str(i), (), label=k)
                                         for i, k in enumerate(labels)), GEOMETRY)
    assert class_table([case(1, 1)], {1: "lesion"}) == {1: "lesion"}
    assert class_table([case(1), case(2)]) == {1: "class_1", 2: "class_2"}
    with pytest.raises(ValueError, match="without gaps"):
        class_table([case(1, 3)])


def test_files_go_to_the_longest_case_name_and_merge_checks_classes():
    files = ["x/case_1_a.mrk.json", "x/case_10.mrk.json", "x/case_1.fcsv", "x/other.fcsv"]
    by_case, unmatched = files_by_case(files, ["case_1", "case_10"])
    assert by_case == {"case_1": ["x/case_1.fcsv", "x/case_1_a.mrk.json"],
                       "case_10": ["x/case_10.mrk.json"]}
    assert unmatched == ["x/other.fcsv"]
    part = lambda label: CaseAnnotation("c", (ObjectAnnotation("t", (), label=label),),
                                        GEOMETRY)  # noqa: E731
    assert merge_cases("c", [part(2), part(2)]).objects[0].label == 2
    with pytest.raises(AnnotationError, match="differs"):
        merge_cases("c", [part(1), part(2)])


def test_patch_size_rule():
    # smallest extent per axis, down to a multiple of 16, capped at 128
    assert choose_patch_size([(40, 200, 190), (35, 150, 300)], (3.0, 0.5, 0.5)) == [32, 128, 128]
    # over 48 x 128 x 128 voxels: the axis longest in mm loses 16 voxels, until it fits
    assert choose_patch_size([(200, 200, 200)], (1.0, 1.0, 1.0)) == [80, 96, 96]
    assert choose_patch_size([(96, 128, 128)], (1.0, 0.5, 0.5)) == [48, 128, 128]
    with pytest.raises(ValueError, match="case b has 12 voxels along z"):
        choose_patch_size([(20, 64, 64), (12, 64, 64)], (1, 1, 1), ["a", "b"])


def test_crf_bandwidth_and_omega_m_threshold():
    assert crf_bandwidth((3.0, 0.5, 0.5), 6.0) == (3.0, [3.0, 0.5, 0.5])
    assert choose_valid_threshold("auto", [0.0, 12.0]) == 0.0
    assert choose_valid_threshold("auto", [-1024.0, 0.0]) is None
    assert choose_valid_threshold("none", [0.0]) is None
    assert choose_valid_threshold("-500", [-1024.0]) == -500.0
    with pytest.raises(ValueError, match="valid-threshold"):
        choose_valid_threshold("air", [0.0])


def test_splits_prefer_labelled_cases_without_clicks():
    cases = [f"c{i}" for i in range(10)]
    splits = assign_splits(cases, clicked=set(cases[:8]), labelled={"c0", "c8", "c9"},
                           fractions=(0.7, 0.1, 0.2), seed=3)
    assert sorted(c for c, s in splits.items() if s != "train") == ["c0", "c8", "c9"]
    assert {splits["c8"], splits["c9"]} <= {"valid", "test"}
    assert sum(s == "valid" for s in splits.values()) == 1
    with pytest.raises(ValueError):
        parse_split("0.7,0.2,0.2")
    with pytest.raises(ValueError, match="no dense label"):
        assign_splits(cases, set(cases), set(), valid=["c1"], test=[])


def test_ini_editor_names_missing_and_existing_keys():
    ini = IniEditor("# head\n[a]\nx = 1\n# note\ny = 2\n[b]\nz = 3\n", "t.cfg")
    assert ini.has("a", "x") and not ini.has("a", "z") and not ini.has("nope", "x")
    ini.set("a", "X", [1, 2])
    ini.add("a", "w", True)
    ini.remove("b", "z")
    assert ini.text() == "# head\n[a]\nx = [1, 2]\n# note\ny = 2\nw = True\n[b]\n"
    with pytest.raises(KeyError, match=r"t.cfg: \[a\] has no key 'q'"):
        ini.set("a", "q", 1)
    with pytest.raises(KeyError, match="already has"):
        ini.add("a", "y", 1)
    with pytest.raises(KeyError, match=r"no section \[c\]"):
        ini.set("c", "x", 1)
