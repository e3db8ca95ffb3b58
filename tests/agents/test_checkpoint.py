"""Checkpoint files: PyMIC's names, atomic saves, weights_only loading, clear errors."""
import logging
import pickle

import pytest
import torch

from pymic_paseg.agents.checkpoint import (CheckpointError, checkpoint_location, find_checkpoint,
                                           load_checkpoint, load_model_weights,
                                           remove_stale_temp_files, save_checkpoint)
from pymic_paseg.agents.pointers import checkpoint_file, read_pointer, write_pointer


def _state(net, iteration=3):
    return {"iteration": iteration, "model_state_dict": net.state_dict(),
            "optimizer_state_dict": {}, "valid_pred": 0.5}


def test_save_then_load_gives_the_same_tensors_and_leaves_no_temp_file(tmp_path):
    net = torch.nn.Conv3d(1, 2, 3)
    path = tmp_path / "net_3.pt"
    save_checkpoint(_state(net), path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net_3.pt"]
    state = load_checkpoint(path)
    assert state["iteration"] == 3
    for key, value in net.state_dict().items():
        assert torch.equal(state["model_state_dict"][key], value)


def test_pickled_code_missing_files_and_foreign_dicts_are_refused(tmp_path):
    with pytest.raises(CheckpointError, match="checkpoint file not found: .*nope.pt"):
        load_checkpoint(tmp_path / "nope.pt")
    evil = tmp_path / "evil.pt"
    torch.save({"model_state_dict": {}, "f": pickle.loads}, evil)  # a callable: not weights
    with pytest.raises(CheckpointError, match=r"cannot load checkpoint .*evil.pt with weights_only"):
        load_checkpoint(evil)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(1)}, other)
    with pytest.raises(CheckpointError, match=r"other.pt is not a PyMIC checkpoint"):
        load_checkpoint(other)


def test_weights_that_do_not_fit_name_the_file_and_the_keys():
    net = torch.nn.Sequential(torch.nn.Conv3d(1, 2, 3), torch.nn.Conv3d(2, 2, 1))
    state = dict(net.state_dict())
    state["0.weight"] = torch.zeros(4, 1, 3, 3, 3)
    del state["1.bias"]
    state["2.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointError) as err:
        load_model_weights(net, state, "ck.pt")
    text = str(err.value)
    assert text.startswith("checkpoint ck.pt does not fit network Sequential")
    assert "missing keys: 1.bias" in text and "unexpected keys: 2.weight" in text
    assert "shape mismatch: 0.weight (4, 1, 3, 3, 3) vs (2, 1, 3, 3, 3)" in text
    other = torch.nn.Sequential(torch.nn.Conv3d(1, 2, 3), torch.nn.Conv3d(2, 2, 1))
    load_model_weights(other, net.state_dict(), "ok.pt")
    assert torch.equal(other[1].weight, net[1].weight)


def test_location_defaults_the_prefix_to_the_folder_name_as_pymic():
    assert checkpoint_location({"training": {"ckpt_dir": "runs/stage1/"}}) == ("runs/stage1",
                                                                               "stage1")
    assert checkpoint_location({"training": {"ckpt_dir": "m", "ckpt_prefix": "unet"}}) == \
        ("m", "unet")


def test_find_checkpoint_follows_the_pointers_and_falls_back_to_latest(tmp_path, caplog):
    ckpt = str(tmp_path)
    with pytest.raises(CheckpointError, match=r"no checkpoint in .*: unet_latest.txt not found"):
        find_checkpoint(ckpt, "unet", 0)
    write_pointer(ckpt, "unet", "latest", 40)
    assert read_pointer(ckpt, "unet", "latest") == 40
    assert find_checkpoint(ckpt, "unet", 0) == checkpoint_file(ckpt, "unet", 40)
    with caplog.at_level(logging.WARNING):
        assert find_checkpoint(ckpt, "unet", 1) == tmp_path / "unet_40.pt"
    assert "no " in caplog.text and "unet_best.pt" in caplog.text
    (tmp_path / "unet_best.pt").write_bytes(b"")
    assert find_checkpoint(ckpt, "unet", 1) == tmp_path / "unet_best.pt"
    (tmp_path / "unet_latest.txt").write_text("forty")
    with pytest.raises(CheckpointError, match=r"unet_latest.txt should hold an iteration number"):
        read_pointer(ckpt, "unet", "latest")


def test_stale_temp_files_are_removed_and_reported(tmp_path, caplog):
    (tmp_path / ".tmp-abc").write_text("x")
    (tmp_path / "unet_2.pt").write_text("keep")
    with caplog.at_level(logging.WARNING):
        remove_stale_temp_files(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["unet_2.pt"]
    assert "removed 1 temporary file(s)" in caplog.text and ".tmp-abc" in caplog.text
    remove_stale_temp_files(tmp_path / "absent")  # no folder yet: nothing to do
