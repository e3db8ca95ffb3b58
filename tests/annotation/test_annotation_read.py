"""read_annotation / write_annotation: dispatch on the file name, same case back from each format."""
from __future__ import annotations

import pytest
from annotation_helpers import make_case, voxels

from pymic_paseg.annotation import ImageGeometry, read_annotation, write_annotation
from pymic_paseg.annotation.read import annotation_format


@pytest.mark.parametrize("name", ["c1.nii.gz", "c1.nii", "c1.mrk.json", "c1.json", "c1.csv"])
def test_every_format_round_trips(tmp_path, oblique_image, name):
    case = make_case(ImageGeometry.from_image(oblique_image), centres=((6, 10, 6), (5, 9, 17)))
    write_annotation(case, tmp_path / name)
    back = read_annotation(tmp_path / name, oblique_image)
    assert back.case_id == "c1"
    assert voxels(back) == voxels(case)


def test_format_from_name():
    assert annotation_format("a/B.NII.GZ") == "clickmap"
    assert annotation_format("b.mrk.json") == "slicer"
    with pytest.raises(ValueError, match=r"x.txt: unknown annotation file type; known endings: "
                                         r"\.nii, \.nii\.gz"):
        annotation_format("x.txt")


def test_world_formats_need_a_reference(tmp_path):
    with pytest.raises(ValueError, match="a reference image is needed to map slicer points"):
        read_annotation(tmp_path / "a.mrk.json", None)
