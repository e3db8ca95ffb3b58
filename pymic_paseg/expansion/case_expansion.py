"""One case, from its seven-click annotation to its partial label.

The offline runner (:mod:`pymic_paseg.expansion.runner`) and the on-the-fly
transform (:class:`pymic_paseg.transforms.seed_expansion.SeedExpansion`) both call
:func:`expand_annotation`, so they give the same partial label for the same
image, clicks and settings.

* :func:`valid_region`: Omega_M from a mask array, else ``image > SeedExpansion_mask_threshold``,
  else ``None`` (the whole image is valid);
* :func:`annotation_from_click_codes`: a click-map array (as PyMIC loads the label
  column) -> :class:`~pymic_paseg.annotation.CaseAnnotation`, with the codes of
  :mod:`pymic_paseg.annotation.io_nifti` (object ``k``: ``2k+1`` background clicks,
  ``2k+2`` its foreground click; a single-object map uses 1/2);
* :func:`expand_annotation`: validate the annotation against the grid and Omega_M,
  then :func:`~pymic_paseg.expansion.expand_seeds`, with PyTorch limited to
  :data:`EXPANSION_TORCH_THREADS` intra-op threads (:func:`torch_threads`).

Why one thread: the torch backend sweeps the planes of each object's box, small
tensors for which thread synchronisation costs more than it gives. On the shared
2-core machine, expanding demo cases took 0.010 s and 0.021 s (median of 5) with
1 thread against 0.22 s and 1.9 s with 2 threads. Parallelise across cases
instead (``pymic_run expand --workers N``, or PyMIC's data loader workers).
"""
from __future__ import annotations

import contextlib
from typing import Dict, Iterator, List, Optional, Tuple, Union

import numpy as np

from pymic_paseg.annotation import (BACKGROUND, CODE_BACKGROUND, CODE_NONE, FOREGROUND,
                                    AnnotationError, CaseAnnotation, Click, ImageGeometry,
                                    ObjectAnnotation, validate_case)
from pymic_paseg.expansion.classes import checked_classes
from pymic_paseg.expansion.intensity import valid_mask_from_image
from pymic_paseg.expansion.params import ExpansionParams
from pymic_paseg.expansion.seed_expansion import expand_seeds

__all__ = ["DEFAULT_CLASS_NUM", "EXPANSION_TORCH_THREADS", "annotation_from_click_codes",
           "expand_annotation", "torch_threads", "valid_region"]

#: a binary task: 0 background, 1 foreground, 2 unlabeled.
DEFAULT_CLASS_NUM = 2
#: click-map codes per object (background, foreground).
_CODES_PER_OBJECT = 2
#: PyTorch intra-op threads during an expansion (see the module docstring).
EXPANSION_TORCH_THREADS = 1


@contextlib.contextmanager
def torch_threads(threads: int = EXPANSION_TORCH_THREADS) -> Iterator[None]:
    """Run the body with ``torch.set_num_threads(threads)``; restore the count afterwards."""
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def valid_region(image: np.ndarray, params: ExpansionParams,
                 mask: Optional[np.ndarray] = None) -> Optional[np.ndarray]:
    """Omega_M: ``mask != 0`` if given, else ``image > params.mask_threshold``, else ``None``.

    Args:
        image: ``(D, H, W)`` or ``(C, D, H, W)`` intensities.
        params: the expansion settings (``mask_threshold`` may be ``None``).
        mask: optional ``(D, H, W)`` mask array (e.g. a brain mask file).
    """
    if mask is not None:
        return np.asarray(mask) != 0
    if params.mask_threshold is None:
        return None
    return valid_mask_from_image(image, params.mask_threshold)


