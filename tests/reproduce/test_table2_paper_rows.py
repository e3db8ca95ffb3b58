"""Table II as the paper ran it: box-only labels for DTP, the true volume for the size rows."""
import json
import subprocess
import sys

import numpy as np
import pytest
import SimpleITK as sitk

from pymic_paseg.reproduce.box_labels import UNLABELED, box_label, write_box_labels
from pymic_paseg.reproduce.rows import ROW_BY_KEY


def _codes():
    codes = np.zeros((10, 12, 14), np.uint8)
    for point in [(2, 5, 6), (8, 5, 6), (5, 1, 6), (5, 9, 6), (5, 5, 3), (5, 5, 11)]:
        codes[point] = 1                       # object 1: six background clicks
    codes[5, 5, 6] = 2                         # its foreground click (ignored)
    codes[0, 0, 0] = 3                         # object 2: one background click
    codes[1, 2, 0] = 3
    return codes


def test_box_label_is_the_box_of_the_background_clicks_only():
    label = box_label(_codes())
    want = np.zeros((10, 12, 14), np.uint8)
    want[2:9, 1:10, 3:12] = UNLABELED
    want[0:2, 0:3, 0:1] = UNLABELED
    for point in [(2, 5, 6), (8, 5, 6), (5, 1, 6), (5, 9, 6), (5, 5, 3), (5, 5, 11),
                  (0, 0, 0), (1, 2, 0)]:
        want[point] = 0                        # the clicks are background
    np.testing.assert_array_equal(label, want)
    assert not (label == 1).any()              # no foreground (no Omega_F)
    with pytest.raises(ValueError, match="no background clicks in c.nii.gz"):
        box_label(np.zeros((3, 3, 3)), "c.nii.gz")


def test_write_box_labels_keeps_the_geometry(tmp_path):
    image = sitk.GetImageFromArray(_codes())
    image.SetSpacing((0.5, 0.5, 1.5))
    (tmp_path / "clicks").mkdir()
    sitk.WriteImage(image, str(tmp_path / "clicks" / "case_0.nii.gz"))
    (tmp_path / "clicks" / "clicks.csv").write_text(
        "image,clicks,label\nimages/case_0.nii.gz,clicks/case_0.nii.gz,labels/case_0.nii.gz\n")
    out = write_box_labels(tmp_path)
    assert out.read_text() == "image,label\nimages/case_0.nii.gz,box/case_0.nii.gz\n"
    written = sitk.ReadImage(str(tmp_path / "box" / "case_0.nii.gz"))
    assert written.GetSpacing() == (0.5, 0.5, 1.5)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(written), box_label(_codes()))


def test_paper_rows_use_the_oracle_the_box_and_the_authors_prior():
    size, dtp = ROW_BY_KEY["II_size"], ROW_BY_KEY["II_tightness"]
    for row in (size, dtp):
        assert any("OracleLabel" in s for s in row.sets)
    assert dtp.box_labels and not size.box_labels
    assert "dataset.train_csv=demo_data/train_box.csv" in dtp.sets
    assert "training.tightnesspriorloss_mode=max_projection" in dtp.sets
    assert "training.tightnesspriorloss_band_width=10" in dtp.sets
    # the earlier variants stay as extra rows
    assert not any("OracleLabel" in s for s in ROW_BY_KEY["II_size_box"].sets)
    assert ROW_BY_KEY["II_tightness_slices"].table == "II"


@pytest.mark.slow
def test_tiny_preset_runs_the_paper_rows(tmp_path):
    out = tmp_path / "rep"
    cmd = [sys.executable, "-m", "pymic_paseg.cli", "reproduce", "--preset", "tiny", "--out",
           str(out), "--tables", "II", "--rows", "II_size,II_tightness", "--device", "cpu"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for key in ("II_size", "II_tightness"):
        data = json.loads((out / "rows" / key / "result.json").read_text())
        assert data.get("cases"), (key, data)
    box = sitk.GetArrayFromImage(sitk.ReadImage(str(out / "demo_data" / "box" / "case_000.nii.gz")))
    assert set(np.unique(box)) == {0, UNLABELED}
    log = (out / "logs" / "train_II_size.log").read_text()
    assert "SizeConstraintLoss" in log
