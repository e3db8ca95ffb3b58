"""``ValidRegionMask``: carry the valid image region Ω_M through PyMIC's transforms.

PA-Seg's variance-minimisation loss (eq. 9-10) is computed over Ω_M, the image
region that is not undesired background (e.g. zero outside the brain after skull
stripping). Ω_M must be read *before* intensity normalisation, which turns the
zero background into an ordinary value, and must follow every crop and flip.

This transform appends Ω_M as an extra channel of ``sample['label']``.
PyMIC's crop, flip and pad transforms move all label channels together, and
``PartialLabelToProbability`` / ``LabelToProbability`` read only channel 0, so
the mask rides along untouched. The stage-1 agent reads it back as the
``valid_mask`` of its losses.

Place it first in ``train_transform`` (before ``NormalizeWithMeanStd``).

Config (``[dataset]`` section):
    * ``ValidRegionMask_threshold`` (float, default 0): Ω_M = image > threshold
      (:func:`pymic_paseg.valid_region.valid_region`, absolute floor);
    * ``ValidRegionMask_channel`` (int >= 0, default 0): image channel thresholded.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping

import numpy as np
from pymic.transform.abstract_transform import AbstractTransform

from pymic_paseg.config import Section
from pymic_paseg.valid_region import valid_region

PREFIX = "ValidRegionMask_"
KEYS = (PREFIX + "threshold", PREFIX + "channel", PREFIX + "inverse")

#: index of the Ω_M channel in ``sample['label']`` after this transform.
VALID_MASK_CHANNEL = 1


class ValidRegionMask(AbstractTransform):
    """Append Ω_M (image > threshold) to the label as channel 1."""

    def __init__(self, params: Mapping[str, Any]):
        super().__init__(params)
        section = Section("dataset", params)
        section.check_known_keys(PREFIX, KEYS)
        self.threshold = section.float(PREFIX + "threshold", 0.0)
        self.channel = section.int(PREFIX + "channel", 0, low=0)
        self.inverse = False

    def __call__(self, sample: Dict[str, Any]) -> Dict[str, Any]:
        image = sample["image"]
        if self.channel >= image.shape[0]:
            raise ValueError(f"[dataset] {PREFIX}channel = {self.channel}: the image of "
                             f"{sample.get('names', ['?'])[0]} has {image.shape[0]} channel(s)")
        if "label" not in sample:
            raise ValueError(f"ValidRegionMask needs a label for {sample.get('names', ['?'])[0]}:"
                             " it stores the mask as a label channel (training only)")
        label = np.asarray(sample["label"])
        if label.shape[0] != 1:
            raise ValueError(f"ValidRegionMask expects a 1-channel label, got shape {label.shape}"
                             " (listed twice in the transforms?)")
        channel = np.asarray(image[self.channel:self.channel + 1])
        mask = valid_region(channel, self.threshold).astype(label.dtype)
        sample["label"] = np.concatenate([label, mask], axis=0)
        return sample


def valid_mask_from_label(label: Any):
    """Ω_M from a (batched) label tensor carrying it, else ``None``."""
    if label is None or label.ndim < 2 or label.shape[1] <= VALID_MASK_CHANNEL:
        return None
    return label[:, VALID_MASK_CHANNEL:VALID_MASK_CHANNEL + 1] > 0
