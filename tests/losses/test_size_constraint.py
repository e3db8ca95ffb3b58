"""Size constraint (Kervadec et al. 2019): hand values, V* estimates, gradients, config."""
import pytest
import torch

from pymic_paseg.config import ConfigError
from pymic_paseg.losses import SizeConstraintLoss, size_constraint_loss
from pymic_paseg.losses.size_constraint import (candidate_region, volume_from_candidates,
                                                volume_from_label)


def _tiny():
    """N=1, C=2, 1 x 4 pixels; fg probs .5 .5 .25 .75 -> soft size V = 2."""
    fg = torch.tensor([0.5, 0.5, 0.25, 0.75], dtype=torch.float64)
    return torch.stack([1 - fg, fg]).reshape(1, 2, 1, 4)


@pytest.mark.parametrize("vstar, expected", [
    (2.0, 0.0),                                  # a = 1.8 <= 2 <= b = 2.2
    (2.2, 0.0),                                  # a = 1.98: still inside
    (2.5, (2.0 - 2.25) ** 2 / 4),                # below a = 0.9 * 2.5
    (1.5, (2.0 - 1.65) ** 2 / 4),                # above b = 1.1 * 1.5
    (0.0, 2.0 ** 2 / 4),                         # class absent: bounds [0, 0]
])
def test_hand_computed_values(vstar, expected):
    got = size_constraint_loss(_tiny(), torch.tensor([[0.0, vstar]], dtype=torch.float64))
    assert got.item() == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_custom_bounds_and_integer_volume():
    got = size_constraint_loss(_tiny(), torch.tensor([[7, 4]]), lower=0.75, upper=1.0)
    assert got.item() == pytest.approx((2.0 - 3.0) ** 2 / 4, rel=1e-12)      # a = 3


def test_mean_over_items_and_foreground_classes_3d():
    g = torch.Generator().manual_seed(0)
    probs = torch.softmax(torch.randn(2, 3, 2, 3, 4, generator=g, dtype=torch.float64), 1)
    vstar = torch.tensor([[5.0, 1.0, 30.0], [0.0, 8.0, 8.5]], dtype=torch.float64)
    got = size_constraint_loss(probs, vstar, lower=0.8, upper=1.2)
    terms = []
    for n in range(2):                                             # explicit reference
        for c in (1, 2):
            v = sum(probs[n, c].flatten().tolist())
            a, b = 0.8 * vstar[n, c].item(), 1.2 * vstar[n, c].item()
            pen = (v - a) ** 2 if v < a else (v - b) ** 2 if v > b else 0.0
            terms.append(pen / 24)
    assert got.item() == pytest.approx(sum(terms) / 4, rel=1e-12)
    assert got.item() > 0


def test_gradcheck_float64():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(2, 3, 3, 4, generator=g, dtype=torch.float64, requires_grad=True)
    vstar = torch.tensor([[0.0, 9.0, 2.0], [0.0, 1.0, 3.6]], dtype=torch.float64)

    def fn(x):
        return size_constraint_loss(torch.softmax(x, 1), vstar)
    assert fn(logits).item() > 0
    assert torch.autograd.gradcheck(fn, (logits,))


def _partial_label():
    """2D 5 x 6: background labelled outside cols 1..4 and in the invalid voxel (0, 2);
    foreground seed at (2, 2)-(2, 3); the rest unlabeled (PyMIC convention)."""
    label = torch.full((1, 5, 6), 2)                               # 2 = unlabeled
    label[..., 0] = 0
    label[..., 5] = 0
    label[0, 0, 2] = 0                                             # outside Omega_M
    label[0, 2, 2:4] = 1
    target = torch.nn.functional.one_hot(label, 3)[..., :2].movedim(-1, 1).float()
    weight = (label < 2).float().unsqueeze(1)
    return target, weight


def test_estimates_follow_the_partial_label_convention():
    target, weight = _partial_label()
    region = candidate_region(target, weight)
    assert region[0, 1].sum().item() == 5 * 4 - 1                 # box ∩ Omega_M
    assert region[0, 0].sum().item() == 30 - 2                    # not labelled fg
    vol = volume_from_candidates(target, weight, fill=0.5)
    assert vol[0, 1].item() == pytest.approx(9.5)
    assert volume_from_label(target)[0].tolist() == [11.0, 2.0]
    # without pixel_weight the all-zero one-hot still marks voxels as unlabeled
    assert torch.equal(candidate_region(target), region)


