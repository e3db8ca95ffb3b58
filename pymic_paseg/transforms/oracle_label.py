"""``OracleLabel``: carry a case's dense label through PyMIC's transforms (Table II oracle).

The paper's size-constraint baseline (Table II, Kervadec et al. 2019) bounds the
predicted volume by 0.9-1.1 x the *true* volume. Stage 1 trains on partial labels, so
the true volume must come from elsewhere: this transform reads the dense label of each
training case from a second CSV and appends it to ``sample['label']`` as channel
:data:`ORACLE_CHANNEL` (2), after Ω_M (channel 1, from ``ValidRegionMask``; an
all-ones channel is put there when ``ValidRegionMask`` is not used). PyMIC's crop, flip
and pad transforms move every label channel together, so the stage-1 objective sees the
dense label of the training patch and passes its class volumes to the losses as
``target_volume`` (:func:`oracle_volume_from_label`).

Place it right after ``ValidRegionMask`` (or first), before any crop.

Config (``[dataset]`` section):
    * ``OracleLabel_csv`` (path, required): ``image,label`` rows, the ``image`` column
      as in ``train_csv`` (e.g. the demo's ``train.csv`` next to ``train_partial.csv``);
      the label paths are relative to ``train_dir`` (or ``root_dir``), as PyMIC's.
"""
from __future__ import annotations

import csv
import os
from typing import Any, Dict, Mapping, Optional

import numpy as np
import SimpleITK as sitk
import torch
from pymic.transform.abstract_transform import AbstractTransform

from pymic_paseg.config import ConfigError, Section

PREFIX = "OracleLabel_"
KEYS = (PREFIX + "csv",)
#: index of the dense label in ``sample['label']`` after this transform.
ORACLE_CHANNEL = 2


class OracleLabel(AbstractTransform):
    """Append the case's dense label (from ``OracleLabel_csv``) as label channel 2."""

    def __init__(self, params: Mapping[str, Any]):
        super().__init__(params)
        section = Section("dataset", params)
        section.check_known_keys(PREFIX, KEYS)
        path = section.path(PREFIX + "csv", must_exist=True)
        self.root = str(section.raw("train_dir", None) or section.raw("root_dir", ""))
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle))
        if not rows or not {"image", "label"} <= set(rows[0]):
            raise ConfigError(f"[dataset] {PREFIX}csv = {path}: expected 'image,label' "
                              "columns and at least one row")
        self.labels: Dict[str, str] = {r["image"].strip(): r["label"].strip() for r in rows}
        self.source = path
        self.inverse = False

    def __call__(self, sample: Dict[str, Any]) -> Dict[str, Any]:
        name = sample.get("names", ["?"])[0]
        if name not in self.labels:
            raise ValueError(f"OracleLabel: image {name} is not listed in "
                             f"[dataset] {PREFIX}csv = {self.source}")
        if "label" not in sample:
            raise ValueError(f"OracleLabel needs a label for {name} (training only)")
        label = np.asarray(sample["label"])
        if label.shape[0] == 1:     # no ValidRegionMask: Ω_M = everything
            label = np.concatenate([label, np.ones_like(label)], axis=0)
        if label.shape[0] != ORACLE_CHANNEL:
            raise ValueError(f"OracleLabel expects a 1- or 2-channel label (after "
                             f"ValidRegionMask), got shape {label.shape} for {name}")
        path = os.path.join(self.root, self.labels[name])
        dense = sitk.GetArrayFromImage(sitk.ReadImage(path))
        if dense.shape != label.shape[1:]:
            raise ValueError(f"OracleLabel: {path} has shape {dense.shape}, the label of "
                             f"{name} {label.shape[1:]}")
        sample["label"] = np.concatenate([label, dense[None].astype(label.dtype)], axis=0)
        return sample


def oracle_volume_from_label(label: Any, class_num: int) -> Optional[torch.Tensor]:
    """``N x C`` voxel count of each class in the dense label carried by ``OracleLabel``
    (channel 2 of a batched label), else ``None``."""
    if label is None or label.ndim < 2 or label.shape[1] <= ORACLE_CHANNEL:
        return None
    dense = label[:, ORACLE_CHANNEL].round().long()
    dims = tuple(range(1, dense.dim()))
    return torch.stack([(dense == c).sum(dim=dims) for c in range(class_num)], 1)
