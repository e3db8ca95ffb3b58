"""Real `pymic_run train` subprocesses stopped by real signals: checkpoint, exact resume, logs."""
import os
import signal
import subprocess
import time

import pytest
import torch

from helpers import fullsup_config, make_dataset, parse_pymic_config
from robust_helpers import CLI
from pymic_paseg.agents.checkpoint import load_checkpoint
from pymic_paseg.agents.fullsup import FullySupervisedAgent

ITER_MAX, ITER_VALID = 60, 3


def _write_config(tmp_path, name, iter_max=ITER_MAX):
    root = tmp_path / "data"
    if not root.exists():
        make_dataset(root, n_train=4, n_valid=1)
    cfg = tmp_path / f"{name}.cfg"
    ckpt = tmp_path / name / "ckpt"  # the checkpoint prefix is the folder name: "ckpt"
    cfg.write_text(fullsup_config(root, ckpt, tmp_path / name / "out",
                                  iter_max=iter_max, iter_valid=ITER_VALID))
    return cfg, ckpt


def _train_in_process(cfg):
    FullySupervisedAgent(parse_pymic_config(cfg), "train").run()


def _rounds_logged(curves):
    try:
        return len(curves.read_text().splitlines()) - 1
    except OSError:
        return 0


def _start_and_signal(cfg, ckpt, signum, rounds=1):
    """Start a training; once ``rounds`` rounds are logged, send ``signum``; wait for the end."""
    proc = subprocess.Popen([*CLI, "train", str(cfg)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    curves = ckpt / "ckpt_training_curves.csv"
    deadline = time.time() + 120
    while _rounds_logged(curves) < rounds and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "the training ended before it could be interrupted"
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


def _latest(ckpt):
    return int((ckpt / "ckpt_latest.txt").read_text())


@pytest.mark.slow  # three trainings of 60 iterations: about 45 s on 2 cores
def test_sigterm_saves_the_current_iteration_and_resume_is_exact(tmp_path):
    cfg_ref, ckpt_ref = _write_config(tmp_path, "reference")
    _train_in_process(cfg_ref)
    cfg, ckpt = _write_config(tmp_path, "run")
    code, err = _start_and_signal(cfg, ckpt, signal.SIGTERM)
    assert code == 128 + signal.SIGTERM, err
    stopped = _latest(ckpt)
    assert ITER_VALID <= stopped < ITER_MAX
    assert f"training stopped by SIGTERM at iteration {stopped}; checkpoint" in err
    assert "--resume" in err.strip().splitlines()[-1]
    state = load_checkpoint(ckpt / f"ckpt_{stopped}.pt")
    assert state["iteration"] == stopped and "rng" in state and "data_position" in state
    result = subprocess.run([*CLI, "train", str(cfg), "--resume"], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    ref = load_checkpoint(ckpt_ref / f"ckpt_{ITER_MAX}.pt")["model_state_dict"]
    got = load_checkpoint(ckpt / f"ckpt_{ITER_MAX}.pt")["model_state_dict"]
    worst = max(float((ref[k].double() - got[k].double()).abs().max()) for k in ref)
    assert worst < 1e-4, f"resumed weights differ from the uninterrupted run's by {worst}"
    # the losses of every round after the interrupted one are the uninterrupted run's
    ref_rows = (ckpt_ref / "ckpt_training_curves.csv").read_text().splitlines()
    resumed = (ckpt / "ckpt_training_curves.csv").read_text().splitlines()  # one file
    by_iteration = {row.split(",")[0]: row.split(",")[2] for row in ref_rows[1:]}
    later = [row.split(",") for row in resumed[1:]
             if int(row.split(",")[0]) >= stopped + ITER_VALID]
    assert later, "at least one whole round after the resume"
    for row in later:
        assert float(row[2]) == pytest.approx(float(by_iteration[row[0]]), rel=1e-4), row


@pytest.mark.slow  # training in a subprocess, interrupted
def test_sigint_saves_a_checkpoint_and_exits_130(tmp_path):
    cfg, ckpt = _write_config(tmp_path, "run")
    code, err = _start_and_signal(cfg, ckpt, signal.SIGINT)
    assert code == 130, err
    stopped = _latest(ckpt)
    assert f"training stopped by SIGINT at iteration {stopped}" in err
    assert "Traceback" not in err
    assert load_checkpoint(ckpt / f"ckpt_{stopped}.pt")["iteration"] == stopped


@pytest.mark.slow  # training in a subprocess, killed
def test_sigkill_leaves_a_non_empty_tensorboard_file(tmp_path):
    cfg, ckpt = _write_config(tmp_path, "run")
    # round 2 is in the curves, so round 1 went through the writer's flush
    code, _ = _start_and_signal(cfg, ckpt, signal.SIGKILL, rounds=2)
    assert code == -signal.SIGKILL
    events = list(ckpt.glob("events.out.tfevents.*"))
    assert events and all(os.path.getsize(e) > 0 for e in events)


def test_stale_temporary_checkpoint_files_are_removed_on_start(tmp_path, caplog):
    cfg, ckpt = _write_config(tmp_path, "run", iter_max=3)
    ckpt.mkdir(parents=True)
    stale = ckpt / ".tmp-ckpt_3.pt-abc123.pt"
    stale.write_bytes(b"half a checkpoint")
    with caplog.at_level("WARNING", logger="pymic_paseg.agents.checkpoint"):
        _train_in_process(cfg)
    assert not stale.exists()
    assert any(".tmp-ckpt_3.pt-abc123.pt" in r.getMessage() for r in caplog.records)
    assert torch.is_tensor(load_checkpoint(ckpt / "ckpt_3.pt")["rng"]["torch"])
