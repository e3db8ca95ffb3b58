"""Every config mistake is one line on stderr and exit code 2, before any data is read."""
import contextlib
import io
import subprocess

import pytest

from helpers import fullsup_config, make_dataset, replaced, stage1_config
from pymic_paseg.cli import main
from pymic_paseg.config import ConfigError, Section


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("cfgdata"), n_train=2, n_valid=1)


def _train(tmp_path, text, *extra):
    """`pymic_run train` in this process (a subprocess would spend seconds importing PyMIC)."""
    cfg = tmp_path / "bad.cfg"
    cfg.write_text(text)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["train", str(cfg), *extra])
    return subprocess.CompletedProcess([], code, "", err.getvalue())


def _base(root, tmp_path):
    return stage1_config(root, tmp_path / "ckpt", tmp_path / "out", iter_max=2, iter_valid=1)


CASES = [
    # (replace this, with this, expected message)
    ("method_name = PASegStage1", "method_name = PASegStage",
     "[weakly_supervised_learning] method_name = 'PASegStage': unknown name. Did you mean "
     "'PASegStage1'?"),
    ("supervise_type = weak_sup", "supervise_type = weak_supervised",
     "[dataset] supervise_type = 'weak_supervised': unknown name. Did you mean 'weak_sup'?"),
    ("[training]", "[trainning]", "[trainning]: unknown section. Did you mean [training]?"),
    ("learning_rate = 1e-2", "learning_rat = 1e-2",
     "[training] learning_rate is required but missing (found 'learning_rat': misspelled?)"),
    ("learning_rate = 1e-2", "learning_rate = -1e-2",
     "[training] learning_rate = -0.01: must be a number > 0"),
    ("learning_rate = 1e-2", "learning_rate = fast",
     "[training] learning_rate = fast: must be a number > 0"),
    ("learning_rate = 1e-2", "learning_rate = inf",
     "[training] learning_rate = inf: must be a finite number > 0"),
    ("optimizer = Adam", "optimizer = Adamm",
     "[training] optimizer = 'Adamm': unknown name. Did you mean 'Adam'?"),
    ("lr_scheduler = PolynomialLR", "lr_scheduler = PolyLR",
     "[training] lr_scheduler = 'PolyLR': unknown name. Did you mean 'PolynomialLR'?"),
    ("iter_valid = 1", "iter_vaild = 1",
     "[training] iter_vaild: unknown key. Did you mean 'iter_valid'?"),
]


@pytest.mark.parametrize("old, new, message", CASES, ids=[c[1].split("=")[0].strip(" []")
                                                          + "-" + c[1].split("=")[-1].strip()
                                                          for c in CASES])
def test_bad_config_is_one_line_exit_2(root, tmp_path, old, new, message):
    text = _base(root, tmp_path)
    assert old in text
    result = _train(tmp_path, replaced(text, old, new, 1))
    assert result.returncode == 2, result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pymic_run: configuration error: "), lines
    assert message in lines[0]
    assert not (tmp_path / "ckpt").exists() or not list((tmp_path / "ckpt").glob("*.pt"))


def test_missing_train_csv_key(root, tmp_path):
    text = replaced(_base(root, tmp_path), f"train_csv = {root}/train.csv\n", "")
    result = _train(tmp_path, text)
    assert result.returncode == 2
    assert "[dataset] train_csv is required but missing" in result.stderr


def test_nan_voxels_in_a_training_image_are_refused_or_masked(root, tmp_path):
    import numpy as np
    import SimpleITK as sitk
    data = tmp_path / "data"
    data.mkdir()
    for name in ("case0_img.nii.gz", "case0_lab.nii.gz", "case1_img.nii.gz",
                 "case1_lab.nii.gz", "case2_img.nii.gz", "case2_lab.nii.gz", "train.csv",
                 "valid.csv"):
        (data / name).write_bytes((root / name).read_bytes())
    image = sitk.ReadImage(str(data / "case1_img.nii.gz"))
    array = sitk.GetArrayFromImage(image)
    array[2, 3, 4] = np.nan
    nan_image = sitk.GetImageFromArray(array)
    nan_image.CopyInformation(image)
    sitk.WriteImage(nan_image, str(data / "case1_img.nii.gz"))
    text = _base(data, tmp_path)
    result = _train(tmp_path, text, "--dry-run")
    assert result.returncode == 2
    assert f"{data}/case1_img.nii.gz: holds 1 NaN and 0 inf voxel(s)" in result.stderr
    result = _train(tmp_path, text, "--dry-run", "--set", "dataset.nonfinite_voxels=mask")
    assert result.returncode == 0, result.stderr


def test_missing_train_csv_and_missing_listed_files(root, tmp_path):
    text = replaced(_base(root, tmp_path), f"train_csv = {root}/train.csv",
                    f"train_csv = {tmp_path}/nowhere.csv")
    bad_valid = tmp_path / "valid.csv"
    bad_valid.write_text("image,label\ncase0_img.nii.gz,gone_lab.nii.gz\n")
    text = replaced(text, f"valid_csv = {root}/valid.csv", f"valid_csv = {bad_valid}")
    result = _train(tmp_path, text)
    assert result.returncode == 2
    line = result.stderr.strip()
    assert f"[dataset] train_csv = {tmp_path}/nowhere.csv: file not found" in line
    assert (f"[dataset] valid_csv = {bad_valid}: 1 listed file(s) not found: "
            f"{root}/gone_lab.nii.gz") in line
    assert "(2 faults)" in line, "every fault is reported, not just the first"


def test_corrupt_image_in_the_validation_csv_is_refused_before_training(root, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for name in ("case2_img.nii.gz", "case2_lab.nii.gz"):
        raw = (root / name).read_bytes()
        (data / name).write_bytes(raw[: len(raw) // 2] if "img" in name else raw)
    (tmp_path / "valid.csv").write_text("image,label\ncase2_img.nii.gz,case2_lab.nii.gz\n")
    text = replaced(_base(root, tmp_path), f"valid_csv = {root}/valid.csv",
                    f"valid_csv = {tmp_path}/valid.csv")
    text = replaced(text, "[dataset]\n", f"[dataset]\nvalid_dir = {data}\n", 1)
    result = _train(tmp_path, text)
    assert result.returncode == 2
    assert f"{data}/case2_img.nii.gz: the gzip stream is truncated" in result.stderr


@pytest.mark.parametrize("item, message", [
    ("trainig.iter_max=2", "--set trainig.iter_max: unknown section [trainig]. "
                           "Did you mean [training]?"),
    ("training.iter_vaild=2", "--set training.iter_vaild: unknown key of [training]. "
                              "Did you mean 'iter_valid'?"),
])
def test_unknown_set_section_or_key_is_an_error(root, tmp_path, item, message):
    result = _train(tmp_path, fullsup_config(root, tmp_path / "ckpt", tmp_path / "out"),
                    "--set", item)
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_section_float_rejects_infinities():
    for text in ("inf", "-inf", "1e999"):
        with pytest.raises(ConfigError, match=r"\[training\] x = .*: must be a finite number"):
            Section("training", {"x": text}).float("x")
