"""SCM agent: from two stage-1 checkpoints, monitor refresh, both checkpoints, resume."""
import contextlib
import io
import subprocess
import sys

import pytest
import torch
from pymic.net.net_dict_seg import SegNetDict

import pymic_paseg

from helpers import load_pymic_config, make_dataset, replaced, scm_config
from pymic_paseg.agents.checkpoint import CheckpointError, load_checkpoint
from pymic_paseg.agents.scm import PASegSCMAgent
from pymic_paseg.config import ConfigError


def stage1_checkpoints(tmp_path, config):
    """Tiny "stage-1" checkpoints for the primary and auxiliary networks of ``config``."""
    pymic_paseg.register()
    paths = []
    for section, name in (("network", "primary.pt"), ("network_auxiliary", "aux.pt")):
        torch.manual_seed(len(paths))
        net = SegNetDict[config[section]["net_type"]](dict(config[section]))
        path = tmp_path / name
        torch.save({"iteration": 0, "model_state_dict": net.state_dict()}, path)
        paths.append(path)
    return paths


def make(tmp_path, **kwargs):
    root = make_dataset(tmp_path / "data", n_train=3, n_valid=1)
    primary, aux = tmp_path / "primary.pt", tmp_path / "aux.pt"
    text = scm_config(root, tmp_path / "ckpt", tmp_path / "out", primary, aux, **kwargs)
    with contextlib.redirect_stdout(io.StringIO()):
        stage1_checkpoints(tmp_path, load_pymic_config(text, tmp_path, "scm.cfg"))
    return text


def test_smoke_refresh_both_checkpoints_and_resume(tmp_path, caplog, load_config):
    text = make(tmp_path, iter_max=6, iter_valid=3, nll="monitor_interval = 2")
    assert PASegSCMAgent(load_config(text), "train").monitor_update == "refresh"  # paper
    agent = PASegSCMAgent(load_config(text, "scm.cfg"), "train")
    agent.run()
    scalars = agent._rounds.history[0][2]
    assert {"primary/kd", "primary/sup", "auxiliary/kd", "auxiliary/sup"} <= set(scalars)
    assert "members" in agent._rounds.history[0][3], "validation Dice of both networks"
    # refreshed before the steps that start at iterations 2 and 4
    assert agent.monitors.last_refresh == 4
    stage1 = load_checkpoint(tmp_path / "primary.pt")["model_state_dict"]
    monitor = agent.monitors.copies[0].state_dict()
    assert any(not torch.equal(monitor[k].cpu(), stage1[k]) for k in stage1
               if stage1[k].dtype.is_floating_point), "the monitor was reloaded"
    ckpt = tmp_path / "ckpt"
    for name in ("ckpt_6.pt", "ckpt_auxiliary_6.pt", "ckpt_best.pt", "ckpt_auxiliary_best.pt"):
        assert (ckpt / name).exists(), name
    saved = load_checkpoint(ckpt / "ckpt_auxiliary_6.pt")
    assert saved["extra"]["monitors"]["last_refresh"] == 4
    # the stage-1 weights were validated once, before the first SCM step
    assert set(agent.stage1_valid) == {"primary", "auxiliary"}
    assert all(0.0 <= d <= 1.0 for d in agent.stage1_valid.values())
    assert saved["extra"]["stage1_valid"] == agent.stage1_valid
    # a network whose best SCM validation Dice is below its stage-1 Dice is named
    stage1 = dict(agent.stage1_valid)
    agent.stage1_valid = {"primary": 2.0, "auxiliary": -1.0}
    with caplog.at_level("WARNING", logger="pymic_paseg.agents.scm"):
        agent.on_train_end()
    warnings = [r.getMessage() for r in caplog.records
                if r.levelname == "WARNING" and r.name == "pymic_paseg.agents.scm"]
    assert len(warnings) == 1 and warnings[0].startswith("primary: SCM's best"), warnings
    agent.stage1_valid = stage1

    # resume: both networks, optimisers and monitors come back; only new rounds run
    text = replaced(text, "iter_max = 6", "iter_max = 9") + "\n"
    text = replaced(text, "[training]\n", "[training]\nresume = true\n", 1)
    resumed = PASegSCMAgent(load_config(text, "scm.cfg"), "train")
    resumed.run()
    assert [r[0] for r in resumed._rounds.history] == [9]
    assert resumed.stage1_valid == agent.stage1_valid, "restored, not re-validated"
    state = load_checkpoint(ckpt / "ckpt_auxiliary_9.pt")
    steps = {float(v["step"]) for v in state["optimizer_state_dict"]["state"].values()}
    assert steps == {9.0}
    assert state["extra"]["monitors"]["last_refresh"] == 8


