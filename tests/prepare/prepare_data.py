"""Tiny NIfTI cases with Slicer clicks for the ``prepare`` tests (no demo builder needed).

Each case: a ``(20, 40, 40)`` noisy image (rotated grid, anisotropic voxels) with two
bright box lesions; the clicks are simulated from the lesions and saved as Slicer
``.mrk.json`` files, several per case: lesion 1 in ``<case>_lesion1.mrk.json``, lesion 2
split over ``<case>_lesion2_fg.mrk.json`` and ``<case>_lesion2_bg.mrk.json`` (the same
point-list name, so they merge into one object).
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Dict

import numpy as np
import SimpleITK as sitk

from pymic_paseg.annotation import (BACKGROUND, FOREGROUND, CaseAnnotation, ImageGeometry,
                                    ObjectAnnotation, simulate_clicks, write_slicer_markups)

SHAPE = (20, 40, 40)
SPACING_XYZ = (0.9, 0.8, 2.0)
ORIGIN = (-10.0, 5.0, 3.5)
DIRECTION = (0.0, 1.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0, 1.0)


def write(array: np.ndarray, path: Path) -> None:
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(SPACING_XYZ)
    image.SetOrigin(ORIGIN)
    image.SetDirection(DIRECTION)
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(image, str(path))


def make_case(rng: np.random.Generator):
    image = rng.normal(0.3, 0.05, SHAPE).astype(np.float32)
    label = np.zeros(SHAPE, np.uint8)
    z = int(rng.integers(5, 9))
    label[z:z + 5, 6:14, int(rng.integers(5, 12)):][:, :, :7] = 1
    label[z:z + 6, 24:33, int(rng.integers(20, 28)):][:, :, :8] = 1
    image[label > 0] += 0.6
    return np.abs(image), label


def _split_object(obj: ObjectAnnotation, role: str) -> ObjectAnnotation:
    return replace(obj, clicks=tuple(c for c in obj.clicks if c.role == role))


def write_clicks(case: CaseAnnotation, folder: Path) -> None:
    one, two = case.objects[:2]
    write_slicer_markups(replace(case, objects=(replace(one, object_id="lesion1"),)),
                         folder / f"{case.case_id}_lesion1.mrk.json", coordinate_system="RAS")
    two = replace(two, object_id="lesion2")
    for role, tag in ((FOREGROUND, "fg"), (BACKGROUND, "bg")):
        write_slicer_markups(replace(case, objects=(_split_object(two, role),)),
                             folder / f"{case.case_id}_lesion2_{tag}.mrk.json")


def make_folder(root: Path, n_cases: int = 10, seed: int = 0) -> Dict[str, Path]:
    """``root/{images,clicks,labels}``; returns those folders."""
    rng = np.random.default_rng(seed)
    folders = {k: root / k for k in ("images", "clicks", "labels")}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    for i in range(n_cases):
        name = f"pat{i:02d}"
        image, label = make_case(rng)
        write(image, folders["images"] / f"{name}.nii.gz")
        write(label, folders["labels"] / f"{name}_seg.nii.gz")
        geometry = ImageGeometry.from_image(sitk.ReadImage(str(folders["images"] /
                                                               f"{name}.nii.gz")))
        case = simulate_clicks(label, geometry.spacing_zyx, seed=i, case_id=name,
                               geometry=geometry, margin_mm=(2.0, 3.0))
        assert len(case.objects) == 2, case
        write_clicks(case, folders["clicks"])
    return folders
