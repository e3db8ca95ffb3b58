"""Partial Dice (eq. 5, squared denominator): hand values, PyMIC agreement, masking."""
import pytest
import torch
from pymic.loss.seg.dice import DiceLoss

from pymic_paseg.config import ConfigError
from pymic_paseg.losses import PartialDiceLoss, partial_dice_loss


def _tiny():
    fg = torch.tensor([0.9, 0.2, 0.6, 0.5], dtype=torch.float64)
    probs = torch.stack([1 - fg, fg]).reshape(1, 2, 1, 4)
    target = torch.tensor([[0, 1, 0, 0], [1, 0, 1, 0]], dtype=torch.float64).reshape(1, 2, 1, 4)
    weight = torch.tensor([1, 1, 1, 0], dtype=torch.float64).reshape(1, 1, 1, 4)
    return probs, target, weight


def test_hand_computed_value_is_eq5():
    probs, target, weight = _tiny()
    # eq. 5 over the three labeled pixels: 1 - 2(.9 + .6) / ((.81 + .04 + .36) + 2)
    expected = 1 - 2 * 1.5 / (1.21 + 2.0)
    assert partial_dice_loss(probs, target, weight).item() == pytest.approx(expected, rel=1e-12)


def test_include_background_and_multiclass_mean():
    probs, target, weight = _tiny()
    bg = 1 - 2 * (0.8) / ((0.01 + 0.64 + 0.16) + 1.0)
    fg = 1 - 2 * 1.5 / (1.21 + 2.0)
    got = partial_dice_loss(probs, target, weight, include_background=True)
    assert got.item() == pytest.approx((bg + fg) / 2, rel=1e-12)
    # three classes: the default averages classes 1 and 2
    p3 = torch.tensor([[0.2, 0.5], [0.5, 0.1], [0.3, 0.4]], dtype=torch.float64).reshape(1, 3, 1, 2)
    q3 = torch.tensor([[0, 0], [1, 0], [0, 1]], dtype=torch.float64).reshape(1, 3, 1, 2)
    c1 = 1 - 2 * 0.5 / (0.25 + 0.01 + 1)
    c2 = 1 - 2 * 0.4 / (0.09 + 0.16 + 1)
    assert partial_dice_loss(p3, q3).item() == pytest.approx((c1 + c2) / 2, rel=1e-12)


def test_agrees_with_pymic_dice_for_binary_predictions():
    # squared and plain denominators coincide for p in {0, 1}
    g = torch.Generator().manual_seed(0)
    pred = torch.nn.functional.one_hot(torch.randint(0, 3, (1, 4, 5, 6), generator=g), 3)
    pred = pred.movedim(-1, 1).double()
    target = torch.nn.functional.one_hot(torch.randint(0, 3, (1, 4, 5, 6), generator=g), 3)
    target = target.movedim(-1, 1).double()
    weight = (torch.rand((1, 1, 4, 5, 6), generator=g) > 0.5).double()
    ours = PartialDiceLoss({"loss_acti_func": None, "partialdiceloss_include_background": True})(
        {"prediction": pred, "ground_truth": target * weight, "pixel_weight": weight})
    pymic = DiceLoss({"loss_acti_func": None})(
        {"prediction": pred, "ground_truth": target * weight, "pixel_weight": weight})
    assert ours.item() == pytest.approx(pymic.item(), abs=1e-5)


def test_unlabeled_voxels_are_ignored_and_items_without_labels_skipped():
    g = torch.Generator().manual_seed(1)
    probs = torch.softmax(torch.randn(2, 2, 3, 4, 5, generator=g, dtype=torch.float64), 1)
    target = torch.nn.functional.one_hot(torch.randint(0, 2, (2, 3, 4, 5), generator=g), 2)
    target = target.movedim(-1, 1).double()
    weight = (torch.rand(2, 1, 3, 4, 5, generator=g) > 0.5).double()
    weight[1] = 0                                          # item 1 has no label
    loss = partial_dice_loss(probs, target, weight)
    alone = partial_dice_loss(probs[:1], target[:1], weight[:1])
    assert loss.item() == pytest.approx(alone.item(), rel=1e-12)
    other = probs.clone()
    other[:, 1] = torch.where(weight[:, 0] > 0, probs[:, 1], torch.rand_like(probs[:, 1]))
    assert partial_dice_loss(other, target, weight).item() == pytest.approx(loss.item())


def test_degenerate_cases_are_finite():
    probs, target, weight = _tiny()
    assert partial_dice_loss(probs, target, weight * 0).item() == 0.0
    empty = torch.zeros_like(probs)                        # class absent, predicted 0
    assert partial_dice_loss(empty, empty, weight).item() == 0.0


def test_gradcheck():
    g = torch.Generator().manual_seed(2)
    probs = torch.rand(2, 3, 2, 3, 2, generator=g, dtype=torch.float64, requires_grad=True)
    target = torch.nn.functional.one_hot(torch.randint(0, 3, (2, 2, 3, 2), generator=g), 3)
    target = target.movedim(-1, 1).double()
    weight = (torch.rand(2, 1, 2, 3, 2, generator=g) > 0.3).double()
    assert torch.autograd.gradcheck(lambda p: partial_dice_loss(p, target, weight), (probs,))


def test_errors():
    probs, target, weight = _tiny()
    with pytest.raises(ValueError, match=r"target: expected the shape of probs"):
        partial_dice_loss(probs, target[:, :1], weight)
    with pytest.raises(ConfigError, match=r"include_background = maybe: must be true or false"):
        PartialDiceLoss({"partialdiceloss_include_background": "maybe"})
    with pytest.raises(ConfigError, match=r"Did you mean 'partialdiceloss_include_background'"):
        PartialDiceLoss({"partialdiceloss_include_backgrund": True})
