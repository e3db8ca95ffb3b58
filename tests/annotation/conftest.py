"""Fixtures for the annotation tests."""
from __future__ import annotations

import pytest
import SimpleITK as sitk
from annotation_helpers import make_image


@pytest.fixture(params=[False, True], ids=["rotated", "rotated+flipped"])
def oblique_image(request) -> sitk.Image:
    """A blank image with non-identity direction (with and without a reflection) and origin."""
    return make_image(flip=request.param)