@pytest.mark.slow  # three `pymic_run test` subprocesses
def test_inference_uses_primary_by_default_and_can_average(tmp_path, load_config):
    text = make(tmp_path, iter_max=2, iter_valid=2)
    agent = PASegSCMAgent(load_config(text, "scm.cfg"), "train")
    agent.run()
    cfg = tmp_path / "scm.cfg"
    for choice in ("primary", "average", "auxiliary"):
        cfg.write_text(replaced(text, "[noisy_label_learning]\n",
                                f"[noisy_label_learning]\ninference_network = {choice}\n"))
        out = tmp_path / f"out_{choice}"
        result = subprocess.run([sys.executable, "-m", "pymic_paseg.cli", "test", str(cfg),
                                 "--output_dir", str(out)], capture_output=True, text=True,
                                timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]
        assert (out / "case3_img.nii.gz").exists()


@pytest.mark.parametrize("nll, message", [
    ("lambda = 1.5", "[noisy_label_learning] lambda = 1.5: must be a number >= 0 and <= 1"),
    ("temperature = 0", "temperature = 0: must be a number > 0"),
    ("monitor_intervall = 3", "Did you mean 'monitor_interval'?"),
    ("inference_network = ensemble", "Valid names: auxiliary, average, primary"),
])
def test_config_errors(tmp_path, nll, message, load_config):
    text = make(tmp_path, nll=nll)
    with pytest.raises(ConfigError) as err:
        PASegSCMAgent(load_config(text, "scm.cfg"), "train")
    assert message in str(err.value)


@pytest.mark.slow  # two SCM trainings; the objective tests cover lambda 0 and 1 fast
def test_lambda_zero_and_one_are_valid_ablations(tmp_path, load_config):
    for lam in ("0", "1"):
        text = make(tmp_path, iter_max=1, iter_valid=1, nll=f"lambda = {lam}")
        agent = PASegSCMAgent(load_config(text, "scm.cfg"), "train")
        agent.run()
        scalars = agent._rounds.history[-1][2]
        expected = scalars["primary/kd"] if lam == "1" else scalars["primary/sup"]
        assert scalars["primary/loss"] == pytest.approx(expected, rel=1e-5)


def test_stage1_checkpoint_that_does_not_fit_names_file_and_keys(tmp_path, load_config):
    text = make(tmp_path)
    bad = tmp_path / "aux.pt"
    state = torch.load(bad, weights_only=True)
    state["model_state_dict"] = {k + ".x": v for k, v in state["model_state_dict"].items()}
    torch.save(state, bad)
    agent = PASegSCMAgent(load_config(text, "scm.cfg"), "train")
    with pytest.raises(CheckpointError) as err:
        agent.run()
    assert str(bad) in str(err.value) and "AttentionUNet" in str(err.value)
    assert "unexpected keys" in str(err.value)


def test_anchored_recipe_on_partial_labels_with_diagnostics(tmp_path, load_config):
    """The anchored recipe trains from the partial-label CSV; diagnostics name every network."""
    from helpers import AUX_NETWORK, make_partial_dataset, stage1_config
    root = make_partial_dataset(tmp_path / "data", n_train=2, n_valid=1)
    (root / "diag.csv").write_text("image,label\n" + "".join(
        f"case{i}_img.nii.gz,case{i}_lab.nii.gz\n" for i in range(2)))
    primary, aux = tmp_path / "primary.pt", tmp_path / "aux.pt"
    text = stage1_config(root, tmp_path / "ckpt", tmp_path / "out", iter_max=2, iter_valid=1)
    text = replaced(text, "supervise_type = weak_sup", "supervise_type = noisy_label")
    text = replaced(text, "patch_size = [8, 16, 16]", "patch_size = [16, 16, 16]")
    text = replaced(text, "[dataset]\n", f"[dataset]\ndiagnostic_csv = {root}/diag.csv\n", 1)
    text = text.split("[weakly_supervised_learning]")[0] + AUX_NETWORK
    text += (f"\n[noisy_label_learning]\nmethod_name = PASegSCM\nrecipe = anchored\n"
             f"primary_checkpoint = {primary}\nauxiliary_checkpoint = {aux}\n")
    with contextlib.redirect_stdout(io.StringIO()):
        stage1_checkpoints(tmp_path, load_config(text, "scm.cfg"))
    agent = PASegSCMAgent(load_config(text, "scm.cfg"), "train")
    assert agent.monitor_update == "ema"                    # the anchored recipe's default
    agent.run()
    assert agent.monitors.last_refresh == 1                 # followed the networks each step
    train, valid = agent._rounds.history[-1][2], agent._rounds.history[-1][3]
    assert {"primary/crf", "primary/vm", "auxiliary/crf"} <= set(train)
    diag = valid["diag"]
    assert set(diag) == {"primary", "auxiliary", "monitor_primary", "monitor_auxiliary",
                         "monitor_mean", "agreement"}
    for name in ("primary", "monitor_mean"):
        assert 0.0 <= diag[name]["dice"] <= 1.0 and diag[name]["volume_ratio"] >= 0.0
    curves = (tmp_path / "ckpt").glob("*_training_curves.csv")
    assert "valid/diag/monitor_mean/dice" in next(curves).read_text().splitlines()[0]


