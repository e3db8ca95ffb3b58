"""The MNI ICBM152 2009a brain template shipped inside the nilearn package.

nilearn bundles three 1 mm volumes (197 x 233 x 189 voxels) in
``nilearn/datasets/data/``: a skull-stripped T1 (zero outside the brain) and the
grey- and white-matter probability maps (0..255). They are found through the
installed package's path (never the network) and loaded once per process.
"""
from __future__ import annotations

import functools
import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Tuple

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

__all__ = [
    "BrainTemplate", "TemplateNotFoundError", "T1_FILE", "GM_FILE", "WM_FILE",
    "template_file", "load_template",
]

logger = logging.getLogger(__name__)

T1_FILE = "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz"
GM_FILE = "mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz"
WM_FILE = "mni_icbm152_wm_tal_nlin_sym_09a_converted.nii.gz"
#: folder of the data files inside the nilearn package.
NILEARN_DATA_SUBDIR = ("datasets", "data")
#: maximum value of the uint8 tissue probability maps.
PROBABILITY_MAX = 255.0
#: a voxel with WM probability above this is "pure" white matter (WM reference intensity).
PURE_WM_PROBABILITY = 0.9


class TemplateNotFoundError(FileNotFoundError):
    """nilearn, or one of its bundled MNI template files, is not available."""


@dataclass(frozen=True)
class BrainTemplate:
    """The template volumes, all ``(z, y, x)`` arrays of the same shape (read-only).

    Attributes:
        t1: T1 intensities, float32, 0 outside the brain, about 0..255 inside.
        brain: brain mask (``t1 > 0`` with holes filled), bool.
        tissue: GM + WM probability, float32 in 0..1.
        depth_mm: distance (mm) from each voxel to the nearest non-brain voxel,
            float32; the volume's edge counts as outside.
        spacing_xyz, origin_xyz, direction: ITK geometry (LPS), see :mod:`pymic_paseg.io_utils`.
        wm_reference: median T1 intensity of pure white matter.
    """

    t1: np.ndarray
    brain: np.ndarray
    tissue: np.ndarray
    depth_mm: np.ndarray
    spacing_xyz: Tuple[float, float, float]
    origin_xyz: Tuple[float, float, float]
    direction: Tuple[float, ...]
    wm_reference: float

    @property
    def shape(self) -> Tuple[int, int, int]:
        return tuple(self.t1.shape)  # type: ignore[return-value]

    def index_to_world(self, index_zyx: Tuple[int, int, int]) -> Tuple[float, float, float]:
        """World (LPS, mm) position of voxel ``index_zyx``; used for crop origins."""
        index_xyz = np.asarray(index_zyx[::-1], dtype=np.float64)
        cosines = np.asarray(self.direction, dtype=np.float64).reshape(3, 3)
        offset = cosines @ (np.asarray(self.spacing_xyz) * index_xyz)
        return tuple(float(v) for v in np.asarray(self.origin_xyz) + offset)  # type: ignore


def template_file(name: str) -> Path:
    """Path of one of nilearn's bundled data files; raise if it is missing.

    The nilearn package is located with ``importlib.util.find_spec`` (no import,
    no network). :class:`TemplateNotFoundError` names the missing file.
    """
    spec = importlib.util.find_spec("nilearn")
    if spec is None or not spec.submodule_search_locations:
        raise TemplateNotFoundError(
            f"the demo dataset needs the MNI template file {name!r} that ships with the "
            f"'nilearn' package, but nilearn is not installed: install the demo extra, "
            f"pip install \"pymic_paseg[demo]\" (or pip install nilearn)")
    package_dir = Path(list(spec.submodule_search_locations)[0])
    path = package_dir.joinpath(*NILEARN_DATA_SUBDIR, name)
    if not path.is_file():
        raise TemplateNotFoundError(
            f"the MNI template file {name!r} is missing from the installed nilearn "
            f"package (looked for {path}); reinstall nilearn")
    return path


def _read(name: str) -> Tuple[np.ndarray, sitk.Image]:
    image = sitk.ReadImage(str(template_file(name)))
    return sitk.GetArrayFromImage(image), image


def _depth_mm(brain: np.ndarray, spacing_zyx: Tuple[float, ...]) -> np.ndarray:
    """Euclidean distance to the nearest outside voxel, computed on the brain's bounding box."""
    coords = np.nonzero(brain)
    box = tuple(slice(int(c.min()), int(c.max()) + 1) for c in coords)
    padded = np.pad(brain[box], 1)  # the volume edge counts as outside
    dist = ndimage.distance_transform_edt(padded, sampling=spacing_zyx)[1:-1, 1:-1, 1:-1]
    depth = np.zeros(brain.shape, np.float32)
    depth[box] = dist
    return depth


@functools.lru_cache(maxsize=1)
def load_template() -> BrainTemplate:
    """Load the T1 template, brain mask, tissue map and depth map (cached)."""
    t1, image = _read(T1_FILE)
    gm, _ = _read(GM_FILE)
    wm, _ = _read(WM_FILE)
    if gm.shape != t1.shape or wm.shape != t1.shape:
        raise ValueError(f"nilearn's MNI template files disagree in shape: T1 {t1.shape}, "
                         f"GM {gm.shape}, WM {wm.shape}")
    t1 = t1.astype(np.float32)
    brain = ndimage.binary_fill_holes(t1 > 0)
    tissue = np.clip((gm.astype(np.float32) + wm.astype(np.float32)) / PROBABILITY_MAX, 0, 1)
    spacing_xyz = tuple(float(s) for s in image.GetSpacing())
    depth = _depth_mm(brain, spacing_xyz[::-1])
    pure_wm = (wm.astype(np.float32) / PROBABILITY_MAX > PURE_WM_PROBABILITY) & brain
    wm_reference = float(np.median(t1[pure_wm]))
    for array in (t1, brain, tissue, depth):
        array.setflags(write=False)
    logger.info("loaded MNI template %s (WM reference intensity %.1f)", t1.shape, wm_reference)
    return BrainTemplate(
        t1=t1, brain=brain, tissue=tissue, depth_mm=depth, spacing_xyz=spacing_xyz,
        origin_xyz=tuple(float(o) for o in image.GetOrigin()),
        direction=tuple(float(d) for d in image.GetDirection()), wm_reference=wm_reference)
