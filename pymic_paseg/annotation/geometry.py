"""The voxel grid of an image: size, spacing, origin, direction.

Conventions (the same as SimpleITK's):

* ``size``, ``spacing``, ``origin`` are in ITK order ``(x, y, z)``;
  ``direction`` is the row-major 3x3 matrix whose *columns* are the world
  directions of the x, y, z index axes.
* World ("physical") coordinates are **LPS** millimetres, as in ITK/DICOM.
  3D Slicer shows RAS; :func:`ras_to_lps` converts (negate x and y).
* Voxels in this package are ``(z, y, x)`` index tuples, the order of the numpy
  array returned by ``SimpleITK.GetArrayFromImage``. The properties
  ``shape_zyx`` and ``spacing_zyx`` give the grid in that order.

World <-> voxel mapping goes through SimpleITK itself
(``TransformPhysicalPointToContinuousIndex`` / ``TransformContinuousIndexToPhysicalPoint``)
on a one-voxel image that carries the same spacing, origin and direction, so a
geometry never needs the pixel data.
"""
from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from typing import List, Sequence, Tuple, Union

import numpy as np
import SimpleITK as sitk

__all__ = ["ImageGeometry", "ImageLike", "as_geometry", "ras_to_lps", "to_lps", "from_lps",
           "round_half_up", "COORDINATE_SYSTEMS", "GEOMETRY_RTOL", "DIRECTION_ATOL"]

logger = logging.getLogger(__name__)

#: relative tolerance when comparing spacing and origin of two grids.
GEOMETRY_RTOL = 1e-4
#: absolute tolerance when comparing direction cosines of two grids.
DIRECTION_ATOL = 1e-4
#: world coordinate systems of annotation files; ITK/SimpleITK work in LPS.
COORDINATE_SYSTEMS = ("LPS", "RAS")
#: the only dimensionality PA-Seg annotations are defined for.
NDIM = 3

Triple = Tuple[float, float, float]
Voxel = Tuple[int, int, int]


def round_half_up(value: float) -> int:
    """Nearest integer; halves go up (``2.5 -> 3``, ``-0.5 -> 0``), unlike Python's ``round``."""
    return int(math.floor(value + 0.5))


def ras_to_lps(point: Sequence[float]) -> Triple:
    """RAS world point -> LPS world point (negate x and y). Its own inverse."""
    return (-float(point[0]), -float(point[1]), float(point[2]))


def _check_system(system: str) -> str:
    upper = str(system).upper()
    if upper not in COORDINATE_SYSTEMS:
        raise ValueError(f"coordinate system must be one of {COORDINATE_SYSTEMS}. Got: {system!r}")
    return upper


def to_lps(point: Sequence[float], system: str) -> Triple:
    """A world point given in ``system`` ("LPS" or "RAS") -> LPS."""
    if _check_system(system) == "RAS":
        return ras_to_lps(point)
    return (float(point[0]), float(point[1]), float(point[2]))


def from_lps(point_lps: Sequence[float], system: str) -> Triple:
    """An LPS world point -> ``system`` ("LPS" or "RAS")."""
    return to_lps(point_lps, system)  # the flip is its own inverse


def _close(a: float, b: float, rtol: float) -> bool:
    return abs(a - b) <= rtol * max(1.0, abs(a), abs(b))


