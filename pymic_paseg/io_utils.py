"""Atomic writers for images and text, shared by every pymic_paseg stage.

A reader (PyMIC's ``NiftyDataset``, a second process, a crashed run restarted)
never sees a half-written file: each output is written to a temporary file in
its destination folder and renamed with ``os.replace``. The temporary name
keeps the final suffix (``.tmp-case_000.nii.gz-XXXX.nii.gz``) because ITK and
nibabel choose the file format from the name. The temporary-file mechanics live
in :mod:`pymic_paseg.io_atomic`; this module adds the image writer.

Geometry conventions (SimpleITK / ITK, LPS world coordinates):

* ``array_zyx`` is a numpy array in ``(D, H, W)`` = ``(z, y, x)`` order, as
  returned by ``SimpleITK.GetArrayFromImage`` and used by PyMIC;
* ``spacing_xyz`` and ``origin_xyz`` are in ``(x, y, z)`` order, in mm;
* ``direction`` is the row-major 3x3 direction cosine matrix (9 numbers).
"""
from __future__ import annotations

import logging
from typing import Optional, Sequence

import numpy as np
import SimpleITK as sitk

from pymic_paseg.io_atomic import PathLike, atomic_path, atomic_write_text

__all__ = ["atomic_write_image", "atomic_write_text", "IDENTITY_DIRECTION"]

logger = logging.getLogger(__name__)

#: 3-D identity direction cosines, row-major.
IDENTITY_DIRECTION = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
_NDIM = 3


def _check_geometry(array: np.ndarray, spacing: Sequence[float], origin: Sequence[float],
                    direction: Sequence[float]) -> None:
    if array.ndim != _NDIM:
        raise ValueError(f"atomic_write_image expects a 3-D (z, y, x) array. Got: shape "
                         f"{array.shape}")
    if len(spacing) != _NDIM or any(float(s) <= 0 for s in spacing):
        raise ValueError(f"spacing_xyz must be 3 positive numbers. Got: {tuple(spacing)}")
    if len(origin) != _NDIM:
        raise ValueError(f"origin_xyz must be 3 numbers. Got: {tuple(origin)}")
    if len(direction) != _NDIM * _NDIM:
        raise ValueError(f"direction must be 9 numbers (row-major 3x3). Got: "
                         f"{len(direction)} numbers")


def atomic_write_image(array_zyx: np.ndarray, path: PathLike,
                       spacing_xyz: Sequence[float] = (1.0, 1.0, 1.0),
                       origin_xyz: Optional[Sequence[float]] = None,
                       direction: Optional[Sequence[float]] = None,
                       *, compress: bool = True) -> None:
    """Write a 3-D array as an image file (format from the suffix), atomically.

    Args:
        array_zyx: ``(D, H, W)`` array; its dtype is kept (e.g. float32 image,
            uint8 label). Booleans are written as uint8.
        path: destination, e.g. ``.../case_000.nii.gz``; parent folders are created.
        spacing_xyz: voxel size in mm, ``(x, y, z)``.
        origin_xyz: world position of voxel ``(0, 0, 0)`` in mm; default zeros.
        direction: row-major 3x3 direction cosines; default identity.
        compress: ask ITK to compress (``.nii.gz`` is compressed regardless).

    ITK writes gzip headers with a zero timestamp, so equal arrays and geometry
    give byte-identical ``.nii.gz`` files.
    """
    array = np.asarray(array_zyx)
    if array.dtype == np.bool_:
        array = array.astype(np.uint8)
    origin = tuple(origin_xyz) if origin_xyz is not None else (0.0, 0.0, 0.0)
    cosines = tuple(direction) if direction is not None else IDENTITY_DIRECTION
    _check_geometry(array, spacing_xyz, origin, cosines)
    image = sitk.GetImageFromArray(np.ascontiguousarray(array))
    image.SetSpacing([float(s) for s in spacing_xyz])
    image.SetOrigin([float(o) for o in origin])
    image.SetDirection([float(d) for d in cosines])
    with atomic_path(path) as tmp:
        sitk.WriteImage(image, tmp, compress)
    logger.debug("wrote %s %s %s", path, array.shape, array.dtype)
