"""DistributedDataParallel under torchrun, on CPU with gloo and two ranks.

The end-to-end tests compare a two-rank run with one process on the same global
batch. To make that comparison exact up to the losses' batch reductions, the data
are chosen so that the two runs see the same cases at every step: two training
cases, a global batch of two (one per rank), crops as large as the images (no random
offset) and InstanceNorm networks (BatchNorm statistics over one case per rank differ
from those over two; torch's SyncBatchNorm, the fix, runs on GPUs only).
"""
import argparse
import contextlib
import csv
import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from helpers import make_dataset, make_partial_dataset, scm_config, stage1_config
from pymic_paseg.agents import distributed
from pymic_paseg.agents.checkpoint import load_checkpoint
from pymic_paseg.agents.device import DevicePlan
from pymic_paseg.config import ConfigError

WORKER = Path(__file__).with_name("ddp_worker.py")
TORCHRUN_ENV = {"WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "0"}


def load_config(path: Path) -> dict:
    from pymic.util.parse_config import parse_config, synchronize_config
    with contextlib.redirect_stdout(io.StringIO()):
        return synchronize_config(parse_config(argparse.Namespace(cfg=str(path))))


# ---------------------------------------------------------------- fast unit tests
def test_outside_torchrun_nothing_changes():
    config = {"dataset": {"train_batch_size": 3}, "training": {}}
    context, plan = distributed.setup(config, DevicePlan(torch.device("cpu"), []),
                                      supported=True, agent="A", env={})
    assert not context.active and context.is_main
    assert config["dataset"]["train_batch_size"] == 3


@pytest.mark.parametrize("training, batch, message", [
    ({}, 3, "[dataset] train_batch_size = 3: is the global batch under DDP and must be a "
            "multiple of the world size (2)"),
    ({"sync_batchnorm": True}, 2, "[training] sync_batchnorm = True: needs CUDA"),
])
def test_bad_ddp_settings_fail_before_the_process_group(training, batch, message):
    config = {"dataset": {"train_batch_size": batch}, "training": training}
    with pytest.raises(ConfigError) as err:
        distributed.setup(config, DevicePlan(torch.device("cpu"), []), supported=True,
                          agent="A", env=TORCHRUN_ENV)
    assert message in str(err.value)
    assert not torch.distributed.is_initialized()


def test_pymic_own_agents_refuse_ddp_with_a_clear_message(tmp_path, monkeypatch):
    from pymic.net_run.weak_sup import WSLMethodDict
    from pymic_paseg.agents.routing import device_aware
    root = make_partial_dataset(tmp_path / "data", n_train=2, n_valid=1)
    text = stage1_config(root, tmp_path / "ckpt", tmp_path / "out")
    path = tmp_path / "em.cfg"
    path.write_text(text.replace("method_name = PASegStage1", "method_name = EntropyMinimization"))
    config = load_config(path)
    for key, value in TORCHRUN_ENV.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as err:
        device_aware(WSLMethodDict["EntropyMinimization"])(config, "train")
    assert "DeviceAwareWSLEntropyMinimization runs PyMIC's own inner training loop" \
        in str(err.value)
    assert "instead of under torchrun" in str(err.value)
    assert not torch.distributed.is_initialized()


def test_shard_sampler_splits_each_global_batch_and_advances_epochs():
    dataset = list(range(10))
    global_batch = 4
    single = distributed.ShardSampler(dataset, num_replicas=1, rank=0, seed=3, drop_last=True)
    ranks = [distributed.ShardSampler(dataset, num_replicas=2, rank=r, seed=3, drop_last=True)
             for r in range(2)]
    for _ in range(2):  # two epochs, each one re-creating the iterators
        order = list(single)
        shares = [list(s) for s in ranks]
        assert sorted(shares[0] + shares[1]) == sorted(order)
        for k in range(len(order) // global_batch):  # batch k: the same cases for 1 and 2 ranks
            per_rank = global_batch // 2
            together = shares[0][k * per_rank:(k + 1) * per_rank] + \
                shares[1][k * per_rank:(k + 1) * per_rank]
            assert sorted(together) == sorted(order[k * global_batch:(k + 1) * global_batch])
    assert single.epoch == 2 and all(s.epoch == 2 for s in ranks)
    assert list(single) != order or list(single) != list(single), "a new order each epoch"


def test_secondary_ranks_are_quiet(monkeypatch):
    class Module:
        def wrtie_config(self, *args):
            raise AssertionError("rank 1 must not write the config copy")
    module = Module()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        assert not distributed.quiet_secondary_rank(module, env=TORCHRUN_ENV)
        assert distributed.quiet_secondary_rank(module, env={**TORCHRUN_ENV, "RANK": "1"})
        module.wrtie_config({}, "x.cfg")
        assert root.level == logging.WARNING and root.handlers
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


# ---------------------------------------------------------------- torchrun end to end
def _torchrun(args, nproc: int = 2, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[2]),
                                          str(Path(__file__).parents[1]),
                                          os.environ.get("PYTHONPATH", "")])}
    for key in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc_per_node={nproc}", *map(str, args)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def _exact_batch(text: str, dimension_net: bool = True) -> str:
    """Full-size crops and InstanceNorm networks (see the module docstring)."""
    text = text.replace("patch_size = [8, 16, 16]", "patch_size = [16, 32, 32]")
    text = text.replace("patch_size = [16, 16, 16]", "patch_size = [16, 32, 32]")
    text = text.replace("net_type = UNet2D5\n",
                        "net_type = UNet\ndimension = 3\nnorm_type = instance_norm\n")
    text = text.replace("feature_chns = [4, 8, 16, 32, 64]", "feature_chns = [4, 8, 8, 16, 16]")
    text = text.replace("net_type = PASegAttentionUNet\n",
                        "net_type = PASegAttentionUNet\nnorm_type = instance_norm\n")
    return text


