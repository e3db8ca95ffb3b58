"""Box-only partial labels: the paper's set-up for the tightness-prior row of Table II.

PA-Seg's DTP baseline (Kervadec et al. 2020) trains on the box given by each object's six
background clicks only: outside every box is background, inside is unlabeled, and no
foreground seeds (no Omega_F, no geodesic expansion) are used. :func:`write_box_labels`
writes such labels for the training cases from their click maps (``clicks.csv``: the
``image,clicks,...`` CSV of ``pymic_run clicks``) and a ``image,label`` CSV listing them.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import List

import numpy as np
import SimpleITK as sitk

from pymic_paseg.annotation import CODE_BACKGROUND, CODE_NONE
from pymic_paseg.io_atomic import atomic_write_text
from pymic_paseg.io_utils import atomic_write_image

__all__ = ["box_label", "write_box_labels", "UNLABELED"]

#: value of unlabeled voxels (PyMIC's ``PartialLabelToProbability`` with 2 classes).
UNLABELED = 2


def box_label(codes: np.ndarray, where: str = "") -> np.ndarray:
    """``(D, H, W)`` uint8: 0 outside every object's box, :data:`UNLABELED` inside, 0 at
    the background clicks. The box of object ``k`` is the inclusive bounding box of its
    background clicks (code ``2k + 1``)."""
    codes = np.asarray(codes).astype(np.int64)
    background = (codes != CODE_NONE) & ((codes - CODE_BACKGROUND) % 2 == 0)
    label = np.zeros(codes.shape, np.uint8)
    objects = np.unique(codes[background])
    if len(objects) == 0:
        raise ValueError(f"box_label: no background clicks in {where or 'the click map'}")
    for code in objects:
        points = np.argwhere(codes == code)
        lo, hi = points.min(0), points.max(0)
        label[tuple(slice(a, b + 1) for a, b in zip(lo, hi))] = UNLABELED
    label[background] = 0
    return label


def write_box_labels(data_dir: Path, clicks_csv: str = "clicks/clicks.csv",
                     out_dir: str = "box", out_csv: str = "train_box.csv") -> Path:
    """Box-only labels of every row of ``data_dir/clicks_csv`` into ``data_dir/out_dir``;
    returns ``data_dir/out_csv`` (``image,label``, paths relative to ``data_dir``)."""
    data_dir = Path(data_dir)
    with open(data_dir / clicks_csv, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or not {"image", "clicks"} <= set(rows[0]):
        raise ValueError(f"{data_dir / clicks_csv}: expected 'image,clicks' columns and rows")
    lines: List[str] = ["image,label"]
    for row in rows:
        source = data_dir / row["clicks"]
        clicks = sitk.ReadImage(str(source))
        label = box_label(sitk.GetArrayFromImage(clicks), str(source))
        name = f"{out_dir}/{Path(row['clicks']).name}"
        atomic_write_image(label, data_dir / name, clicks.GetSpacing(), clicks.GetOrigin(),
                           clicks.GetDirection())
        lines.append(f"{row['image']},{name}")
    atomic_write_text(data_dir / out_csv, "\n".join(lines) + "\n")
    return data_dir / out_csv
