"""Seed expansion: PA-Seg's seven clicks per object -> a partial label map (eq. 2).

Pure functions on arrays, shared by the offline runner and the PyMIC transform::

    from pymic_paseg.expansion import ExpansionParams, expand_seeds, valid_mask_from_image

    params = ExpansionParams.from_section(Section("dataset", config["dataset"]))
    mask = None if params.mask_threshold is None else valid_mask_from_image(
        image, params.mask_threshold)
    label = expand_seeds(image, clicks, boxes, mask, spacing, class_num=2,
                         **params.expansion_kwargs())

Modules: :mod:`~pymic_paseg.expansion.seed_expansion` (:func:`expand_seeds`),
:mod:`~pymic_paseg.expansion.params` (settings and config keys),
:mod:`~pymic_paseg.expansion.intensity` (Omega_M, intensity scaling),
:mod:`~pymic_paseg.expansion.metrics` (QC against a dense ground truth).
"""
from pymic_paseg.expansion.intensity import (
    INTENSITY_NORMALIZATIONS,
    normalize_intensity,
    valid_mask_from_image,
)
from pymic_paseg.expansion.metrics import expansion_metrics
from pymic_paseg.expansion.params import DEFAULT_PREFIX, ExpansionParams
from pymic_paseg.expansion.seed_expansion import BACKGROUND, FOREGROUND, expand_seeds

__all__ = [
    "BACKGROUND",
    "DEFAULT_PREFIX",
    "FOREGROUND",
    "INTENSITY_NORMALIZATIONS",
    "ExpansionParams",
    "expand_seeds",
    "expansion_metrics",
    "normalize_intensity",
    "valid_mask_from_image",
]
