"""simulate_dataset and `pymic_run clicks`: click maps for every case of a dataset CSV."""
import csv
import shutil
import subprocess
import sys

import numpy as np
import pytest
import SimpleITK as sitk

from pymic_paseg.annotation import (CODE_BACKGROUND, CODE_FOREGROUND, ImageGeometry,
                                    read_click_map, simulate_clicks, validate_case)
from pymic_paseg.annotation.simulate_batch import ClickSimulation, simulate_dataset
from pymic_paseg.data import DemoConfig, build_demo_dataset

CLI = [sys.executable, "-m", "pymic_paseg.cli"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo_clicks")
    return build_demo_dataset(root, DemoConfig(n_cases=3, n_valid=1, n_test=1), progress=False)


def _rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_click_maps_on_image_grid_seeded_per_case(demo, tmp_path):
    settings = ClickSimulation(seed=5, margin_mm=(2.0, 4.0))
    summary = simulate_dataset(str(demo.root), str(demo.csv["all"]), str(tmp_path / "clicks"),
                               settings=settings, progress=False)
    assert summary.failures == [] and len(summary.written) == 3
    rows = _rows(summary.out_csv)
    assert list(rows[0]) == ["image", "clicks", "case", "label", "mask", "split"]
    for index, (row, record) in enumerate(zip(rows, demo.cases)):
        assert row["image"] == record.image and row["label"] == record.label
        path = demo.root / row["clicks"]
        assert path.name == record.image.split("/")[-1]
        image = sitk.ReadImage(str(demo.root / record.image))
        codes = sitk.GetArrayFromImage(sitk.ReadImage(str(path)))
        assert ImageGeometry.from_file(path).mismatches(ImageGeometry.from_image(image)) == []
        assert np.sum(codes == CODE_FOREGROUND) == 1 and np.sum(codes == CODE_BACKGROUND) == 6
        # independent re-simulation with seed + row index gives the same clicks
        label = sitk.GetArrayFromImage(sitk.ReadImage(str(demo.root / record.label)))
        geometry = ImageGeometry.from_image(image)
        expected = simulate_clicks(label.astype(np.int64), geometry.spacing_zyx, seed=5 + index,
                                   margin_mm=(2.0, 4.0), geometry=geometry)
        got = read_click_map(path, image)
        assert {c.voxel for c in got.objects[0].clicks} == \
               {c.voxel for c in expected.objects[0].clicks}
        validate_case(got, image)
        assert label[got.objects[0].foreground.voxel] == 1


def test_bad_cases_are_reported_and_good_ones_written(demo, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(demo.root, root)
    empty = root / "labels" / "case_001.nii.gz"
    image = sitk.ReadImage(str(empty))
    zeros = sitk.GetImageFromArray(np.zeros(sitk.GetArrayFromImage(image).shape, np.uint8))
    zeros.CopyInformation(image)
    sitk.WriteImage(zeros, str(empty))
    (root / "labels" / "case_002.nii.gz").unlink()
    summary = simulate_dataset(str(root), str(root / "all.csv"), str(tmp_path / "out"),
                               out_csv=str(tmp_path / "map.csv"), progress=False)
    failures = {f.case: f.message for f in summary.failures}
    assert set(failures) == {"case_001", "case_002"}
    assert "no annotated object" in failures["case_001"]
    assert "case_002.nii.gz" in failures["case_002"]
    assert [r["case"] for r in _rows(tmp_path / "map.csv")] == ["case_000"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["case_000.nii.gz"]


@pytest.mark.parametrize("kwargs, message", [
    ({"margin_mm": (5.0, 2.0)}, "margin_mm must be (low, high)"),
    ({"jitter_mm": -1.0}, "jitter_mm must be >= 0"),
    ({"seed": -1}, "seed must be an integer >= 0"),
])
def test_settings_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ClickSimulation(**kwargs)


@pytest.mark.parametrize("args, message", [
    (("clicks",), "the following arguments are required: root, --csv, --out"),
    (("clicks", "no/such/root", "--csv", "x.csv", "--out", "o"),
     "dataset root is not a folder: no/such/root"),
    (("clicks", ".", "--csv", "no_such.csv", "--out", "o"), "file not found: no_such.csv"),
    (("clicks", ".", "--csv", __file__, "--out", "o", "--workers", "0"),
     "must be an integer >= 1"),
    (("clicks", ".", "--csv", __file__, "--out", "o", "--margin-mm", "2"),
     "expected 2 arguments"),
])
def test_cli_usage_errors_are_one_line_exit_2(args, message):
    result = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
