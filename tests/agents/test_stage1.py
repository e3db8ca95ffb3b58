"""Stage-1 agent: ramp-up, config errors before iteration 1, a smoke run."""
import subprocess
import sys

import numpy as np
import pytest

from helpers import (fullsup_config, infer_with_cli_and_check_geometry, make_dataset,
                     make_partial_dataset, replaced, stage1_config)
from pymic_paseg.agents.stage1 import PASegStage1Agent, rampup_ratio
from pymic_paseg.config import ConfigError


def test_rampup_matches_the_sigmoid_schedule_of_the_original():
    assert rampup_ratio(0, 0, 100, "sigmoid") == pytest.approx(np.exp(-5.0))
    assert rampup_ratio(50, 0, 100, "sigmoid") == pytest.approx(np.exp(-5.0 * 0.25))
    assert rampup_ratio(100, 0, 100, "sigmoid") == 1.0
    assert rampup_ratio(500, 0, 100, "linear") == 1.0
    assert rampup_ratio(3, 5, 5, "sigmoid") == 0.0 and rampup_ratio(5, 5, 5, "linear") == 1.0


@pytest.mark.parametrize("wsl, training, message", [
    ("alpha = -1", "", "[weakly_supervised_learning] alpha = -1: must be a number >= 0"),
    ("alpa = 1", "", "alpa: unknown key. Did you mean 'alpha'?"),
    ("", "MultiViewCRFLoss_radius = 0", "[training] MultiViewCRFLoss_radius = 0: must be an"),
    ("", "MultiViewCRFLoss_intensity_sigma = 0", "MultiViewCRFLoss_intensity_sigma = 0: must be"),
    ("", "MultiViewCRFLoss_radiuss = 3", "multiviewcrfloss_radiuss: unknown key"),
    ("rampup_mode = sigmoidal", "", "Did you mean 'sigmoid'?"),
])
def test_config_errors_fail_before_the_first_iteration(tmp_path, wsl, training, message, load_config):
    root = make_partial_dataset(tmp_path / "data")
    text = stage1_config(root, tmp_path / "ckpt", tmp_path / "out", wsl=wsl, training=training)
    with pytest.raises(ConfigError) as err:
        PASegStage1Agent(load_config(text), "train")
    assert message in str(err.value)


@pytest.mark.slow  # training, then `pymic_run test` in a subprocess
def test_smoke_loss_falls_checkpoint_written_and_test_predicts(tmp_path, load_config):
    root = make_partial_dataset(tmp_path / "data")
    text = stage1_config(root, tmp_path / "ckpt", tmp_path / "out", iter_max=16, iter_valid=4,
                         wsl="rampup_end = 0")
    config = load_config(text)
    agent = PASegStage1Agent(config, "train")
    agent.run()
    rounds = agent._rounds.history
    first, last = rounds[0][2], rounds[-1][2]
    assert set(first) >= {"pce", "pdice", "crf", "vm", "weight_crf", "weight_vm"}
    assert last["loss"] < first["loss"], (first, last)
    assert (tmp_path / "ckpt" / "ckpt_16.pt").exists()
    cfg = tmp_path / "run.cfg"
    infer_with_cli_and_check_geometry(cfg, tmp_path / "out", root)


@pytest.mark.slow  # `pymic_run train` in a subprocess
def test_crf_loss_in_a_fully_supervised_config_says_which_method_to_use(tmp_path):
    root = make_dataset(tmp_path / "data", n_train=2, n_valid=1)
    text = fullsup_config(root, tmp_path / "ckpt", tmp_path / "out", iter_max=2, iter_valid=2)
    text = replaced(text, "loss_type = [DiceLoss, CrossEntropyLoss]",
                        "loss_type = [DiceLoss, MultiViewCRFLoss]")
    (tmp_path / "fs.cfg").write_text(text)
    result = subprocess.run([sys.executable, "-m", "pymic_paseg.cli", "train",
                             str(tmp_path / "fs.cfg")], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode != 0
    assert "PASegStage1" in result.stderr


def test_3d_unet_batch_one_with_sliding_window_validation(tmp_path, load_config):
    root = make_partial_dataset(tmp_path / "data", n_train=2, n_valid=1)
    text = stage1_config(root, tmp_path / "ckpt", tmp_path / "out", iter_max=2, iter_valid=2)
    text = replaced(text, "net_type = UNet2D5", "net_type = UNet\ndimension = 3")
    text = replaced(text, "train_batch_size = 2", "train_batch_size = 1")
    text = replaced(text, "patch_size = [8, 16, 16]", "patch_size = [16, 16, 32]")
    text = replaced(text, "sliding_window_enable = False", "sliding_window_enable = True")
    agent = PASegStage1Agent(load_config(text), "train")
    agent.run()
    valid = agent._rounds.history[-1][3]
    assert 0.0 <= valid["avg_fg_dice"] <= 1.0
    assert (tmp_path / "ckpt" / "ckpt_2.pt").exists()


@pytest.mark.slow  # training, then `pymic_run test` in a subprocess
def test_pymic_own_wsl_method_runs_on_our_loop_on_cpu(tmp_path):
    """PyMIC's EntropyMinimization agent hard-codes CUDA; routed, it trains on CPU."""
    root = make_partial_dataset(tmp_path / "data", n_train=2, n_valid=1)
    text = stage1_config(root, tmp_path / "ckpt", tmp_path / "out", iter_max=2, iter_valid=2)
    text = replaced(text, "method_name = PASegStage1", "method_name = EntropyMinimization")
    assert "loss_type = [DiceLoss, CrossEntropyLoss]" in text  # PyMIC's agent needs it
    cfg = tmp_path / "em.cfg"
    cfg.write_text(text)
    result = subprocess.run([sys.executable, "-m", "pymic_paseg.cli", "train", str(cfg)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert (tmp_path / "ckpt" / "ckpt_2.pt").exists()
    assert "loss_reg" in result.stdout  # PyMIC's own inner loop reported its terms


def test_extra_losses_join_the_objective_with_their_weights(tmp_path, load_config):
    root = make_partial_dataset(tmp_path / "data", n_train=2, n_valid=1)
    text = stage1_config(root, tmp_path / "ckpt", tmp_path / "out", iter_max=2, iter_valid=2,
                         wsl="alpha = 0\nbeta = 0\nrampup_end = 0\n"
                             "extra_losses = [SizeConstraintLoss, TightnessPriorLoss]\n"
                             "extra_weights = [0.01, 0.001]")
    agent = PASegStage1Agent(load_config(text), "train")
    agent.run()
    scalars = agent._rounds.history[-1][2]
    assert scalars["weight_SizeConstraintLoss"] == pytest.approx(0.01)
    assert scalars["weight_TightnessPriorLoss"] == pytest.approx(0.001)
    assert "crf" not in scalars and "SizeConstraintLoss" in scalars
    expected = 0.5 * scalars["pce"] + 0.5 * scalars["pdice"] + \
        0.01 * scalars["SizeConstraintLoss"] + 0.001 * scalars["TightnessPriorLoss"]
    assert scalars["loss"] == pytest.approx(expected, rel=1e-5)


def test_unknown_extra_loss_is_a_config_error(tmp_path, load_config):
    root = make_partial_dataset(tmp_path / "data", n_train=2, n_valid=1)
    text = stage1_config(root, tmp_path / "ckpt", tmp_path / "out",
                         wsl="extra_losses = [SizeConstrainLoss]")
    with pytest.raises(ConfigError, match="Did you mean 'SizeConstraintLoss'"):
        PASegStage1Agent(load_config(text), "train")
