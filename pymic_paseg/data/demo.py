"""Build the demo dataset: BraTS-like 3-D crops with one synthetic lesion each.

Usage::

    from pymic_paseg.data import DemoConfig, build_demo_dataset
    ds = build_demo_dataset("demo_data", DemoConfig(n_cases=40, seed=0))
    ds.csv["train"]       # PyMIC CSV (columns image,label), paths relative to ds.root

Layout of ``out_dir``::

    images/case_000.nii.gz   float32 T1-like image, exactly 0 outside the brain
    labels/case_000.nii.gz   uint8, 1 = lesion (2 = dark lesion, preset two_class)
    masks/case_000.nii.gz    uint8 brain mask (the valid region, image > 0)
    train.csv valid.csv test.csv all.csv
    dataset.json             manifest, written last

Every file is written atomically. The template is loaded once per process;
each case only processes crop-sized arrays (see :mod:`pymic_paseg.data.case`).
"""
from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Union

import numpy as np
from tqdm import tqdm

from pymic_paseg import __version__
from pymic_paseg.data.case import CaseArrays, synthesize_case
from pymic_paseg.data.catalog import (
    MANIFEST, SPLITS, CaseRecord, write_csv_files, write_manifest)
from pymic_paseg.data.demo_config import DemoConfig
from pymic_paseg.data.placement import LesionSites
from pymic_paseg.data.template import GM_FILE, T1_FILE, WM_FILE, BrainTemplate, load_template
from pymic_paseg.io_utils import atomic_write_image

__all__ = ["DemoConfig", "DemoDataset", "CaseRecord", "build_demo_dataset", "DATASET_VERSION"]

logger = logging.getLogger(__name__)

#: version of the dataset layout and synthesis; bump when outputs change.
DATASET_VERSION = 1
IMAGE_DIR, LABEL_DIR, MASK_DIR = "images", "labels", "masks"
#: the label values of a dataset with one or two lesion classes.
LABEL_NAMES = {1: {"0": "background", "1": "lesion"},
               2: {"0": "background", "1": "bright lesion", "2": "dark lesion"}}
#: least number of digits in case names (``case_000``).
CASE_DIGITS = 3
_MM3_PER_ML = 1000.0


@dataclass(frozen=True)
class DemoDataset:
    """A built demo dataset.

    Attributes:
        root: dataset root folder (PyMIC's ``root_dir``).
        csv: CSV paths by split: ``train``, ``valid``, ``test`` (PyMIC format,
            columns ``image,label``) and ``all`` (``case,image,label,mask,split``).
        cases: one record per case, in index order.
        manifest: path of ``dataset.json``.
    """

    root: Path
    csv: Dict[str, Path]
    cases: List[CaseRecord]
    manifest: Path


def _split_of(index: int, config: DemoConfig) -> str:
    n_train, n_valid, _ = config.split_counts()
    if index < n_train:
        return SPLITS[0]
    return SPLITS[1] if index < n_train + n_valid else SPLITS[2]


def _case_name(index: int, n_cases: int) -> str:
    digits = max(CASE_DIGITS, len(str(n_cases - 1)))
    return f"case_{index:0{digits}d}"


def _write_case(root: Path, name: str, arrays: CaseArrays,
                template: BrainTemplate) -> Dict[str, str]:
    paths = {key: f"{folder}/{name}.nii.gz" for key, folder in
             (("image", IMAGE_DIR), ("label", LABEL_DIR), ("mask", MASK_DIR))}
    for key in ("image", "label", "mask"):
        atomic_write_image(getattr(arrays, key), root / paths[key], template.spacing_xyz,
                           arrays.origin_xyz, template.direction)
    return paths


def _record(index: int, name: str, paths: Dict[str, str], arrays: CaseArrays,
            template: BrainTemplate, config: DemoConfig) -> CaseRecord:
    voxels = int(np.count_nonzero(arrays.label))
    voxel_mm3 = float(np.prod(template.spacing_xyz))
    centroid = np.argwhere(arrays.label).mean(axis=0)
    offset = centroid - (np.asarray(arrays.label.shape) - 1) / 2.0
    return CaseRecord(
        case=name, index=index, split=_split_of(index, config), image=paths["image"],
        label=paths["label"], mask=paths["mask"], lesion_voxels=voxels,
        lesion_volume_ml=round(voxels * voxel_mm3 / _MM3_PER_ML, 4),
        crop_start_zyx=arrays.crop_start, origin_xyz=arrays.origin_xyz,
        lesion_offset_vox=tuple(round(float(v), 2) for v in offset))  # type: ignore[arg-type]


def _manifest_header(config: DemoConfig, template: BrainTemplate) -> Dict[str, object]:
    n_train, n_valid, n_test = config.split_counts()
    return {
        "name": "pymic_paseg demo dataset", "version": DATASET_VERSION,
        "generator": f"pymic_paseg {__version__}", "seed": config.seed,
        "n_cases": config.n_cases, "crop_size_zyx": list(config.crop_size),
        "spacing_xyz": list(template.spacing_xyz), "direction": list(template.direction),
        "splits": {"train": n_train, "valid": n_valid, "test": n_test},
        "labels": LABEL_NAMES[config.n_classes],
        "template": {"source": "MNI ICBM152 2009a nonlinear symmetric, bundled with nilearn",
                     "files": [T1_FILE, GM_FILE, WM_FILE]},
        "config": config.to_dict(),
    }


def build_demo_dataset(out_dir: Union[str, os.PathLike], config: Optional[DemoConfig] = None,
                       *, progress: bool = True) -> DemoDataset:
    """Synthesise the demo dataset into ``out_dir`` (created if needed).

    Args:
        out_dir: dataset root; existing case files of the same names are replaced.
        config: settings; ``DemoConfig()`` (40 cases, seed 0) by default.
        progress: show a tqdm progress bar.

    Returns:
        The :class:`DemoDataset` (root, CSV paths, case records, manifest path).

    Raises:
        pymic_paseg.data.template.TemplateNotFoundError: nilearn or its MNI files are missing.
        RuntimeError: a lesion could not be placed (lesions too large for the crop).
    """
    config = config if config is not None else DemoConfig()
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):  # the manifest marks a finished build
        os.remove(root / MANIFEST)
    template = load_template()
    sites = LesionSites(template, config.min_tissue_probability)
    records: List[CaseRecord] = []
    for index in tqdm(range(config.n_cases), desc="demo cases", disable=not progress):
        name = _case_name(index, config.n_cases)
        arrays = synthesize_case(template, sites, config, index)
        paths = _write_case(root, name, arrays, template)
        records.append(_record(index, name, paths, arrays, template, config))
    csv_paths = write_csv_files(root, records)
    manifest = write_manifest(root, _manifest_header(config, template), records)
    logger.info("built %d demo cases in %s", len(records), root)
    return DemoDataset(root=root, csv=csv_paths, cases=records, manifest=manifest)
