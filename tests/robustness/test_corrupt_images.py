"""Truncated or NaN/inf images are refused (or, when asked, masked) by every command."""
import contextlib
import io
import shutil

import numpy as np
import pytest
import SimpleITK as sitk

from helpers import fullsup_config, write_image
from robust_helpers import clicks_dataset, csv_rows
from pymic_paseg.cli import main
from pymic_paseg.io_integrity import CorruptImageError, check_image_file


@pytest.fixture()
def data(tmp_path_factory):
    """A fresh copy per test: the tests damage images."""
    return clicks_dataset(tmp_path_factory.mktemp("corrupt"))


def _cli(*args):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main([str(a) for a in args])
    return code, err.getvalue()


def _truncate(path, keep=0.5):
    raw = path.read_bytes()
    path.write_bytes(raw[: int(len(raw) * keep)])


def _set_voxels(path, value, where):
    image = sitk.ReadImage(str(path))
    array = sitk.GetArrayFromImage(image).astype(np.float32)
    array[where] = value
    out = sitk.GetImageFromArray(array)
    out.CopyInformation(image)
    sitk.WriteImage(out, str(path))


def test_truncated_gzip_is_refused_by_the_check(tmp_path):
    path = tmp_path / "a.nii.gz"
    write_image(np.random.default_rng(0).random((16, 32, 32), np.float32), path)
    _truncate(path)
    assert sitk.GetArrayFromImage(sitk.ReadImage(str(path))).shape == (16, 32, 32), \
        "SimpleITK alone reads it without a word: the reason for the check"
    with pytest.raises(CorruptImageError, match="a.nii.gz: the gzip stream is truncated"):
        check_image_file(str(path))


def test_short_uncompressed_nifti_is_refused_with_the_sizes(tmp_path):
    path = tmp_path / "a.nii"
    write_image(np.ones((8, 8, 8), np.float32), path)
    _truncate(path, keep=0.9)
    with pytest.raises(CorruptImageError, match=r"holds \d+ bytes of voxel data, its header says "
                                                r"2048 \(8x8x8 voxels of float32\)"):
        check_image_file(str(path))


def test_nan_and_inf_are_refused_or_masked_where_they_are(tmp_path):
    path = tmp_path / "a.nii.gz"
    array = np.zeros((4, 5, 6), np.float32)
    array[1, 2, 3], array[3, 0, 5] = np.nan, -np.inf
    write_image(array, path)
    with pytest.raises(CorruptImageError, match="holds 1 NaN and 1 inf voxel"):
        check_image_file(str(path))
    mask = check_image_file(str(path), "mask")
    assert mask.shape == (4, 5, 6) and sorted(map(tuple, np.argwhere(mask))) == [(1, 2, 3),
                                                                             (3, 0, 5)]


def test_expand_fails_the_truncated_case_and_writes_the_others(data, tmp_path):
    _truncate(data / "case1_img.nii.gz")
    code, err = _cli("expand", data, "--csv", data / "all.csv", "--out", tmp_path / "p",
                     "--out-csv", tmp_path / "train.csv", "--quiet")
    assert code == 1
    assert "case1_img: " in err and "case1_img.nii.gz: the gzip stream is truncated" in err
    assert [r["image"] for r in csv_rows(tmp_path / "train.csv")] == [
        "case0_img.nii.gz", "case2_img.nii.gz"]
    assert not (tmp_path / "p" / "case1_img.nii.gz").exists()


def test_expand_refuses_nan_voxels_unless_masked(data, tmp_path):
    label = sitk.GetArrayFromImage(sitk.ReadImage(str(data / "case0_lab.nii.gz")))
    inside = tuple(np.argwhere(label > 0)[len(np.argwhere(label > 0)) // 2])
    _set_voxels(data / "case0_img.nii.gz", np.nan, inside)
    code, err = _cli("expand", data, "--csv", data / "all.csv", "--out", tmp_path / "p",
                     "--out-csv", tmp_path / "train.csv", "--quiet")
    assert code == 1 and "case0_img.nii.gz: holds 1 NaN and 0 inf voxel(s)" in err
    code, err = _cli("expand", data, "--csv", data / "all.csv", "--out", tmp_path / "q",
                     "--out-csv", tmp_path / "train_q.csv", "--nonfinite", "mask", "--quiet")
    assert code == 0, err
    partial = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "q" / "case0_img.nii.gz")))
    assert partial[inside] != 1, "a NaN voxel is outside Omega_M: never foreground"


def test_clicks_refuses_a_truncated_label(data, tmp_path):
    _truncate(data / "case2_lab.nii.gz")
    code, err = _cli("clicks", data, "--csv", data / "train.csv", "--out", tmp_path / "c",
                     "--quiet")
    assert code == 1 and "case2_lab.nii.gz: the gzip stream is truncated" in err
    assert len(csv_rows(tmp_path / "c" / "clicks.csv")) == 2


def test_test_command_refuses_a_truncated_image_before_inference(data, tmp_path):
    cfg = tmp_path / "test.cfg"
    cfg.write_text(fullsup_config(data, tmp_path / "ckpt", tmp_path / "out"))
    shutil.copy(data / "case3_img.nii.gz", tmp_path / "keep.nii.gz")
    _truncate(data / "case3_img.nii.gz")
    code, err = _cli("test", cfg)
    assert code == 2, err
    assert f"{data}/case3_img.nii.gz: the gzip stream is truncated" in err
    assert not (tmp_path / "out").exists()
