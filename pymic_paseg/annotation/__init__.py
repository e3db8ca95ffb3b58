"""Seven-point annotations of PA-Seg: model, file formats, validation, simulation.

One foreground click near the centre of each object and six background clicks
beyond its extremes (Zhai et al., IEEE TMI 2023, Sec. III-A 1). See
``docs/annotation.md`` for the click protocol and the file formats.

Typical use::

    from pymic_paseg.annotation import read_annotation, validate_case

    case = read_annotation("vs_012.mrk.json", "vs_012_T2.nii.gz")
    validate_case(case, "vs_012_T2.nii.gz")          # AnnotationError if broken
    for obj in case.objects:
        print(obj.object_id, obj.foreground.voxel, obj.box())
"""
from pymic_paseg.annotation.errors import AnnotationError
from pymic_paseg.annotation.geometry import ImageGeometry, as_geometry
from pymic_paseg.annotation.io_csv import (read_csv_annotations, read_csv_case,
                                           write_csv_annotations)
from pymic_paseg.annotation.io_nifti import (click_map_array, instance_codes, read_click_map,
                                             write_click_map)
from pymic_paseg.annotation.io_slicer import read_slicer_markups, write_slicer_markups
from pymic_paseg.annotation.model import (BACKGROUND, CODE_BACKGROUND, CODE_FOREGROUND,
                                          CODE_NONE, FOREGROUND, CaseAnnotation, Click,
                                          ObjectAnnotation)
from pymic_paseg.annotation.read import read_annotation, write_annotation
from pymic_paseg.annotation.simulate import simulate_clicks
from pymic_paseg.annotation.validate import find_problems, validate_case, validate_cases

__all__ = [
    "AnnotationError", "ImageGeometry", "as_geometry",
    "Click", "ObjectAnnotation", "CaseAnnotation",
    "FOREGROUND", "BACKGROUND", "CODE_NONE", "CODE_BACKGROUND", "CODE_FOREGROUND",
    "read_annotation", "write_annotation",
    "read_click_map", "write_click_map", "click_map_array", "instance_codes",
    "read_slicer_markups", "write_slicer_markups",
    "read_csv_annotations", "read_csv_case", "write_csv_annotations",
    "validate_case", "validate_cases", "find_problems",
    "simulate_clicks",
]
