"""RoundLogger: the flattened scalars, the log lines, TensorBoard calls and curves.csv."""
import csv
import logging

import numpy as np

from pymic_paseg.agents.tracking import RoundLogger, _scalars


class Writer:
    """Records ``add_scalar`` calls as a SummaryWriter would receive them."""

    def __init__(self):
        self.calls = []

    def add_scalar(self, name, value, step):
        self.calls.append((name, value, step))


def test_nested_numbers_and_arrays_flatten_to_named_scalars():
    values = {"loss": np.float32(0.5), "terms": {"crf": 2, "vm": 0.25},
              "class_dice": np.array([0.9, 0.7]), "ok": True, "note": "text", "per": [1, 2]}
    assert dict(_scalars("train", values)) == {
        "train/loss": 0.5, "train/terms/crf": 2.0, "train/terms/vm": 0.25,
        "train/class_dice_0": 0.9, "train/class_dice_1": 0.7, "train/per_0": 1.0,
        "train/per_1": 2.0}
    assert list(_scalars("x", None)) == [] and list(_scalars("x", {})) == []


def test_a_round_reaches_tensorboard_the_log_and_the_curves(tmp_path, caplog):
    writer = Writer()
    curves = tmp_path / "curves.csv"
    rounds = RoundLogger(writer, total=20, start=0, progress=False, curves_csv=str(curves))
    with caplog.at_level(logging.INFO, logger="pymic_paseg.agents.tracking"):
        rounds.log(10, 0.01, {"loss": 0.8, "data_time": 3.0}, {"avg_fg_dice": 0.4,
                                                              "class_dice": [0.9, 0.4]})
        rounds.log(20, 0.005, {"loss": 0.6, "data_time": 2.0}, None)
        rounds.log_time(20, {"data_time": 2.0}, train=5.0, valid=1.0)
    rounds.close()
    assert ("lr", 0.01, 10) in writer.calls and ("train/loss", 0.6, 20) in writer.calls
    assert ("valid/class_dice_1", 0.4, 10) in writer.calls
    assert not any(name.endswith("data_time") for name, _, _ in writer.calls)
    assert "it 10  lr 0.01  train: loss 0.8000" in caplog.text
    assert "it 10  valid: avg_fg_dice 0.4000" in caplog.text and "class_dice" not in caplog.text
    assert "it 20  time: train 5.0 s, valid 1.0 s (data loading 2.0 s)" in caplog.text
    with open(curves, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["iteration"] for r in rows] == ["10", "20"]
    assert rows[1]["train/loss"] == "0.6" and rows[1]["valid/avg_fg_dice"] == ""
    assert "train/data_time" not in rows[0]
    assert [h[0] for h in rounds.history] == [10, 20] and rounds.history[1][3] is None
