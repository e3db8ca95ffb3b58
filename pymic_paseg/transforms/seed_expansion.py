"""``SeedExpansion``: PA-Seg's seed expansion (sec. III-A 2) on the fly, as a PyMIC transform.

PyMIC's ``NiftyDataset`` loads the training CSV's ``label`` column into
``sample['label']``. For this transform that column lists each case's **click map**
(the NIfTI written by ``pymic_run clicks`` or by
:func:`pymic_paseg.annotation.write_click_map`: 0 nothing, 1 background click,
2 foreground click; object ``k`` of a multi-object map uses ``2k+1``/``2k+2``).
The transform replaces it, in place, by the partial label of eq. 2 (0 background,
1 foreground, ``class_num`` unlabeled), exactly as the offline runner
(``pymic_run expand``) would write it: both call
:func:`pymic_paseg.expansion.case_expansion.expand_annotation`.

Place it **first** in ``train_transform``: the clicks and the geometry refer to the
image as read from disk, and the geodesic distance needs the raw intensities, so
it must run before any crop, flip, resampling or intensity normalisation. Follow
it with ``PartialLabelToProbability``. Example::

    train_csv = demo_data/train_clicks.csv          ; image,label = image,click map
    train_transform = [SeedExpansion, ValidRegionMask, NormalizeWithMeanStd, RandomCrop,
                       RandomFlip, PartialLabelToProbability]
    SeedExpansion_rule = adaptive                ; or paper (eq. 2, with SeedExpansion_epsilon)
    SeedExpansion_mask_threshold = 0
    PartialLabelToProbability_class_num = 2

Config (``[dataset]``): the ``SeedExpansion_*`` keys of
:mod:`pymic_paseg.expansion.params` (rule adaptive: all seven clicks, see
:mod:`pymic_paseg.expansion.adaptive`; ``SeedExpansion_rule = paper`` for PA-Seg's
eq. 2 with epsilon 0.2, lambda 0.5, iterations 4, backend torch, cost geodistk,
intensity_normalization none; mask_threshold absent = the whole image is valid); the unlabeled value is ``PartialLabelToProbability_class_num``
(default 2), which must match that transform's.

Cost per sample: one geodesic distance per object, inside the object's box (it
grows with the box, not the image), run with one PyTorch thread (see
:mod:`pymic_paseg.expansion.case_expansion`). Measured with the torch backend on
CPU, median of 11 calls, on a shared 2-core machine (noisy): 0.013 s for a
48x64x64 demo case (box of 20,800 voxels) and 0.030 s for the same case resampled
to 48x128x128 (box of 78,600 voxels), i.e. about 1.6 times what ``NiftyDataset``
takes to read the image and click map (0.008 s and 0.019 s). With PyTorch's
default 2 threads the same calls took 0.09 s and 2.8 s on the busy machine.

When offline is the better choice: the expansion is deterministic, so every epoch
recomputes the same partial label for every case. Offline expansion
(``pymic_run expand``) pays that once, lets you check the result (metrics, QC
overlays) before training, and keeps the data loader fast. Use this transform
when clicks change between runs (e.g. interactive or re-simulated annotation) or
when you tune ``SeedExpansion_*`` and do not want to rewrite label files; give the
data loader workers (``num_worker``) to hide its cost.

Note:
    * Omega_M comes from ``SeedExpansion_mask_threshold`` (``image > T``), not from a
      mask file as the offline runner can use; the two agree when the mask is
      ``image > T`` (as in the demo dataset).
    * ``NiftyDataset`` does not return the click map's own geometry, only its data, so
      the transform checks its shape (PyMIC does too) but cannot check that its
      spacing/origin match the image. ``pymic_run expand`` checks them.
    * An invalid click map raises :class:`~pymic_paseg.annotation.AnnotationError`
      naming the case and the click, during training; validate offline first.
"""
from __future__ import annotations

import os
from typing import Any, Dict, Mapping

import numpy as np
from pymic.transform.abstract_transform import AbstractTransform

