"""The seven-point annotation model of PA-Seg (Zhai et al., TMI 2023, Sec. III-A 1).

An object is annotated with one *foreground* click near its centre and six
*background* clicks outside it, one beyond each of its extremes along the three
image axes (left/right, anterior/posterior, inferior/superior). The box spanned
by the background clicks therefore contains the whole object; everything
outside that box is background (Omega_out in the paper).

* :class:`Click` — one click: a ``(z, y, x)`` voxel and a role.
* :class:`ObjectAnnotation` — the clicks of one object (normally 1 + 6).
* :class:`CaseAnnotation` — all objects of one image, plus the image grid
  (:class:`~pymic_paseg.annotation.geometry.ImageGeometry`) the voxels refer to.

The model holds whatever a file contained, even when it breaks the protocol
(two foreground clicks, five background clicks, ...) so that
:func:`~pymic_paseg.annotation.validate.validate_case` can name the problem.

Box convention: :meth:`ObjectAnnotation.box` returns the *inclusive* voxel
corners ``lo, hi`` of the background clicks, i.e. the background clicks lie on
the box faces. The object (and so the foreground click) must lie strictly inside
(``lo < v < hi`` on each axis), which needs an extent ``hi - lo + 1 >= 3``.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional, Sequence, Tuple, Union

from pymic_paseg.annotation.errors import AnnotationError
from pymic_paseg.annotation.geometry import ImageGeometry, Voxel

__all__ = [
    "Click", "ObjectAnnotation", "CaseAnnotation", "Voxel",
    "FOREGROUND", "BACKGROUND", "ROLES", "CODE_NONE", "CODE_BACKGROUND", "CODE_FOREGROUND",
    "BACKGROUND_CLICKS_PER_OBJECT", "AXIS_NAMES", "parse_role", "case_id_from_path",
]

#: click roles.
FOREGROUND = "foreground"
BACKGROUND = "background"
ROLES = (FOREGROUND, BACKGROUND)

#: voxel values of the original PA-Seg click maps (``*_7points.nii.gz``).
CODE_NONE = 0
CODE_BACKGROUND = 1
CODE_FOREGROUND = 2

#: the protocol: six background clicks per object, one beyond each extreme.
BACKGROUND_CLICKS_PER_OBJECT = 6
#: names of the numpy axes of a voxel, for messages.
AXIS_NAMES = ("z", "y", "x")

_ROLE_WORDS = {"fg": FOREGROUND, "foreground": FOREGROUND,
               "bg": BACKGROUND, "background": BACKGROUND}
_ROLE_TOKEN = re.compile(r"^(foreground|background|fg|bg)\d*$")


def parse_role(word: str) -> Optional[str]:
    """``'fg'``/``'Foreground'``/``'bg3'``/... -> role, or None if ``word`` names no role."""
    match = _ROLE_TOKEN.match(word.strip().lower())
    return _ROLE_WORDS[match.group(1)] if match else None


def case_id_from_path(path: Union[str, os.PathLike]) -> str:
    """The default case id of a file: its name up to the first dot (``a.nii.gz`` -> ``a``)."""
    return Path(path).name.split(".")[0]


@dataclass(frozen=True)
class Click:
    """One click.

    Args:
        voxel: ``(z, y, x)`` voxel index, the order of ``sitk.GetArrayFromImage``.
        role: :data:`FOREGROUND` or :data:`BACKGROUND`.
        source: where the click came from (file, label, row), used in error messages.
    """

    voxel: Voxel
    role: str
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"Click role must be one of {ROLES}. Got: {self.role!r}")
        if len(self.voxel) != len(AXIS_NAMES):
            raise ValueError(f"Click voxel must be (z, y, x). Got: {self.voxel!r}")
        object.__setattr__(self, "voxel", tuple(int(v) for v in self.voxel))

    def describe(self, index: Optional[int] = None) -> str:
        """E.g. ``background click #3 at (z,y,x)=(4, 10, 12) ['bg-3' in a.mrk.json]``."""
        number = "" if index is None else f" #{index}"
        where = f" [{self.source}]" if self.source else ""
        return f"{self.role} click{number} at (z,y,x)={self.voxel}{where}"


@dataclass(frozen=True)
class ObjectAnnotation:
    """The clicks of one object.

    Args:
        object_id: a name unique within the case (``"1"``, ``"tumor"``, ...).
        clicks: all clicks of the object, in file order.
        label: the class of the object in a multi-class label map (1 for binary tasks).
        notes: remarks from whoever produced the annotation (e.g. the simulator
            noting a background click clipped to the image border).
    """

    object_id: str
    clicks: Tuple[Click, ...]
    label: int = 1
    notes: Tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "object_id", str(self.object_id))
        object.__setattr__(self, "clicks", tuple(self.clicks))
        object.__setattr__(self, "notes", tuple(self.notes))

    @classmethod
    def from_voxels(cls, object_id: str, foreground: Sequence[int],
                    background: Iterable[Sequence[int]], **kwargs) -> "ObjectAnnotation":
        """Build from one foreground voxel and the background voxels, all ``(z, y, x)``."""
        clicks = [Click(tuple(foreground), FOREGROUND)]
        clicks += [Click(tuple(v), BACKGROUND) for v in background]
        return cls(object_id, tuple(clicks), **kwargs)

    @property
    def foreground_clicks(self) -> Tuple[Click, ...]:
        return tuple(c for c in self.clicks if c.role == FOREGROUND)

    @property
    def background(self) -> Tuple[Click, ...]:
        """The background clicks (six in a valid annotation)."""
        return tuple(c for c in self.clicks if c.role == BACKGROUND)

    @property
    def foreground(self) -> Click:
        """The foreground click; :class:`AnnotationError` unless there is exactly one."""
        found = self.foreground_clicks
        if len(found) != 1:
            raise AnnotationError(f"expected exactly 1 foreground click. Got: {len(found)}",
                                  object_id=self.object_id)
        return found[0]

    def box(self) -> Tuple[Voxel, Voxel]:
        """Inclusive ``(z, y, x)`` corners ``(lo, hi)`` of the box of the background clicks."""
        voxels = [c.voxel for c in self.background]
        if not voxels:
            raise AnnotationError("no background clicks, so no box", object_id=self.object_id)
        lo = tuple(min(v[a] for v in voxels) for a in range(len(AXIS_NAMES)))
        hi = tuple(max(v[a] for v in voxels) for a in range(len(AXIS_NAMES)))
        return lo, hi


@dataclass(frozen=True)
class CaseAnnotation:
    """All annotated objects of one image.

    Args:
        case_id: the case name (usually the image file name without extension).
        objects: the annotated objects.
        geometry: the grid the click voxels refer to. Readers of world-coordinate
            formats set it to the reference image's grid; the NIfTI reader sets it
            to the click map's own grid, which validation compares with the image.
    """

    case_id: str
    objects: Tuple[ObjectAnnotation, ...]
    geometry: ImageGeometry

    def __post_init__(self) -> None:
        object.__setattr__(self, "case_id", str(self.case_id))
        object.__setattr__(self, "objects", tuple(self.objects))

    def object(self, object_id: str) -> ObjectAnnotation:
        """The object called ``object_id``; ``KeyError`` lists the known ids."""
        for obj in self.objects:
            if obj.object_id == str(object_id):
                return obj
        raise KeyError(f"case {self.case_id!r} has no object {object_id!r}; "
                       f"objects: {[o.object_id for o in self.objects]}")
