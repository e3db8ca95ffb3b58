"""The one error type of the annotation package.

Every problem with a user's annotation (a broken file, a missing click, a click
outside the image, a geometry that does not match the image) raises
:class:`AnnotationError`. Its message names, when known, the file, the case, the
object and the offending point, so a user can find the click to fix, e.g.::

    case 'vs_012', object '1', background click #4 at (z,y,x)=(3, 40, 141)
    ['bg-4' in vs_012.mrk.json]: outside the image of shape (z,y,x)=(20, 128, 128)
"""
from __future__ import annotations

from typing import Optional

__all__ = ["AnnotationError"]


class AnnotationError(ValueError):
    """An annotation is malformed, inconsistent with its image, or ambiguous.

    Args:
        reason: what is wrong, including the rule that was broken.
        path: the annotation file, if the problem was found while reading one.
        case_id: the case the annotation belongs to.
        object_id: the annotated object.
        point: a description of the offending click (see ``Click.describe``).

    The keyword arguments are kept as attributes so batch tools can group errors.
    """

    def __init__(self, reason: str, *, path: Optional[str] = None,
                 case_id: Optional[str] = None, object_id: Optional[str] = None,
                 point: Optional[str] = None) -> None:
        self.reason = reason
        self.path = None if path is None else str(path)
        self.case_id = case_id
        self.object_id = object_id
        self.point = point
        parts = []
        if self.path is not None:
            parts.append(self.path)
        if case_id is not None:
            parts.append(f"case {case_id!r}")
        if object_id is not None:
            parts.append(f"object {object_id!r}")
        if point:
            parts.append(point)
        super().__init__(f"{', '.join(parts)}: {reason}" if parts else reason)

    def with_context(self, *, case_id: Optional[str] = None) -> "AnnotationError":
        """A copy with ``case_id`` filled in if it was unknown."""
        return AnnotationError(self.reason, path=self.path,
                               case_id=self.case_id if self.case_id is not None else case_id,
                               object_id=self.object_id, point=self.point)
