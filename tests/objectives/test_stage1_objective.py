"""Stage-1 objective: eq. 11 with the ramp against a hand computation, config errors."""
import math

import pytest
import torch

from pymic_paseg.config import ConfigError
from pymic_paseg.losses import (SizeConstraintLoss, multiview_crf_loss, partial_ce_loss,
                                partial_dice_loss, variance_minimization_loss)
from pymic_paseg.objectives.stage1 import Stage1Objective, Stage1Settings


def hand_ramp(t, start, end, mode):
    """r(t) of the original code, written out (no PyMIC)."""
    if end <= start:
        return 1.0 if t >= start else 0.0
    x = (min(max(t, start), end) - start) / (end - start)
    return {"linear": x, "sigmoid": math.exp(-5.0 * (1.0 - x) ** 2),
            "cosine": 0.5 * (math.cos(math.pi * (1.0 - x)) + 1.0)}[mode]


def make_batch(valid_mask=False, seed=0):
    g = torch.Generator().manual_seed(seed)
    shape = (2, 1, 4, 6, 6)
    image = torch.randn(shape, generator=g, dtype=torch.float64)
    logits = torch.randn((2, 2) + shape[2:], generator=g, dtype=torch.float64)
    label = torch.randint(0, 3, (2,) + shape[2:], generator=g)           # 2 = unlabeled
    label[:, 0, 0, :2] = 1                                               # both classes present
    label[:, 0, 1, :2] = 0
    target = torch.stack([(label == 0), (label == 1)], 1).to(torch.float64)
    weight = (label < 2).to(torch.float64).unsqueeze(1)
    batch = {"image": image, "label_prob": target, "pixel_weight": weight, "data": {}}
    mask = None
    if valid_mask:  # ValidRegionMask puts Ω_M in channel 1 of the label
        mask = torch.ones(shape, dtype=torch.bool)
        mask[..., :2] = False
        batch["data"]["label"] = torch.cat([label.unsqueeze(1).double(), mask.double()], 1)
    return batch, logits, mask


def hand_objective(batch, logits, mask, t, *, alpha, beta, start, end, mode, psup):
    """Eq. 11 from the pure loss functions, composed by hand."""
    probs = torch.softmax(logits, 1)
    target, weight, image = batch["label_prob"], batch["pixel_weight"], batch["image"]
    pce = partial_ce_loss(logits, target, weight, from_logits=True)
    pdice = partial_dice_loss(probs, target, weight)
    crf = multiview_crf_loss(probs, image)                  # the loss's defaults: r 5, 6, 0.1
    vm = variance_minimization_loss(probs, image, mask)
    w = {"mean": 0.5, "sum": 1.0}[psup]
    r = hand_ramp(t, start, end, mode)
    return w * (pce + pdice) + r * (alpha * crf + beta * vm), {"pce": pce, "pdice": pdice,
                                                               "crf": crf, "vm": vm}


@pytest.mark.parametrize("mode", ["sigmoid", "linear", "cosine"])
@pytest.mark.parametrize("psup", ["mean", "sum"])
def test_eq11_with_the_ramp_matches_a_hand_computation(mode, psup):
    batch, logits, mask = make_batch(valid_mask=True)
    settings = Stage1Settings(alpha=1.0, beta=0.1, rampup_start=10, rampup_end=50,
                              rampup_mode=mode, psup=psup)
    objective = Stage1Objective(settings, {})
    for t in (0, 10, 23, 30, 49, 50, 400):
        expected, terms = hand_objective(batch, logits, mask, t, alpha=1.0, beta=0.1,
                                         start=10, end=50, mode=mode, psup=psup)
        got = objective(batch, logits, t)
        assert set(got) == {"loss", "pce", "pdice", "crf", "vm"}
        for name, value in terms.items():
            assert float(got[name]) == pytest.approx(float(value), rel=1e-10), (t, name)
        assert float(got["loss"]) == pytest.approx(float(expected), rel=1e-10), t
        weights = objective.weights(t)
        r = hand_ramp(t, 10, 50, mode)
        assert weights == pytest.approx({"pce": 0.5 if psup == "mean" else 1.0,
                                         "pdice": 0.5 if psup == "mean" else 1.0,
                                         "crf": r, "vm": 0.1 * r})
    assert objective.weights(0)["crf"] < objective.weights(30)["crf"] < 1.0
    assert objective.weights(50)["crf"] == 1.0


