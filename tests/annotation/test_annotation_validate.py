"""Validation: one test per rule, checking the error type and the message text."""
from __future__ import annotations

import re

import numpy as np
import pytest
from annotation_helpers import make_case, seven_points

from pymic_paseg.annotation import (BACKGROUND, FOREGROUND, AnnotationError, CaseAnnotation,
                                    Click, ImageGeometry, ObjectAnnotation, find_problems,
                                    read_slicer_markups, validate_case, validate_cases)

GEOMETRY = ImageGeometry.from_array_grid((12, 20, 24), (2.5, 1.1, 0.8))


def _case(fg, bg, *, extra=(), geometry=GEOMETRY, case_id="c1", object_id="tumor"):
    clicks = [Click(v, FOREGROUND) for v in ([fg] if fg is not None else [])]
    clicks += [Click(v, BACKGROUND) for v in bg] + list(extra)
    return CaseAnnotation(case_id, (ObjectAnnotation(object_id, tuple(clicks)),), geometry)


def _fails(case, message, **kwargs):
    with pytest.raises(AnnotationError, match=re.escape(message)) as info:
        validate_case(case, **kwargs)
    assert info.value.case_id == case.case_id
    return info.value


FG, BG = seven_points((6, 10, 12))


def test_valid_case_passes_and_is_returned():
    case = _case(FG, BG)
    assert validate_case(case, GEOMETRY, valid_mask=np.ones((12, 20, 24), bool)) is case
    assert find_problems(case) == []


def test_no_foreground_click():
    err = _fails(_case(None, BG), "case 'c1', object 'tumor': no foreground click; exactly 1")
    assert err.object_id == "tumor"


def test_two_foreground_clicks_names_both():
    case = _case(FG, BG, extra=[Click((6, 11, 12), FOREGROUND, "'fg2' in c1.mrk.json")])
    _fails(case, "case 'c1', object 'tumor', foreground click #2 at (z,y,x)=(6, 11, 12) "
                 "['fg2' in c1.mrk.json]: 2 foreground clicks (foreground click #1 at "
                 "(z,y,x)=(6, 10, 12); foreground click #2 at (z,y,x)=(6, 11, 12)")


@pytest.mark.parametrize("bg", [BG[:5], BG + [(6, 10, 20)]])
def test_wrong_number_of_background_clicks(bg):
    _fails(_case(FG, bg), f"case 'c1', object 'tumor': {len(bg)} background clicks; exactly 6")


def test_click_outside_the_image():
    bg = list(BG)
    bg[1] = (12, 10, 12)
    _fails(_case(FG, bg), "case 'c1', object 'tumor', background click #2 at (z,y,x)=(12, 10, 12)"
                          ": outside the image of shape (z,y,x)=(12, 20, 24)")


@pytest.mark.parametrize("field, value, word", [
    ("size", (24, 20, 13), "size"), ("spacing", (0.8, 1.1, 2.6), "spacing"),
    ("origin", (0.0, 0.0, 1.0), "origin"),
    ("direction", tuple(np.diag([-1.0, 1.0, 1.0]).ravel()), "direction")])
def test_geometry_mismatch(field, value, word):
    image = ImageGeometry(**{**GEOMETRY.__dict__, field: value})
    err = _fails(_case(FG, BG), "case 'c1': the annotation's grid does not match the image's grid",
                 image_geometry=image)
    assert f"; {word} " in str(err) or f": {word} " in str(err)


def test_geometry_within_tolerance_is_accepted():
    image = ImageGeometry(GEOMETRY.size, tuple(s * (1 + 1e-6) for s in GEOMETRY.spacing),
                          (1e-6, 0.0, 0.0), GEOMETRY.direction)
    validate_case(_case(FG, BG), image)


def test_foreground_outside_the_box():
    _fails(_case((6, 10, 18), BG), "case 'c1', object 'tumor', foreground click at "
                                   "(z,y,x)=(6, 10, 18): not strictly inside the box spanned by "
                                   "the background clicks (z,y,x) (3, 6, 7)..(9, 14, 17) "
                                   "(x: not 7 < 18 < 17)")


def test_foreground_on_the_box_face_is_not_inside():
    _fails(_case((6, 10, 17), BG), "(x: not 7 < 17 < 17)")


def test_degenerate_box():
    # all six background clicks within z = 6..7: no room for the object between them
    bg = [(6, y, x) for (_, y, x) in BG[:4]] + [(7, y, x) for (_, y, x) in BG[4:]]
    _fails(_case((6, 10, 12), bg), "case 'c1', object 'tumor', background click #1 at "
                                   "(z,y,x)=(6, 10, 12) and background click #5 at "
                                   "(z,y,x)=(7, 10, 7): degenerate box: the background clicks "
                                   "span 2 voxel(s) along z (6..7); at least 3 are needed")


def test_foreground_outside_valid_region():
    mask = np.ones((12, 20, 24), bool)
    mask[FG] = False
    _fails(_case(FG, BG), "case 'c1', object 'tumor', foreground click at (z,y,x)=(6, 10, 12): "
                          "outside the valid image region Omega_M", valid_mask=mask)
    _fails(_case(FG, BG), "case 'c1': valid_mask has shape (12, 20, 23)",
           valid_mask=np.ones((12, 20, 23), bool))


def test_case_without_objects_and_duplicate_ids():
    _fails(CaseAnnotation("c1", (), GEOMETRY), "case 'c1': no annotated object")
    twice = make_case(GEOMETRY, centres=((6, 10, 6), (6, 10, 18)))
    twice = CaseAnnotation("c1", tuple(ObjectAnnotation("a", o.clicks) for o in twice.objects),
                           GEOMETRY)
    _fails(twice, "case 'c1': object ids are not unique: ['a']")


def test_message_carries_the_file_label_of_the_click(tmp_path):
    path = tmp_path / "c7.mrk.json"
    points = [{"label": "fg", "position": [12 * 0.8, 10 * 1.1, 6 * 2.5]}]
    points += [{"label": f"bg-{i}", "position": [x * 0.8, y * 1.1, z * 2.5]}
               for i, (z, y, x) in enumerate(BG[:5] + [(6, 10, 40)], start=1)]
    path.write_text('{"markups": [{"type": "Fiducial", "name": "vs", "controlPoints": %s}]}'
                    % str(points).replace("'", '"'))
    case = read_slicer_markups(path, GEOMETRY)
    _fails(case, "case 'c7', object 'vs', background click #6 at (z,y,x)=(6, 10, 40) "
                 "['bg-6' in c7.mrk.json]: outside the image")


def test_batch_keeps_good_cases_and_reports_bad_ones(caplog):
    good1 = make_case(GEOMETRY, case_id="good1")
    bad = _case(None, BG[:5], case_id="bad")
    good2 = make_case(GEOMETRY, case_id="good2")
    shifted = ImageGeometry(GEOMETRY.size, GEOMETRY.spacing, (5.0, 0.0, 0.0), GEOMETRY.direction)
    good, errors = validate_cases([good1, bad, good2], image_geometries={"good2": shifted})
    assert good == [good1]
    assert [(e.case_id, e.reason.split(";")[0]) for e in errors] == [
        ("bad", "no foreground click"), ("bad", "5 background clicks"),
        ("good2", "the annotation's grid does not match the image's grid (annotation != image): "
                  "origin (0, 0, 0) != (5, 0, 0)")]
    assert "skipping case 'bad'" in caplog.text
