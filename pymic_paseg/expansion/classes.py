"""Several classes in one partial label: each object's Omega_F takes its object's class.

PyMIC's partial-label convention (``PartialLabelToProbability``, ``class_num = K + 1``):
0 background, ``1 .. K`` the foreground classes, ``class_num`` unlabeled (pixel weight 0).
An object's ``label`` (:class:`~pymic_paseg.annotation.ObjectAnnotation`) is its class
``k``; a binary task has every object in class 1 and ``class_num = 2``.

Where objects of different classes both claim a voxel as foreground, the voxel is left
unlabeled (``class_num``): the clicks do not say which class it is. Objects of the same
class merge (the union of their Omega_F), as in the binary case.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np

__all__ = ["FOREGROUND_CLASS", "checked_classes", "paint_foreground"]

#: the class of an object without a label (a binary task).
FOREGROUND_CLASS = 1

Claim = Tuple[Tuple[slice, ...], np.ndarray]


def checked_classes(classes: Optional[Sequence[int]], n_objects: int,
                    class_num: int) -> Tuple[int, ...]:
    """One class per object, each in ``1 .. class_num - 1``; ``None``: all class 1.

    Raises:
        ValueError: a class is not an integer, or does not fit ``class_num`` (the
            message says to raise ``class_num``: ``[network] class_num`` / ``--class-num``).
    """
    if classes is None:
        return (FOREGROUND_CLASS,) * n_objects
    classes = tuple(classes)
    if len(classes) != n_objects:
        raise ValueError(f"one class per object is needed. Got: {len(classes)} classes for "
                         f"{n_objects} objects")
    for index, k in enumerate(classes):
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise ValueError(f"object {index}: class must be an integer. Got: {k!r}")
        if not 1 <= int(k) < class_num:
            raise ValueError(
                f"object {index}: class {int(k)} must be in 1..{class_num - 1} for class_num "
                f"= {class_num} (background 0, unlabeled {class_num}); a task with K "
                f"foreground classes needs class_num = K + 1 ([network] class_num, "
                f"pymic_run expand --class-num)")
    return tuple(int(k) for k in classes)


def paint_foreground(label: np.ndarray, claims: Sequence[Claim], classes: Sequence[int],
                     class_num: int) -> int:
    """Write each object's Omega_F with its class into ``label`` (in place).

    Args:
        label: ``(D, H, W)`` uint8 partial label, Omega_B and Omega_U already set.
        claims: per object, ``(box slices, bool Omega_F on the box)``.
        classes: per object, its class (see :func:`checked_classes`).
        class_num: the unlabeled value.

    Returns:
        The number of voxels claimed by objects of different classes (left unlabeled).
    """
    owner = np.zeros(label.shape, np.uint8)
    conflict = np.zeros(label.shape, bool)
    for (box, foreground), k in zip(claims, classes):
        sub = owner[box]
        conflict[box] |= foreground & (sub != 0) & (sub != k)
        sub[foreground & (sub == 0)] = k
    claimed = owner > 0
    label[claimed] = owner[claimed]
    label[conflict] = class_num
    return int(np.count_nonzero(conflict))