def _curve(ckpt_dir: Path, prefix: str = "ckpt", column: str = "train/loss") -> dict:
    rows = list(csv.DictReader((ckpt_dir / f"{prefix}_training_curves.csv").open()))
    return {int(r["iteration"]): float(r[column]) for r in rows}


@pytest.mark.slow
def test_stage1_two_ranks_match_one_process_write_once_and_resume(tmp_path):
    from pymic_paseg.agents.stage1 import PASegStage1Agent
    root = make_partial_dataset(tmp_path / "data", n_train=2, n_valid=1)
    texts = {}
    for name in ("one", "ddp"):
        texts[name] = _exact_batch(stage1_config(
            root, tmp_path / name, tmp_path / "out", iter_max=4, iter_valid=2,
            wsl="rampup_end = 0"))
        (tmp_path / f"{name}.cfg").write_text(texts[name])
    # one process, global batch 2, run on to iteration 6 (the resumed run's reference)
    one = tmp_path / "one6.cfg"
    one.write_text(texts["one"].replace("iter_max = 4", "iter_max = 6"))
    PASegStage1Agent(load_config(one), "train").run()
    result = _torchrun(["-m", "pymic_paseg.cli", "train", tmp_path / "ddp.cfg"])

    ddp_dir = tmp_path / "ddp"
    log_files = list(ddp_dir.glob("log_train_*.txt"))
    assert len(log_files) == 1, "rank 0 alone writes the log"
    log = log_files[0].read_text()
    assert "DDP: world size 2, backend gloo" in log
    assert "1 case(s) per rank per iteration" in log
    assert result.stdout.count("DDP: world size 2") == 1, "rank 1 stays silent"
    assert len(list(ddp_dir.glob("events.out.tfevents.*"))) == 1
    assert sorted(p.name for p in ddp_dir.glob("ckpt_*")) == [
        "ckpt_2.pt", "ckpt_4.pt", "ckpt_best.pt", "ckpt_best.txt", "ckpt_latest.txt",
        "ckpt_training_curves.csv"]
    state = load_checkpoint(ddp_dir / "ckpt_4.pt")
    assert not any(k.startswith("module.") for k in state["model_state_dict"]), "unwrapped"

    reference, ddp = _curve(tmp_path / "one"), _curve(ddp_dir)
    assert list(ddp) == [2, 4]
    for it in ddp:
        assert ddp[it] == pytest.approx(reference[it], rel=2e-3), (it, ddp, reference)
    ref4 = load_checkpoint(tmp_path / "one" / "ckpt_4.pt")["model_state_dict"]
    for key, value in state["model_state_dict"].items():
        torch.testing.assert_close(value, ref4[key], rtol=0.0, atol=5e-4)

    # resume the two-rank checkpoint in one process (any number of ranks can)
    resumed = tmp_path / "resume.cfg"
    resumed.write_text(texts["ddp"].replace("iter_max = 4", "iter_max = 6")
                       .replace("[training]\n", "[training]\nresume = true\n", 1))
    agent = PASegStage1Agent(load_config(resumed), "train")
    agent.run()
    assert [r[0] for r in agent._rounds.history] == [6]
    assert agent._rounds.history[0][2]["loss"] == pytest.approx(reference[6], rel=2e-3)
    steps = {float(s["step"]) for s in
             load_checkpoint(ddp_dir / "ckpt_6.pt")["optimizer_state_dict"]["state"].values()}
    assert steps == {6.0}


