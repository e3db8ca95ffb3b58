"""`pymic_run check CFG` and `train --dry-run`: every fault, each on its line; nothing trained."""
import contextlib
import io

import pytest

from helpers import make_partial_dataset, replaced, stage1_config
from pymic_paseg.cli import main


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return make_partial_dataset(tmp_path_factory.mktemp("check"), n_train=2, n_valid=1)


def _cli(*args):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def _config(root, tmp_path, text_edit=lambda t: t):
    cfg = tmp_path / "run.cfg"
    cfg.write_text(text_edit(stage1_config(root, tmp_path / "ckpt", tmp_path / "out")))
    return cfg


def _break(text):
    text = replaced(text, "[dataset]\n", "[dataset]\nValidRegionMask_threshold = abc\n", 1)
    return replaced(text, "[training]\n", "[training]\nMultiViewCRFLoss_radius = -1\n", 1)


def test_check_of_a_good_config_passes(root, tmp_path):
    code, out, err = _cli("check", _config(root, tmp_path))
    assert code == 0, err
    assert "no fault found for the train stage" in out
    assert not (tmp_path / "ckpt").exists()


@pytest.mark.parametrize("command", [("check",), ("train", "--dry-run")])
def test_every_fault_is_reported_on_its_own_line(root, tmp_path, command):
    cfg = _config(root, tmp_path, _break)
    code, _, err = _cli(command[0], cfg, *command[1:])
    assert code == 2
    lines = err.strip().splitlines()
    assert lines[0].endswith("[dataset] train_transform item ValidRegionMask: [dataset] "
                             "ValidRegionMask_threshold = abc: must be a number")
    assert lines[1].endswith("[training] MultiViewCRFLoss_radius = -1: must be an integer >= 1")
    assert lines[2].endswith("2 fault(s) for the train stage")
    assert not (tmp_path / "ckpt").exists(), "a dry run trains nothing and writes nothing"


def test_check_names_faults_found_before_building(root, tmp_path):
    cfg = _config(root, tmp_path, lambda t: replaced(
        replaced(t, "optimizer = Adam", "optimizer = Adamm"), "[training]", "[trainning]"))
    code, _, err = _cli("check", cfg, "--stage", "train")
    assert code == 2
    assert "[trainning]: unknown section. Did you mean [training]?" in err


def test_check_of_the_test_stage_opens_the_checkpoint(root, tmp_path):
    code, _, err = _cli("check", _config(root, tmp_path), "--stage", "test")
    assert code == 2
    assert "[testing] ckpt_mode: CheckpointError: no checkpoint in" in err