@dataclass(frozen=True)
class ImageGeometry:
    """Size, spacing, origin and direction of a 3D image grid (ITK order)."""

    size: Tuple[int, int, int]
    spacing: Triple
    origin: Triple
    direction: Tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.size) != NDIM or len(self.spacing) != NDIM or len(self.origin) != NDIM:
            raise ValueError(f"ImageGeometry is 3D only. Got: size={self.size}, "
                             f"spacing={self.spacing}, origin={self.origin}")
        if len(self.direction) != NDIM * NDIM:
            raise ValueError(f"direction must have 9 entries. Got: {self.direction}")
        object.__setattr__(self, "size", tuple(int(s) for s in self.size))
        object.__setattr__(self, "spacing", tuple(float(s) for s in self.spacing))
        object.__setattr__(self, "origin", tuple(float(s) for s in self.origin))
        object.__setattr__(self, "direction", tuple(float(s) for s in self.direction))

    # ------------------------------------------------------------ constructors
    @classmethod
    def from_image(cls, image: sitk.Image) -> "ImageGeometry":
        """The grid of a SimpleITK image (3D, any pixel type)."""
        if image.GetDimension() != NDIM:
            raise ValueError(f"expected a 3D image. Got: a {image.GetDimension()}D image")
        return cls(image.GetSize(), image.GetSpacing(), image.GetOrigin(), image.GetDirection())

    @classmethod
    def from_file(cls, path: Union[str, os.PathLike]) -> "ImageGeometry":
        """The grid of an image file, reading its header only."""
        reader = sitk.ImageFileReader()
        reader.SetFileName(os.fspath(path))
        reader.ReadImageInformation()
        if reader.GetDimension() != NDIM:
            raise ValueError(f"{os.fspath(path)}: expected a 3D image. "
                             f"Got: a {reader.GetDimension()}D image")
        return cls(reader.GetSize(), reader.GetSpacing(), reader.GetOrigin(),
                   reader.GetDirection())

    @classmethod
    def from_array_grid(cls, shape_zyx: Sequence[int],
                        spacing_zyx: Sequence[float]) -> "ImageGeometry":
        """An axis-aligned grid at the origin, from a numpy shape and spacing (z,y,x)."""
        return cls(tuple(reversed([int(s) for s in shape_zyx])),
                   tuple(reversed([float(s) for s in spacing_zyx])),
                   (0.0, 0.0, 0.0), tuple(np.eye(NDIM).ravel()))

    # -------------------------------------------------------------- accessors
    @property
    def shape_zyx(self) -> Voxel:
        """Shape of the numpy array of this grid, ``(D, H, W)``."""
        return (self.size[2], self.size[1], self.size[0])

    @property
    def spacing_zyx(self) -> Triple:
        """Voxel spacing in mm along the numpy axes ``(z, y, x)``."""
        return (self.spacing[2], self.spacing[1], self.spacing[0])

    def contains(self, voxel: Sequence[int]) -> bool:
        """Whether a ``(z, y, x)`` voxel lies inside the grid."""
        return all(0 <= int(v) < n for v, n in zip(voxel, self.shape_zyx))

    def reference_image(self) -> sitk.Image:
        """A one-voxel image with this spacing/origin/direction (for SimpleITK transforms)."""
        probe = sitk.Image(1, 1, 1, sitk.sitkUInt8)
        probe.SetSpacing(self.spacing)
        probe.SetOrigin(self.origin)
        probe.SetDirection(self.direction)
        return probe

    # ------------------------------------------------------------- mapping
    def voxel_to_world(self, voxel: Sequence[float]) -> Triple:
        """``(z, y, x)`` voxel (index or continuous) -> LPS world point ``(x, y, z)`` in mm."""
        zyx = [float(v) for v in voxel]
        index = (zyx[2], zyx[1], zyx[0])
        return tuple(self.reference_image().TransformContinuousIndexToPhysicalPoint(index))

    def world_to_continuous(self, point_lps: Sequence[float]) -> Triple:
        """LPS world point ``(x, y, z)`` -> continuous voxel position ``(z, y, x)``."""
        point = tuple(float(p) for p in point_lps)
        ijk = self.reference_image().TransformPhysicalPointToContinuousIndex(point)
        return (ijk[2], ijk[1], ijk[0])

    def world_to_voxel(self, point_lps: Sequence[float]) -> Voxel:
        """LPS world point -> nearest ``(z, y, x)`` voxel (may lie outside the grid)."""
        return tuple(round_half_up(c) for c in self.world_to_continuous(point_lps))

    # ------------------------------------------------------------- comparing
    def mismatches(self, other: "ImageGeometry", rtol: float = GEOMETRY_RTOL,
                   direction_atol: float = DIRECTION_ATOL) -> List[str]:
        """Human-readable differences to ``other`` (empty when the grids agree).

        Size must be equal; spacing and origin agree within ``rtol`` relative
        (``|a-b| <= rtol * max(1, |a|, |b|)``); direction cosines within ``direction_atol``.
        """
        out = []
        if self.size != other.size:
            out.append(f"size {self.size} != {other.size}")
        for name in ("spacing", "origin"):
            mine, theirs = getattr(self, name), getattr(other, name)
            if not all(_close(a, b, rtol) for a, b in zip(mine, theirs)):
                out.append(f"{name} {_fmt(mine)} != {_fmt(theirs)}")
        if not np.allclose(self.direction, other.direction, rtol=0.0, atol=direction_atol):
            out.append(f"direction {_fmt(self.direction)} != {_fmt(other.direction)}")
        return out


def _fmt(values: Sequence[float]) -> str:
    return "(" + ", ".join(f"{v:.6g}" for v in values) + ")"


ImageLike = Union[ImageGeometry, sitk.Image, str, os.PathLike]


def as_geometry(reference: ImageLike) -> ImageGeometry:
    """An :class:`ImageGeometry` from a geometry, a SimpleITK image or an image path."""
    if isinstance(reference, ImageGeometry):
        return reference
    if isinstance(reference, sitk.Image):
        return ImageGeometry.from_image(reference)
    if isinstance(reference, (str, os.PathLike)):
        return ImageGeometry.from_file(reference)
    raise TypeError("expected an ImageGeometry, a SimpleITK.Image or an image path. "
                    f"Got: {type(reference).__name__}")