def annotation_from_click_codes(codes: np.ndarray, geometry: ImageGeometry, case_id: str,
                                source: str = "") -> CaseAnnotation:
    """A click map held in memory -> the case's annotation (no checks of the protocol).

    Args:
        codes: ``(D, H, W)`` or ``(1, D, H, W)`` non-negative integer codes.
        geometry: the grid the codes lie on (the image's).
        case_id: the case, for messages.
        source: where the codes came from (a file name), for messages.

    Raises:
        AnnotationError: the array is not a single-channel map of non-negative integers,
            or does not have the grid's shape.
    """
    codes = np.asarray(codes)
    if codes.ndim == len(geometry.shape_zyx) + 1 and codes.shape[0] == 1:
        codes = codes[0]
    if codes.shape != geometry.shape_zyx:
        raise AnnotationError(f"a click map must be one channel of shape (z,y,x)="
                              f"{geometry.shape_zyx}. Got: shape {codes.shape}",
                              path=source or None, case_id=case_id)
    if np.any(codes < 0) or np.any(codes != np.round(codes)):
        raise AnnotationError("a click map must hold non-negative integers (0 nothing, 2k+1 "
                              "background / 2k+2 foreground click of object k)",
                              path=source or None, case_id=case_id)
    voxels = np.argwhere(codes != CODE_NONE)
    groups: Dict[int, List[Click]] = {}
    for voxel in voxels:
        value = int(codes[tuple(voxel)])
        k, offset = divmod(value - CODE_BACKGROUND, _CODES_PER_OBJECT)
        role = BACKGROUND if offset == 0 else FOREGROUND
        where = f"value {value}" + (f" in {source}" if source else "")
        groups.setdefault(k, []).append(Click(tuple(int(v) for v in voxel), role, where))
    objects = tuple(ObjectAnnotation(str(k + 1), tuple(clicks))
                    for k, clicks in sorted(groups.items()))
    return CaseAnnotation(case_id, objects, geometry)


def expand_annotation(image: np.ndarray, case: CaseAnnotation, geometry: ImageGeometry,
                      params: ExpansionParams, *, valid_mask: Optional[np.ndarray] = None,
                      class_num: int = DEFAULT_CLASS_NUM,
                      return_conflicts: bool = False) -> Union[np.ndarray, Tuple[np.ndarray, int]]:
    """Validate ``case`` against the image grid and Omega_M, then expand its seeds.

    Each object's Omega_F takes the object's ``label`` (its class, 1 for a binary task);
    a voxel claimed by objects of two classes is left unlabeled
    (:mod:`pymic_paseg.expansion.classes`).

    Args:
        image: ``(D, H, W)`` or ``(C, D, H, W)`` intensities on ``geometry``.
        case: the annotation (voxels on ``geometry``).
        geometry: the image grid; its ``spacing_zyx`` is the geodesic step length.
        params: ``SeedExpansion_*`` settings.
        valid_mask: Omega_M (see :func:`valid_region`); ``None``: the whole image.
        class_num: the unlabeled value of the output (PyMIC's partial labels): the
            number of foreground classes + 1.
        return_conflicts: also return the number of voxels claimed by two classes.

    Returns:
        ``(D, H, W)`` uint8 partial label: 0 background, ``k`` foreground of class ``k``,
        ``class_num`` unlabeled; with ``return_conflicts``, ``(label, conflicts)``.

    Raises:
        AnnotationError: the annotation breaks the protocol or does not fit the image
            (see :mod:`pymic_paseg.annotation.validate`); the message names the click;
            or an object's class does not fit ``class_num`` (names the case and object).
    """
    validate_case(case, geometry, valid_mask)
    objects = case.objects
    classes = [o.label for o in objects]
    for obj in objects:
        try:
            checked_classes([obj.label], 1, class_num)
        except ValueError:
            raise AnnotationError(
                f"the object's label (class) {obj.label!r} does not fit class_num = "
                f"{class_num}, whose classes are 1..{class_num - 1}; a task with K foreground "
                "classes needs class_num = K + 1 ([network] class_num, pymic_run expand "
                "--class-num)", case_id=case.case_id, object_id=obj.object_id) from None
    with torch_threads():
        return expand_seeds(image, [o.foreground.voxel for o in objects],
                            [o.box() for o in objects], valid_mask, geometry.spacing_zyx,
                            class_num=class_num,
                            background_voxels=[[c.voxel for c in o.background] for o in objects],
                            classes=classes, return_conflicts=return_conflicts,
                            **params.expansion_kwargs())