def test_sum_is_twice_mean_for_the_partial_supervision_alone():
    batch, logits, _ = make_batch()
    mean = Stage1Objective(Stage1Settings(alpha=0, beta=0, psup="mean"), {})
    total = Stage1Objective(Stage1Settings(alpha=0, beta=0, psup="sum"), {})
    assert set(mean(batch, logits, 0)) == {"loss", "pce", "pdice"}
    assert float(total(batch, logits, 0)["loss"]) == \
        pytest.approx(2 * float(mean(batch, logits, 0)["loss"]), rel=1e-12)


def test_the_valid_region_of_the_label_reaches_the_variance_term():
    batch, logits, mask = make_batch(valid_mask=True)
    objective = Stage1Objective(Stage1Settings(alpha=0, beta=1.0), {})
    probs = torch.softmax(logits, 1)
    vm = float(objective.terms(batch, logits)["vm"])
    assert vm == pytest.approx(float(variance_minimization_loss(probs, batch["image"], mask)))
    assert vm != pytest.approx(float(variance_minimization_loss(probs, batch["image"])))


def test_extra_losses_are_ramped_with_their_own_weights():
    batch, logits, _ = make_batch()
    settings = Stage1Settings(alpha=0, beta=0, rampup_start=0, rampup_end=10,
                              rampup_mode="linear", extra=(("SizeConstraintLoss", 0.01),))
    objective = Stage1Objective(settings, {})
    got = objective(batch, logits, 4)
    size = float(SizeConstraintLoss({})({"prediction": logits, "ground_truth": batch["label_prob"],
                                         "pixel_weight": batch["pixel_weight"]}))
    assert float(got["SizeConstraintLoss"]) == pytest.approx(size)
    assert objective.weights(4)["SizeConstraintLoss"] == pytest.approx(0.004)
    expected = 0.5 * float(got["pce"] + got["pdice"]) + 0.004 * size
    assert float(got["loss"]) == pytest.approx(expected, rel=1e-10)


def config(**wsl):
    return {"weakly_supervised_learning": {k: str(v) for k, v in wsl.items()},
            "training": {}}


def test_from_config_reads_the_keys_and_defaults_the_ramp_to_a_tenth_of_training():
    objective = Stage1Objective.from_config(config(alpha=0.5, psup="sum"), iter_max=200)
    s = objective.settings
    assert (s.alpha, s.beta, s.rampup_start, s.rampup_end, s.rampup_mode, s.psup) == \
        (0.5, 0.1, 0, 20, "sigmoid", "sum")
    assert set(objective.losses) == {"pce", "pdice", "crf", "vm"}
    assert set(Stage1Objective.from_config(config(alpha=0, beta=0), 10).losses) == \
        {"pce", "pdice"}


@pytest.mark.parametrize("wsl, message", [
    ({"alpha": -1}, "[weakly_supervised_learning] alpha = -1: must be a number >= 0"),
    ({"rampup_start": 5, "rampup_end": 2}, "[weakly_supervised_learning] rampup_end = 2"),
    ({"psup": "avg"}, "psup"),
    ({"extra_losses": "[SizeConstrainLoss]"}, "Did you mean 'SizeConstraintLoss'"),
    ({"extra_losses": "[TightnessPriorLoss, TightnessPriorLoss]"},
     "lists TightnessPriorLoss twice"),
    ({"extra_losses": "[TightnessPriorLoss]", "extra_weights": "[1, 2]"}, "extra_weights"),
])
def test_config_errors_name_the_key(wsl, message):
    with pytest.raises(ConfigError) as err:
        Stage1Objective.from_config(config(**wsl), iter_max=100)
    assert message in str(err.value)


def test_missing_section_and_missing_partial_labels_are_clear_errors():
    with pytest.raises(ConfigError, match=r"\[weakly_supervised_learning\] section is missing"):
        Stage1Objective.from_config({"training": {}}, iter_max=10)
    batch, logits, _ = make_batch()
    del batch["pixel_weight"]
    with pytest.raises(ValueError, match="PartialLabelToProbability"):
        Stage1Objective(Stage1Settings(), {})(batch, logits, 0)