def _scm_text(tmp_path: Path, name: str, norm: str, iter_max: int = 4) -> Path:
    from test_scm import stage1_checkpoints
    root = tmp_path / "data"
    if not root.exists():
        make_dataset(root, n_train=2, n_valid=1)
    primary, aux = tmp_path / f"primary_{norm}.pt", tmp_path / f"aux_{norm}.pt"
    text = scm_config(root, tmp_path / name, tmp_path / "out", primary, aux, iter_max=iter_max,
                      iter_valid=2, nll="monitor_interval = 1\nmonitor_source = latest")
    if norm == "instance":
        text = _exact_batch(text)
    else:
        text = text.replace("patch_size = [16, 16, 16]", "patch_size = [16, 32, 32]")
    path = tmp_path / f"{name}.cfg"
    path.write_text(text)
    if not primary.exists():
        config = load_config(path)
        stage1_checkpoints(tmp_path, config)
        os.replace(tmp_path / "primary.pt", primary)
        os.replace(tmp_path / "aux.pt", aux)
    return path


def _ranks(out: Path) -> list:
    return [json.loads((out / f"rank{r}.json").read_text()) for r in range(2)]


@pytest.mark.slow
def test_scm_two_ranks_match_one_process_and_monitors_agree(tmp_path):
    from pymic_paseg.agents.scm import PASegSCMAgent
    one = _scm_text(tmp_path, "one", "instance")
    ddp = _scm_text(tmp_path, "ddp", "instance")
    reference = PASegSCMAgent(load_config(one), "train")
    reference.run()
    _torchrun([WORKER, ddp, tmp_path / "ranks"])
    ranks = _ranks(tmp_path / "ranks")
    assert [r["batch"] for r in ranks] == [1, 1]
    assert ranks[0]["monitors"] == ranks[1]["monitors"]
    assert ranks[0]["nets"] == ranks[1]["nets"]
    assert ranks[0]["last_refresh"] == reference.monitors.last_refresh == 3
    ref_curve = _curve(tmp_path / "one", column="train/primary/loss")
    for column in ("train/primary/loss", "train/auxiliary/loss"):
        ref, got = _curve(tmp_path / "one", column=column), _curve(tmp_path / "ddp", column=column)
        assert list(got) == [2, 4]
        for it in got:
            assert got[it] == pytest.approx(ref[it], rel=2e-3), (column, got, ref)
    assert ref_curve
    names = sorted(p.name for p in (tmp_path / "ddp").glob("*.pt"))
    assert names == ["ckpt_2.pt", "ckpt_4.pt", "ckpt_auxiliary_2.pt", "ckpt_auxiliary_4.pt",
                     "ckpt_auxiliary_best.pt", "ckpt_best.pt"]
    # resume under two ranks: both networks and monitors continue from iteration 4
    text = ddp.read_text().replace("iter_max = 4", "iter_max = 6")
    ddp.write_text(text.replace("[training]\n", "[training]\nresume = true\n", 1))
    _torchrun([WORKER, ddp, tmp_path / "ranks_resumed"])
    ranks = _ranks(tmp_path / "ranks_resumed")
    assert [h[0] for h in ranks[0]["history"]] == [6]
    assert ranks[0]["monitors"] == ranks[1]["monitors"]
    assert ranks[0]["last_refresh"] == 5
    state = load_checkpoint(tmp_path / "ddp" / "ckpt_auxiliary_6.pt")
    assert {float(s["step"]) for s in state["optimizer_state_dict"]["state"].values()} == {6.0}
