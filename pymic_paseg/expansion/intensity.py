"""The valid region Omega_M and the intensity scaling applied before the geodesic distance.

Omega_M (PA-Seg III-A 2) excludes image regions that cannot be the object, such as
the zero background around a skull-stripped brain; everything outside it is
background. Without a mask file it is ``image > threshold``
(:func:`pymic_paseg.valid_region.valid_region`).

The geodesic cost depends on the intensity scale (see
:mod:`pymic_paseg.geodesic.costs`). PA-Seg's code passes the raw image to GeodisTK
(``"none"``, the default). ``"zscore"`` makes the result independent of the
scanner's units: each channel minus its mean, divided by its standard deviation,
both taken over Omega_M.
"""
from __future__ import annotations

import logging
from typing import Tuple

import numpy as np

from pymic_paseg.valid_region import valid_region

__all__ = ["INTENSITY_NORMALIZATIONS", "normalize_intensity", "valid_mask_from_image"]

logger = logging.getLogger(__name__)

INTENSITY_NORMALIZATIONS: Tuple[str, ...] = ("none", "zscore")


def _channels_first(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 3:
        return image[None]
    if image.ndim != 4:
        raise ValueError(f"image must have shape (D, H, W) or (C, D, H, W). Got: {image.shape}")
    return image


def valid_mask_from_image(image: np.ndarray, threshold: float) -> np.ndarray:
    """Omega_M as ``image > threshold`` (any channel, for a ``(C, D, H, W)`` image).

    :func:`pymic_paseg.valid_region.valid_region` with an absolute floor.

    Args:
        image: ``(D, H, W)`` or ``(C, D, H, W)`` array.
        threshold: intensities at or below it are invalid (e.g. 0 for skull-stripped MRI).

    Returns:
        ``(D, H, W)`` bool array.
    """
    return valid_region(_channels_first(image), float(threshold))[0]


def normalize_intensity(image: np.ndarray, valid_mask: np.ndarray, method: str) -> np.ndarray:
    """``image`` as float32 ``(C, D, H, W)``, scaled according to ``method``.

    Args:
        image: ``(C, D, H, W)`` array.
        valid_mask: ``(D, H, W)`` bool, Omega_M: the voxels the statistics are taken over.
        method: ``"none"`` (unchanged) or ``"zscore"`` (per channel, over Omega_M; a
            constant channel is only centred).
    """
    if method not in INTENSITY_NORMALIZATIONS:
        raise ValueError(f"intensity normalization must be one of "
                         f"{', '.join(INTENSITY_NORMALIZATIONS)}. Got: {method!r}")
    image = np.asarray(image, dtype=np.float32)
    if method == "none" or not valid_mask.any():
        return image
    values = image[:, valid_mask].astype(np.float64)
    mean, std = values.mean(axis=1), values.std(axis=1)
    if np.any(std == 0):
        logger.warning("intensity normalization: a channel is constant over the valid "
                       "region; it is centred but not scaled")
    std = np.where(std > 0, std, 1.0)
    return ((image - mean[:, None, None, None]) / std[:, None, None, None]).astype(np.float32)
