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
