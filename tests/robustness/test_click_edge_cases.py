"""Clicks that would silently mislabel voxels: a warning or a clear error."""
import logging

import numpy as np
import pytest

from pymic_paseg.annotation import (BACKGROUND, FOREGROUND, AnnotationError, CaseAnnotation,
                                    Click, ImageGeometry, ObjectAnnotation, validate_case)
from pymic_paseg.annotation.simulate import simulate_clicks


def _case(background):
    clicks = (Click((5, 5, 5), FOREGROUND, "test"),
              *(Click(v, BACKGROUND, "test") for v in background))
    geometry = ImageGeometry.from_array_grid((12, 12, 12), (1.0, 1.0, 1.0))
    return CaseAnnotation("c1", (ObjectAnnotation("1", clicks),), geometry)


def test_two_background_clicks_on_one_voxel_warn(caplog):
    # the x- click was meant at x = 1 but was placed on the z- click
    background = [(2, 5, 2), (8, 5, 5), (5, 2, 5), (5, 8, 5), (2, 5, 2), (5, 5, 8)]
    with caplog.at_level(logging.WARNING, logger="pymic_paseg.annotation.validate"):
        validate_case(_case(background))
    assert ("case c1, object 1: background clicks 1 and 5 lie on the same voxel (z,y,x) "
            "(2, 5, 2); the box (2, 2, 2)..(8, 8, 8) may be smaller than intended") in caplog.text


def test_distinct_background_clicks_do_not_warn(caplog):
    background = [(2, 5, 5), (8, 5, 5), (5, 2, 5), (5, 8, 5), (5, 5, 1), (5, 5, 8)]
    with caplog.at_level(logging.WARNING, logger="pymic_paseg.annotation.validate"):
        validate_case(_case(background))
    assert "same voxel" not in caplog.text


@pytest.mark.parametrize("where, side", [((slice(8, 16), slice(20, 40), slice(0, 30)), "x-"),
                                         ((slice(0, 6), slice(20, 40), slice(40, 60)), "z-")])
def test_object_touching_the_border_fails_clearly(where, side):
    mask = np.zeros((24, 64, 96), np.uint8)
    mask[where] = 1
    with pytest.raises(AnnotationError, match=rf"the object touches the image border on side "
                                              rf"{side}: no background click can lie beyond it"):
        simulate_clicks(mask, (3.0, 1.0, 0.5), seed=0, case_id="edge")
    try:
        simulate_clicks(mask, (3.0, 1.0, 0.5), seed=0, case_id="edge")
    except AnnotationError as err:
        assert "edge" in str(err) and "1" in str(err)
