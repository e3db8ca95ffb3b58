"""The shared device-aware loop on CPU: learning, checkpoints, resume, inference."""

import numpy as np
import pytest
import SimpleITK as sitk
import torch

from helpers import fullsup_config, load_pymic_config, make_dataset
from pymic_paseg.agents.checkpoint import CheckpointError, load_checkpoint
from pymic_paseg.agents.fullsup import FullySupervisedAgent
from pymic_paseg.agents.inference import InferenceError


def train(tmp_path, **kwargs) -> FullySupervisedAgent:
    root = make_dataset(tmp_path / "data")
    config = load_pymic_config(
        fullsup_config(root, tmp_path / "ckpt", tmp_path / "out", **kwargs), tmp_path)
    agent = FullySupervisedAgent(config, "train")
    agent.run()
    return agent


def test_a_few_iterations_make_the_loss_fall(tmp_path, caplog):
    with caplog.at_level("INFO", logger="pymic_paseg.agents.tracking"):
        agent = train(tmp_path, iter_max=24, iter_valid=6)
    losses = [round_[2]["loss"] for round_ in agent._rounds.history]
    assert len(losses) == 4
    assert losses[-1] < 0.8 * losses[0], losses
    assert agent.device == torch.device("cpu")
    timing = [r.getMessage() for r in caplog.records if "time:" in r.getMessage()]
    assert len(timing) == 4, "one line per round says where the time went"
    assert "train " in timing[0] and "valid " in timing[0] and "data loading" in timing[0]


def test_checkpoints_follow_pymic_layout_and_load_weights_only(tmp_path):
    train(tmp_path, iter_max=8, iter_valid=4)
    ckpt = tmp_path / "ckpt"
    assert (ckpt / "ckpt_latest.txt").read_text() == "8"
    assert (ckpt / "ckpt_best.txt").exists()
    state = load_checkpoint(ckpt / "ckpt_8.pt")
    assert state["iteration"] == 8
    assert {"model_state_dict", "optimizer_state_dict", "scheduler_state_dict"} <= set(state)
    assert not list(ckpt.glob(".tmp-*")), "no temporary files may be left behind"
    assert list(ckpt.glob("events.out.tfevents.*")), "TensorBoard scalars are written"
    curves = (ckpt / "ckpt_training_curves.csv").read_text().splitlines()
    assert curves[0].startswith("iteration,lr,train/loss") and len(curves) == 3


def test_resume_continues_from_the_saved_iteration(tmp_path):
    train(tmp_path, iter_max=8, iter_valid=4)
    first = load_checkpoint(tmp_path / "ckpt" / "ckpt_8.pt")
    agent = train(tmp_path, iter_max=12, iter_valid=4, extra_training="resume = true")
    iterations = [round_[0] for round_ in agent._rounds.history]
    assert iterations == [12], "resume must not redo iterations 1-8"
    resumed = load_checkpoint(tmp_path / "ckpt" / "ckpt_12.pt")
    assert resumed["iteration"] == 12
    # the optimizer state was restored (Adam's step count continues from 8)
    steps = [s["step"] for s in resumed["optimizer_state_dict"]["state"].values()]
    assert all(float(s) == 12 for s in steps)
    assert first["best_iteration"] <= resumed["best_iteration"]


def test_without_validation_the_latest_checkpoint_is_kept(tmp_path):
    agent = train(tmp_path, iter_max=4, iter_valid=2, valid=False)
    ckpt = tmp_path / "ckpt"
    assert not (ckpt / "ckpt_best.pt").exists()
    assert (ckpt / "ckpt_4.pt").exists()
    assert agent._rounds.history[-1][3] is None


def test_inference_writes_predictions_with_the_input_geometry(tmp_path):
    agent = train(tmp_path, iter_max=4, iter_valid=4)
    config = agent.config
    config["testing"]["ckpt_mode"] = 1
    tester = FullySupervisedAgent(config, "test")
    tester.run()
    outputs = sorted((tmp_path / "out").glob("*.nii.gz"))
    assert [p.name for p in outputs] == ["case4_img.nii.gz", "case5_img.nii.gz"]
    for out in outputs:
        pred = sitk.ReadImage(str(out))
        ref = sitk.ReadImage(str(tmp_path / "data" / out.name))
        assert pred.GetSize() == ref.GetSize()
        np.testing.assert_allclose(pred.GetSpacing(), ref.GetSpacing(), rtol=1e-6)
        np.testing.assert_allclose(pred.GetOrigin(), ref.GetOrigin(), rtol=1e-6)
        np.testing.assert_allclose(pred.GetDirection(), ref.GetDirection(), atol=1e-6)
        assert set(np.unique(sitk.GetArrayFromImage(pred))) <= {0, 1}


def test_bad_test_case_is_reported_and_the_others_written(tmp_path):
    agent = train(tmp_path, iter_max=4, iter_valid=4)
    (tmp_path / "data" / "case4_img.nii.gz").write_bytes(b"not a nifti file")
    tester = FullySupervisedAgent(agent.config, "test")
    with pytest.raises(InferenceError) as err:
        tester.run()
    assert "1 of 2 case(s) failed" in str(err.value)
    assert "case4_img.nii.gz" in str(err.value)
    assert [p.name for p in (tmp_path / "out").glob("*.nii.gz")] == ["case5_img.nii.gz"]


def test_checkpoint_that_does_not_fit_names_file_and_keys(tmp_path):
    agent = train(tmp_path, iter_max=4, iter_valid=4)
    path = tmp_path / "ckpt" / "ckpt_4.pt"
    state = load_checkpoint(path)
    state["model_state_dict"]["extra.weight"] = torch.zeros(1)
    del state["model_state_dict"][next(iter(state["model_state_dict"]))]
    bad = tmp_path / "bad.pt"
    torch.save(state, bad)
    config = agent.config
    config["testing"].update(ckpt_mode=2, ckpt_name=str(bad))
    with pytest.raises(CheckpointError) as err:
        FullySupervisedAgent(config, "test").run()
    text = str(err.value)
    assert str(bad) in text and "missing keys" in text and "unexpected keys: extra.weight" in text


class _Payload:
    def __reduce__(self):
        return (print, ("pwned",))


def test_checkpoint_with_pickled_code_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"model_state_dict": {}, "payload": _Payload()}, path)
    with pytest.raises(CheckpointError, match="weights_only=True"):
        load_checkpoint(path)
