"""Helpers for the annotation tests: small images with oblique geometry, valid cases.

(A uniquely named module, not conftest.py, so test files can import it by name.)
"""
from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from pymic_paseg.annotation import CaseAnnotation, ImageGeometry, ObjectAnnotation

#: a rotation about an oblique axis (radians), so every world axis mixes all index axes.
EULER_ANGLES = (0.3, -0.2, 0.5)


def make_image(size=(24, 20, 12), spacing=(0.8, 1.1, 2.5), origin=(-31.5, 12.25, 40.0),
               flip: bool = False) -> sitk.Image:
    """A blank 3D image (ITK order size) with a rotated (optionally reflected) direction."""
    rotation = sitk.Euler3DTransform((0.0, 0.0, 0.0), *EULER_ANGLES)
    direction = np.array(rotation.GetMatrix()).reshape(3, 3)
    if flip:
        direction = direction @ np.diag([-1.0, 1.0, 1.0])
    image = sitk.Image([int(s) for s in size], sitk.sitkInt16)
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    image.SetDirection(tuple(direction.ravel()))
    return image


def seven_points(centre, half=(3, 4, 5)):
    """A foreground voxel at ``centre`` and six background voxels ``half`` away (z,y,x)."""
    z, y, x = centre
    dz, dy, dx = half
    return (centre, [(z - dz, y, x), (z + dz, y, x), (z, y - dy, x), (z, y + dy, x),
                     (z, y, x - dx), (z, y, x + dx)])


def make_case(geometry: ImageGeometry, centres=((6, 10, 12),), case_id="c1") -> CaseAnnotation:
    """A valid case with one seven-point object per centre (ids "1", "2", ...)."""
    objects = []
    for k, centre in enumerate(centres):
        fg, bg = seven_points(centre)
        objects.append(ObjectAnnotation.from_voxels(str(k + 1), fg, bg))
    return CaseAnnotation(case_id, tuple(objects), geometry)


def voxels(case: CaseAnnotation):
    """Comparable content of a case: per object, its sorted (role, voxel) pairs."""
    return [sorted((c.role, c.voxel) for c in o.clicks) for o in case.objects]