from pymic_paseg.annotation import AnnotationError, ImageGeometry
from pymic_paseg.annotation.model import case_id_from_path
from pymic_paseg.config import Section
from pymic_paseg.expansion import ExpansionParams
from pymic_paseg.expansion.case_expansion import (DEFAULT_CLASS_NUM, annotation_from_click_codes,
                                                  expand_annotation, valid_region)

__all__ = ["SeedExpansion", "CLASS_NUM_KEY"]

#: the key giving the unlabeled value, shared with PyMIC's PartialLabelToProbability.
CLASS_NUM_KEY = "PartialLabelToProbability_class_num"
_SPATIAL_DIMS = 3
_IDENTITY = tuple(np.eye(_SPATIAL_DIMS).ravel())
_HINT = ("; SeedExpansion reads the training CSV's label column as click maps "
         "(0 nothing, 1 background click, 2 foreground click)")


def _geometry(sample: Mapping[str, Any], shape_zyx) -> ImageGeometry:
    """The image grid from NiftyDataset's ``spacing`` (z, y, x), ``origin``, ``direction``."""
    if sample.get("spacing") is None or len(sample["spacing"]) != _SPATIAL_DIMS:
        raise ValueError(f"SeedExpansion needs the 3D voxel spacing in sample['spacing'] "
                         f"(NiftyDataset provides it for NIfTI files). Got: "
                         f"{sample.get('spacing')!r}")
    spacing_xyz = tuple(reversed([float(s) for s in sample["spacing"]]))
    origin = sample.get("origin")
    direction = sample.get("direction")
    origin = (0.0,) * _SPATIAL_DIMS if origin is None or len(origin) != _SPATIAL_DIMS else origin
    direction = (_IDENTITY if direction is None or np.size(direction) != _SPATIAL_DIMS ** 2
                 else tuple(np.ravel(direction)))
    return ImageGeometry(tuple(reversed(shape_zyx)), spacing_xyz, tuple(origin), direction)


class SeedExpansion(AbstractTransform):
    """Turn the click map in ``sample['label']`` into PA-Seg's partial label (see module)."""

    def __init__(self, params: Mapping[str, Any]):
        super().__init__(params)
        section = Section("dataset", params)
        self.params = ExpansionParams.from_section(section)
        self.class_num = section.int(CLASS_NUM_KEY, DEFAULT_CLASS_NUM, low=2)
        if self.class_num != DEFAULT_CLASS_NUM:
            # a click map's codes name objects, not classes: every object would be class 1
            raise section.fail(CLASS_NUM_KEY, self.class_num,
                               "the SeedExpansion transform reads click maps, which carry no "
                               "object class, so it makes binary labels only (class_num = 2); "
                               "for several classes expand offline (pymic_run expand "
                               "--class-num K+1 with clicks that give each object's label)")
        self.inverse = False

    def __call__(self, sample: Dict[str, Any]) -> Dict[str, Any]:
        names = list(sample.get("names") or [])
        source = str(names[-1]) if names else ""
        case_id = case_id_from_path(source) if source else "?"
        if "label" not in sample:
            raise ValueError(f"SeedExpansion needs a click map as label for case {case_id!r}; "
                             "use it in train_transform only")
        image = np.asarray(sample["image"], dtype=np.float32)
        if image.ndim != _SPATIAL_DIMS + 1:
            raise ValueError(f"SeedExpansion expects a (C, D, H, W) image for case "
                             f"{case_id!r}. Got: shape {image.shape}")
        codes = np.asarray(sample["label"])
        geometry = _geometry(sample, image.shape[1:])
        try:
            case = annotation_from_click_codes(codes, geometry, case_id, os.path.basename(source))
            partial = expand_annotation(image, case, geometry, self.params,
                                        valid_mask=valid_region(image, self.params),
                                        class_num=self.class_num)
        except AnnotationError as err:
            raise AnnotationError(err.reason + _HINT, path=source or None,
                                  case_id=err.case_id or case_id, object_id=err.object_id,
                                  point=err.point) from None
        sample["label"] = partial[None].astype(codes.dtype, copy=False)
        return sample
