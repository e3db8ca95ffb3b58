"""One entry point to read or write an annotation file, chosen by its suffix.

=====================  ===================================================
suffix                 format (module)
=====================  ===================================================
``.nii``, ``.nii.gz``  PA-Seg click map on the image grid (``io_nifti``)
``.mha``, ``.nrrd``    the same click map in another ITK format
``.mrk.json``, .json   3D Slicer Markups point lists (``io_slicer``)
``.fcsv``              legacy 3D Slicer fiducial lists (``io_fcsv``)
``.csv``               table of clicks of one or many cases (``io_csv``)
=====================  ===================================================
"""
from __future__ import annotations

import os
from typing import Any, Optional, Union

from pymic_paseg.annotation.geometry import ImageLike
from pymic_paseg.annotation.io_csv import read_csv_case, write_csv_annotations
from pymic_paseg.annotation.io_fcsv import read_fcsv
from pymic_paseg.annotation.io_nifti import read_click_map, write_click_map
from pymic_paseg.annotation.io_slicer import read_slicer_markups, write_slicer_markups
from pymic_paseg.annotation.model import CaseAnnotation

__all__ = ["read_annotation", "write_annotation", "annotation_format", "FORMATS"]

#: format name -> file-name endings (lower case).
FORMATS = {
    "clickmap": (".nii", ".nii.gz", ".mha", ".mhd", ".nrrd"),
    "slicer": (".mrk.json", ".json"),
    "fcsv": (".fcsv",),
    "csv": (".csv",),
}


def annotation_format(path: Union[str, os.PathLike]) -> str:
    """``"clickmap"``, ``"slicer"`` or ``"csv"`` from the file name; ``ValueError`` otherwise."""
    name = os.fspath(path).lower()
    for fmt, endings in FORMATS.items():
        if name.endswith(endings):
            return fmt
    known = ", ".join(e for endings in FORMATS.values() for e in endings)
    raise ValueError(f"{os.fspath(path)}: unknown annotation file type; known endings: {known}")


def read_annotation(path: Union[str, os.PathLike], image_or_reference: Optional[ImageLike],
                    case_id: Optional[str] = None, **kwargs: Any) -> CaseAnnotation:
    """Read one case's annotation from any supported file.

    Args:
        path: the annotation file.
        image_or_reference: the annotated image (path, SimpleITK image or
            :class:`ImageGeometry`). Required for Slicer and CSV files (their points
            are mapped onto its grid); for click maps it is optional and, when
            given, the map's grid must match it.
        case_id: the case; defaults to the file name up to its first dot (click
            maps, Slicer) or the only case in the file (CSV).
        **kwargs: passed to the format's reader (e.g. ``assignment="nearest"``).
    """
    fmt = annotation_format(path)
    if fmt == "clickmap":
        return read_click_map(path, image_or_reference, case_id=case_id, **kwargs)
    if image_or_reference is None:
        raise ValueError(f"{os.fspath(path)}: a reference image is needed to map "
                         f"{fmt} points onto voxels")
    if fmt == "slicer":
        return read_slicer_markups(path, image_or_reference, case_id=case_id, **kwargs)
    if fmt == "fcsv":
        return read_fcsv(path, image_or_reference, case_id=case_id, **kwargs)
    return read_csv_case(path, image_or_reference, case_id=case_id, **kwargs)


def write_annotation(case: CaseAnnotation, path: Union[str, os.PathLike], **kwargs: Any) -> None:
    """Write one case in the format the suffix of ``path`` names (see :data:`FORMATS`)."""
    fmt = annotation_format(path)
    if fmt == "fcsv":
        raise ValueError(f"{os.fspath(path)}: .fcsv is read only; write .mrk.json instead")
    if fmt == "clickmap":
        write_click_map(case, path, **kwargs)
    elif fmt == "slicer":
        write_slicer_markups(case, path, **kwargs)
    else:
        write_csv_annotations([case], path, **kwargs)
