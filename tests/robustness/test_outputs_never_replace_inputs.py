"""Every command refuses an output path that is one of its inputs, naming the path."""
import os
import shutil
import subprocess

import pytest

from robust_helpers import CLI, clicks_dataset
from pymic_paseg.config import ConfigError
from pymic_paseg.io_guard import check_outputs


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return clicks_dataset(tmp_path_factory.mktemp("overwrite"))


def _run(*args):
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=300)


@pytest.mark.slow  # a `pymic_run expand` subprocess
@pytest.mark.parametrize("target", ["all.csv", "train.csv"])
def test_expand_out_csv_equal_to_an_input_csv_is_refused(data, tmp_path, target):
    """`all.csv` is the --csv; `train.csv` is the one clicks simulated from (same content)."""
    csv_in = data / target if target == "all.csv" else tmp_path / "in.csv"
    if target == "train.csv":
        shutil.copy(data / "all.csv", csv_in)
    before = csv_in.read_bytes()
    result = _run("expand", data, "--csv", csv_in, "--out", tmp_path / "partial",
                  "--out-csv", csv_in, "--quiet")
    assert result.returncode == 2, result.stderr
    assert f"the --out-csv {csv_in} would replace the input file" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert csv_in.read_bytes() == before, "the input CSV must be untouched"
    assert not (tmp_path / "partial").exists(), "nothing is written before the check"


@pytest.mark.slow  # `pymic_run expand` subprocesses
def test_expand_out_csv_through_a_symlink_or_hard_link_is_refused(data, tmp_path):
    link = tmp_path / "link.csv"
    os.symlink(data / "all.csv", link)
    hard = tmp_path / "hard.csv"
    os.link(data / "all.csv", hard)
    for alias in (link, hard):
        result = _run("expand", data, "--csv", data / "all.csv", "--out", tmp_path / "p",
                      "--out-csv", alias, "--quiet")
        assert result.returncode == 2 and "would replace the input file" in result.stderr


@pytest.mark.slow  # `pymic_run expand` subprocesses
def test_expand_out_csv_equal_to_an_image_or_the_metrics_is_refused(data, tmp_path):
    image = data / "case0_img.nii.gz"
    before = image.read_bytes()
    result = _run("expand", data, "--csv", data / "all.csv", "--out", tmp_path / "p",
                  "--out-csv", image, "--quiet")
    assert result.returncode == 2 and f"{image} would replace the input file" in result.stderr
    assert image.read_bytes() == before
    result = _run("expand", data, "--csv", data / "all.csv", "--out", tmp_path / "p",
                  "--out-csv", tmp_path / "m.csv", "--metrics", data / "all.csv", "--quiet")
    assert result.returncode == 2
    assert f"the metrics file {data / 'all.csv'} would replace the input file" in result.stderr


@pytest.mark.parametrize("flag", ["--out-csv", "--train-csv"])
def test_clicks_out_csv_equal_to_the_input_csv_is_refused(data, tmp_path, flag):
    csv_in = tmp_path / "in.csv"
    shutil.copy(data / "train.csv", csv_in)
    before = csv_in.read_bytes()
    result = _run("clicks", data, "--csv", csv_in, "--out", tmp_path / "clicks", flag, csv_in,
                  "--quiet")
    assert result.returncode == 2, result.stderr
    assert f"the {flag} {csv_in} would replace the input file {csv_in}" in result.stderr
    assert csv_in.read_bytes() == before


def test_output_folder_equal_to_the_image_folder_is_refused(data, tmp_path):
    result = _run("clicks", data, "--csv", data / "train.csv", "--out", data,
                  "--out-csv", tmp_path / "c.csv", "--quiet")
    assert result.returncode == 2
    assert "the output" in result.stderr and "would replace the input file" in result.stderr


def test_two_outputs_on_one_file_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="the metrics file and the --out-csv are the same file"):
        check_outputs({"--out-csv": str(tmp_path / "a.csv"),
                       "metrics file": str(tmp_path / "x" / ".." / "a.csv")}, [])


@pytest.mark.slow  # a 2-iteration training, then `pymic_run test` in a subprocess
def test_test_predictions_never_replace_the_images(tmp_path):
    import contextlib
    import io

    from helpers import fullsup_config, make_dataset, parse_pymic_config

    from pymic_paseg.agents.fullsup import FullySupervisedAgent
    root = make_dataset(tmp_path / "data", n_train=2, n_valid=1)
    cfg = tmp_path / "run.cfg"
    cfg.write_text(fullsup_config(root, tmp_path / "ckpt", root, iter_max=2, iter_valid=2,
                                  valid=False))  # output_dir = the image folder
    with contextlib.redirect_stdout(io.StringIO()):
        FullySupervisedAgent(parse_pymic_config(cfg), "train").run()
    image = root / "case2_img.nii.gz"
    before = image.read_bytes()
    result = _run("test", cfg)
    assert result.returncode == 1, result.stderr[-2000:]
    assert f"the prediction {image} would replace the input file {image}" in result.stderr
    assert image.read_bytes() == before
