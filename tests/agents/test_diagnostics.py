"""Training diagnostics: hand-computed Dice / volume ratio, and the SCM agent's diag scalars."""
import math

import numpy as np
import pytest

from pymic_paseg.agents.diagnostics import dice_and_volume_ratio, summarise


def test_dice_and_volume_ratio_by_hand():
    truth = np.zeros((4, 4, 4), bool)
    truth[:2, :2, :2] = True            # 8 voxels
    pred = np.zeros_like(truth)
    pred[:1, :2, :2] = True             # 4 voxels, all inside
    r = dice_and_volume_ratio(pred, truth)
    assert r["dice"] == pytest.approx(2 * 4 / 12)
    assert r["volume_ratio"] == pytest.approx(0.5)
    assert dice_and_volume_ratio(truth, truth) == {"dice": 1.0, "volume_ratio": 1.0}
    empty = dice_and_volume_ratio(np.zeros_like(truth), np.zeros_like(truth))
    assert empty["dice"] == 1.0 and math.isnan(empty["volume_ratio"])


def test_summarise_means_and_agreement():
    t = np.zeros((2, 2, 2), bool)
    t[0] = True                           # 4 voxels
    a = t.copy()                          # perfect
    b = np.zeros_like(t)
    b[0, 0] = True                        # 2 voxels inside
    out = summarise({"a": [a, a], "b": [b, t]}, [t, t])
    assert out["a"] == {"dice": 1.0, "volume_ratio": 1.0}
    assert out["b"]["dice"] == pytest.approx((2 * 2 / 6 + 1.0) / 2)
    assert out["b"]["volume_ratio"] == pytest.approx((0.5 + 1.0) / 2)
    assert out["agreement"] == pytest.approx((2 * 2 / 6 + 1.0) / 2)


def test_diagnostics_leave_the_training_trajectory_unchanged(tmp_path, load_config):
    """The same stage-1 run with and without ``diagnostic_csv`` ends with the same weights
    (the diagnostic's data loader draws from the global RNG: it must not shift the crops)."""
    import torch
    from helpers import make_partial_dataset, stage1_config
    from pymic_paseg.agents.stage1 import PASegStage1Agent
    root = make_partial_dataset(tmp_path / "data", n_train=3, n_valid=1)
    (root / "diag.csv").write_text("image,label\n" + "".join(
        f"case{i}_img.nii.gz,case{i}_lab.nii.gz\n" for i in range(2)))
    weights = {}
    for name, extra in (("plain", ""), ("diag", f"diagnostic_csv = {root}/diag.csv\n")):
        text = stage1_config(root, tmp_path / name, tmp_path / f"out_{name}", iter_max=4,
                             iter_valid=2)
        text = text.replace("[dataset]\n", "[dataset]\n" + extra, 1)
        # dropout draws from torch's global RNG, which a data loader's start also draws from
        text = text.replace("dropout = [0.0, 0.0, 0.0, 0.0, 0.0]",
                            "dropout = [0.0, 0.0, 0.3, 0.3, 0.3]")
        agent = PASegStage1Agent(load_config(text, f"{name}.cfg"), "train")
        agent.run()
        if name == "diag":
            assert "diag" in agent._rounds.history[0][3]          # the diagnostic ran
        weights[name] = {k: v.detach().clone() for k, v in agent.net.state_dict().items()}
    assert all(torch.equal(weights["plain"][k], weights["diag"][k]) for k in weights["plain"])
