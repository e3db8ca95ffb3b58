"""Tests of the demo dataset builder (pymic_paseg.data).

Builds a few small datasets once per module (template loaded once per process)
and checks determinism, geometry, lesion properties, CSVs and PyMIC loading.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from scipy import ndimage

from pymic_paseg.config import ConfigError
from pymic_paseg.data import DemoConfig, TemplateNotFoundError, build_demo_dataset
from pymic_paseg.data import template as template_module
from pymic_paseg.data.case import deformation_margin
from pymic_paseg.data.template import load_template

N_CASES = 3
CROP = (48, 64, 64)
#: a voxelised ellipsoid matches its moment-equivalent ellipsoid with Dice > 0.98;
#: an irregular lesion must stay clearly below.
IRREGULAR_DICE_MAX = 0.96
SHELL_VOX = 3


def small_config(seed: int = 0, n_cases: int = N_CASES) -> DemoConfig:
    return DemoConfig(n_cases=n_cases, seed=seed, crop_size=CROP,
                      n_valid=1 if n_cases > 2 else 0, n_test=1 if n_cases > 2 else 0)


def read(path: Path) -> sitk.Image:
    return sitk.ReadImage(str(path))


def arrays(root: Path, case: str) -> Dict[str, np.ndarray]:
    return {kind: sitk.GetArrayFromImage(read(root / f"{kind}s" / f"{case}.nii.gz"))
            for kind in ("image", "label", "mask")}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_demo_dataset(tmp_path_factory.mktemp("seed0"), small_config(0), progress=False)


@pytest.fixture(scope="module")
def cases(built):
    return {record.case: arrays(built.root, record.case) for record in built.cases}


def moment_ellipsoid_dice(mask: np.ndarray) -> float:
    """Dice between ``mask`` and the ellipsoid with the same centroid and second moments."""
    points = np.argwhere(mask).astype(np.float64)
    centre = points.mean(axis=0)
    eigval, eigvec = np.linalg.eigh(np.cov((points - centre).T))
    semi_axes = np.sqrt(5.0 * eigval)  # solid ellipsoid: variance = a^2 / 5
    grid = np.indices(mask.shape).reshape(3, -1).T - centre
    ellipsoid = ((((grid @ eigvec) / semi_axes) ** 2).sum(axis=1) <= 1.0).reshape(mask.shape)
    return 2.0 * float((ellipsoid & mask).sum()) / float(ellipsoid.sum() + mask.sum())


# ---------------------------------------------------------------- determinism
def test_same_seed_gives_identical_arrays(built, cases, tmp_path):
    again = build_demo_dataset(tmp_path, small_config(0), progress=False)
    for record in again.cases:
        for kind, array in arrays(again.root, record.case).items():
            np.testing.assert_array_equal(array, cases[record.case][kind], err_msg=kind)


def test_different_seed_gives_different_cases(cases, tmp_path):
    other = build_demo_dataset(tmp_path, small_config(1), progress=False)
    for record in other.cases:
        new = arrays(other.root, record.case)
        assert not np.array_equal(new["image"], cases[record.case]["image"])
        assert not np.array_equal(new["label"], cases[record.case]["label"])


def test_case_does_not_depend_on_number_of_cases(cases, tmp_path):
    fewer = build_demo_dataset(tmp_path, small_config(0, n_cases=2), progress=False)
    for record in fewer.cases:
        for kind, array in arrays(fewer.root, record.case).items():
            np.testing.assert_array_equal(array, cases[record.case][kind], err_msg=kind)


# ---------------------------------------------------------------- geometry
def test_geometry_shared_and_correct(built):
    template = load_template()
    for record in built.cases:
        images = {kind: read(built.root / getattr(record, kind))
                  for kind in ("image", "label", "mask")}
        expected_origin = template.index_to_world(record.crop_start_zyx)
        for kind, image in images.items():
            assert image.GetSize() == CROP[::-1], kind
            np.testing.assert_allclose(image.GetSpacing(), (1.0, 1.0, 1.0))
            np.testing.assert_allclose(image.GetOrigin(), expected_origin, atol=1e-4)
            np.testing.assert_allclose(image.GetDirection(), template.direction, atol=1e-6)
        assert images["image"].GetPixelID() == sitk.sitkFloat32
        assert images["label"].GetPixelID() == sitk.sitkUInt8
        assert images["mask"].GetPixelID() == sitk.sitkUInt8


def test_no_temporary_files_left(built):
    leftovers = [p for p in built.root.rglob("*") if p.name.startswith(".tmp")]
    assert leftovers == []


# ---------------------------------------------------------------- content
def test_background_is_exactly_zero_and_mask_is_valid_region(cases):
    for name, case in cases.items():
        assert set(np.unique(case["mask"])) == {0, 1}, name
        assert np.all(case["image"][case["mask"] == 0] == 0.0), name
        np.testing.assert_array_equal(case["image"] > 0, case["mask"] == 1, err_msg=name)


def test_lesion_nonempty_inside_brain_and_away_from_crop_border(cases):
    margin = DemoConfig().border_margin_vox
    for name, case in cases.items():
        label = case["label"]
        assert set(np.unique(label)) == {0, 1}, name
        assert np.all(case["mask"][label == 1] == 1), f"{name}: lesion leaves the brain"
        coords = np.nonzero(label)
        for axis, size in enumerate(CROP):
            assert coords[axis].min() >= margin and coords[axis].max() < size - margin, name


def test_lesion_is_hyperintense(cases):
    for name, case in cases.items():
        lesion = case["label"] == 1
        shell = ndimage.binary_dilation(lesion, iterations=SHELL_VOX) & ~lesion
        shell &= case["mask"] == 1
        assert case["image"][lesion].mean() > 1.2 * case["image"][shell].mean(), name


def test_lesion_is_heterogeneous(cases):
    for name, case in cases.items():
        values = case["image"][case["label"] == 1]
        assert values.std() > 0.03 * values.mean(), name


def test_moment_dice_control_on_a_true_ellipsoid():
    grid = np.indices((40, 40, 40)) - 19.5
    ellipsoid = (grid[0] / 14) ** 2 + (grid[1] / 9) ** 2 + (grid[2] / 6) ** 2 <= 1
    assert moment_ellipsoid_dice(ellipsoid) > 0.98


def test_lesion_is_irregular_not_a_sphere_or_ellipsoid(cases):
    for name, case in cases.items():
        assert moment_ellipsoid_dice(case["label"] == 1) < IRREGULAR_DICE_MAX, name


def test_lesion_is_not_always_centred(built):
    offsets = np.array([record.lesion_offset_vox for record in built.cases])
    assert np.abs(offsets).max() > 2.0


# ---------------------------------------------------------------- catalogue
def test_csv_files_follow_pymic_format(built):
    expected = {"train": 1, "valid": 1, "test": 1}
    for split, count in expected.items():
        table = pd.read_csv(built.csv[split])
        assert list(table.columns) == ["image", "label"]
        assert len(table) == count
        for column in ("image", "label"):
            assert all((built.root / path).is_file() for path in table[column])
    table = pd.read_csv(built.csv["all"])
    assert list(table.columns) == ["case", "image", "label", "mask", "split"]
    assert list(table["split"]) == ["train", "valid", "test"]
    assert all((built.root / path).is_file() for path in table["mask"])


def test_manifest_records_lesion_volumes(built, cases):
    manifest = json.loads(built.manifest.read_text())
    assert manifest["seed"] == 0 and manifest["n_cases"] == N_CASES
    assert manifest["crop_size_zyx"] == list(CROP)
    for entry in manifest["cases"]:
        voxels = int(cases[entry["case"]]["label"].sum())
        assert entry["lesion_volume_ml"] == pytest.approx(voxels / 1000.0, abs=1e-4)


def test_pymic_nifty_dataset_loads_a_sample(built):
    pymic = pytest.importorskip("pymic")
    from pymic.io.nifty_dataset import NiftyDataset

    dataset = NiftyDataset(root_dir=str(built.root), csv_file=str(built.csv["train"]),
                           modal_num=1, image_dim=3, allow_missing_modal=False,
                           label_key="label", transform=None,
                           task=pymic.TaskType.SEGMENTATION)
    sample = dataset[0]
    assert sample["image"].shape == (1, *CROP)
    assert sample["label"].shape == (1, *CROP)
    assert sample["label"].max() == 1


# ---------------------------------------------------------------- errors
def test_missing_nilearn_is_reported(monkeypatch):
    monkeypatch.setattr(template_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(TemplateNotFoundError, match="nilearn is not installed"):
        template_module.template_file(template_module.T1_FILE)


def test_missing_template_file_is_named(monkeypatch):
    monkeypatch.setattr(template_module, "NILEARN_DATA_SUBDIR", ("no", "such", "dir"))
    with pytest.raises(TemplateNotFoundError, match=template_module.WM_FILE):
        template_module.template_file(template_module.WM_FILE)


def test_bad_config_names_the_field():
    with pytest.raises(ConfigError, match=r"DemoConfig.crop_size = \(48, 64\)"):
        DemoConfig(crop_size=(48, 64))
    with pytest.raises(ConfigError, match="exceeds n_cases = 5"):
        DemoConfig(n_cases=5)
    assert DemoConfig(n_cases=10, n_valid=0.1, n_test=0.2).split_counts() == (7, 1, 2)


def test_lesion_too_large_for_crop_fails_clearly(tmp_path):
    config = DemoConfig(n_cases=1, n_valid=0, n_test=0, crop_size=(16, 16, 16),
                        max_lesion_attempts=2)
    with pytest.raises(RuntimeError, match="lesion_radius_mm"):
        build_demo_dataset(tmp_path, config, progress=False)


def test_deformation_margin_rounds_up():
    assert deformation_margin(DemoConfig(deform_max_mm=2.5), (1.0, 1.0, 1.0)) == 3


def test_demo_data_without_nilearn_names_the_extra(monkeypatch, tmp_path, capsys):
    from pymic_paseg.cli import main
    monkeypatch.setattr(template_module.importlib.util, "find_spec", lambda name: None)
    template_module.load_template.cache_clear()  # an earlier test may have loaded it
    assert main(["demo-data", str(tmp_path / "d"), "--cases", "3", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert 'pip install "pymic_paseg[demo]"' in err and "Traceback" not in err