def test_wrapper_box_estimate_and_target_volume_override():
    target, weight = _partial_label()
    logits = torch.zeros(1, 2, 5, 6, dtype=torch.float64)         # V = 15 everywhere
    loss = SizeConstraintLoss({"SizeConstraintLoss_box_fill": "0.25"})
    got = loss({"prediction": logits, "ground_truth": target, "pixel_weight": weight})
    vstar = 0.25 * 19
    assert got.item() == pytest.approx((15 - 1.1 * vstar) ** 2 / 30, rel=1e-12)
    given = torch.tensor([[0.0, 20.0]])
    got = loss({"prediction": logits, "ground_truth": target, "pixel_weight": weight,
                "target_volume": given})
    assert got.item() == pytest.approx((15 - 0.9 * 20) ** 2 / 30, rel=1e-12)


def test_wrapper_gt_prob_uses_dense_label_and_rejects_partial():
    target, weight = _partial_label()
    logits = torch.zeros(1, 2, 5, 6, dtype=torch.float64)
    loss = SizeConstraintLoss({"SizeConstraintLoss_target": "gt_prob"})
    dense = torch.zeros(1, 2, 5, 6)
    dense[:, 1, 1:4, 1:5] = 1
    dense[:, 0] = 1 - dense[:, 1]                                 # V*_1 = 12
    got = loss({"prediction": logits, "ground_truth": dense,
                "pixel_weight": torch.ones(1, 1, 5, 6)})
    assert got.item() == pytest.approx((15 - 1.1 * 12) ** 2 / 30, rel=1e-12)
    with pytest.raises(ValueError, match="needs a dense ground_truth"):
        loss({"prediction": logits, "ground_truth": target, "pixel_weight": weight})


def test_wrapper_sigmoid_and_deep_supervision_list():
    probs = _tiny()
    loss = SizeConstraintLoss({"loss_acti_func": None})
    got = loss({"prediction": [probs, probs[..., :2]],
                "target_volume": torch.tensor([[0.0, 2.5]], dtype=torch.float64)})
    assert got.item() == pytest.approx((2.0 - 2.25) ** 2 / 4, rel=1e-12)


@pytest.mark.parametrize("args, error, match", [
    ((torch.zeros(1, 2, 4).tolist(), torch.zeros(1, 2)), TypeError,
     "probs: expected a torch.Tensor"),
    ((torch.zeros(1, 2, 4), torch.zeros(1, 2)), ValueError, "expected a 4D or 5D"),
    ((torch.zeros(1, 1, 2, 2), torch.zeros(1, 1)), ValueError, "expected C >= 2"),
    ((torch.zeros(2, 2, 2, 2), torch.zeros(1, 2)), ValueError,
     r"target_volume: expected shape \(2, 2\) \(N x C\). Got: \(1, 2\)"),
    ((torch.zeros(1, 2, 2, 2), torch.tensor([[0.0, -1.0]])), ValueError, "finite voxel"),
    ((torch.zeros(1, 2, 2, 2), torch.zeros(1, 2), 0.0), ValueError,
     "lower: expected a finite number > 0. Got: 0.0"),
    ((torch.zeros(1, 2, 2, 2), torch.zeros(1, 2), 0.9, 0.5), ValueError,
     r"upper: expected a number >= lower \(0.9\). Got: 0.5"),
])
def test_bad_inputs(args, error, match):
    with pytest.raises(error, match=match):
        size_constraint_loss(*args)


@pytest.mark.parametrize("params, match", [
    ({"SizeConstraintLoss_upper": 0.5},
     r"\[training\] SizeConstraintLoss_upper = 0.5: must be >= SizeConstraintLoss_lower "
     r"\(0.9\)"),
    ({"SizeConstraintLoss_lower": "0"},
     r"\[training\] SizeConstraintLoss_lower = 0: must be a number > 0"),
    ({"SizeConstraintLoss_lower": "inf"},
     r"\[training\] SizeConstraintLoss_lower = inf: must be a finite number > 0"),
    ({"SizeConstraintLoss_box_fill": 1.5},
     r"\[training\] SizeConstraintLoss_box_fill = 1.5: must be a number > 0 and <= 1"),
    ({"SizeConstraintLoss_target": "boxx"}, "Did you mean 'box'"),
    ({"SizeConstraintLoss_uper": 1.2}, "unknown key. Did you mean 'sizeconstraintloss_upper'"),
])
def test_bad_config(params, match):
    with pytest.raises(ConfigError, match=match):
        SizeConstraintLoss(params)


def test_missing_inputs():
    loss = SizeConstraintLoss({})
    with pytest.raises(KeyError, match="neither 'target_volume' nor 'ground_truth'"):
        loss({"prediction": torch.zeros(1, 2, 2, 2)})