def test_default_anchored_recipe_without_partial_labels_fails_with_the_key(tmp_path, load_config):
    text = replaced(make(tmp_path, iter_max=1, iter_valid=1), "recipe = paper\n", "")
    with pytest.raises(ConfigError, match="seed_labels = true needs the expanded partial"):
        PASegSCMAgent(load_config(text, "scm.cfg"), "train")  # before any training


def test_monitor_flips_average_the_flipped_logits_and_ema_blends_weights():
    from pymic_paseg.agents.monitors import Monitors
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv3d(1, 2, 3, padding=1), torch.nn.BatchNorm3d(2),
                              torch.nn.Conv3d(2, 2, (1, 1, 3), padding=(0, 0, 1)))
    x = torch.randn(2, 1, 4, 6, 8)
    plain = Monitors([net], amp=False)
    tta = Monitors([net], amp=False, flip_dims=[3, 4])
    copy = plain.copies[0]
    with torch.no_grad():                                   # brute force: four passes
        ref = (copy(x) + copy(x.flip(3)).flip(3) + copy(x.flip(4)).flip(4)
               + copy(x.flip([3, 4])).flip([3, 4])) / 4
    assert torch.allclose(tta.predict(x)[0], ref, atol=1e-6)
    assert not torch.allclose(plain.predict(x)[0], ref, atol=1e-3)   # the net is not symmetric
    # EMA: monitor <- 0.9 monitor + 0.1 net, parameters and running statistics alike
    before = {k: v.clone() for k, v in copy.state_dict().items()}
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
    net.train()(x)                                          # moves BatchNorm's running stats
    plain.ema_update([net], 0.9)
    after, source = copy.state_dict(), net.state_dict()
    for name, value in after.items():
        if value.dtype.is_floating_point:
            assert torch.allclose(value, 0.9 * before[name] + 0.1 * source[name]), name
        else:
            assert torch.equal(value, source[name]), name
    assert not any(p.requires_grad for p in copy.parameters())


def test_ema_monitors_follow_the_network_every_iteration(tmp_path, load_config):
    text = make(tmp_path, iter_max=4, iter_valid=4,
                nll="monitor_update = ema\nmonitor_ema_decay = 0.5\nmonitor_flips = [height]")
    agent = PASegSCMAgent(load_config(text), "train")
    agent.run()
    assert agent.monitors.last_refresh == 4 - 1          # updated before each step but the first
    assert agent.monitor_flip_dims == [3]
    net = agent.members[0].net.state_dict()
    monitor = agent.monitors.copies[0].state_dict()
    key = next(k for k, v in net.items() if v.dtype.is_floating_point and v.dim() > 1)
    assert not torch.equal(monitor[key].cpu(), net[key].cpu())   # a blend, not a copy


@pytest.mark.parametrize("nll, message", [
    ("monitor_update = mean", r"monitor_update = 'mean'"),
    ("monitor_flips = [heigth]", "Did you mean 'height'"),
    ("monitor_ema_decay = 1", r"monitor_ema_decay = 1")])
def test_monitor_option_errors_name_the_key(tmp_path, nll, message, load_config):
    with pytest.raises(ConfigError, match=message):
        PASegSCMAgent(load_config(make(tmp_path, nll=nll)), "train")
