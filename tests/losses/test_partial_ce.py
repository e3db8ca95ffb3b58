"""Partial cross-entropy (eq. 4): hand values, PyMIC agreement, masking, gradients."""
import math

import pytest
import torch
from pymic.loss.seg.ce import CrossEntropyLoss

from pymic_paseg.config import ConfigError
from pymic_paseg.losses import PartialCELoss, partial_ce_loss


def _tiny():
    """N=1, C=2, 1 x 4 pixels: fg probs .9 .2 .6 .5; labels fg, bg, fg, unlabeled."""
    fg = torch.tensor([0.9, 0.2, 0.6, 0.5], dtype=torch.float64)
    probs = torch.stack([1 - fg, fg]).reshape(1, 2, 1, 4)
    target = torch.tensor([[0, 1, 0, 0], [1, 0, 1, 0]], dtype=torch.float64).reshape(1, 2, 1, 4)
    weight = torch.tensor([1, 1, 1, 0], dtype=torch.float64).reshape(1, 1, 1, 4)
    return probs, target, weight


def _random(shape=(2, 3, 3, 4, 5), seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(shape, generator=g, dtype=dtype)
    labels = torch.randint(0, shape[1], (shape[0],) + shape[2:], generator=g)
    target = torch.nn.functional.one_hot(labels, shape[1]).movedim(-1, 1).to(dtype)
    weight = (torch.rand((shape[0], 1) + shape[2:], generator=g) > 0.6).to(dtype)
    return logits, target * weight, weight


def test_hand_computed_value():
    probs, target, weight = _tiny()
    expected = -(math.log(0.9) + math.log(0.8) + math.log(0.6)) / 3
    assert partial_ce_loss(probs, target, weight).item() == pytest.approx(expected, rel=1e-12)


def test_agrees_with_pymic_cross_entropy_with_pixel_weight():
    logits, target, weight = _random()
    ours = PartialCELoss({})({"prediction": logits, "ground_truth": target,
                               "pixel_weight": weight})
    pymic = CrossEntropyLoss({})({"prediction": logits, "ground_truth": target,
                                  "pixel_weight": weight})
    assert ours.item() == pytest.approx(pymic.item(), rel=1e-9)


def test_logits_path_equals_probability_path():
    logits, target, weight = _random(seed=1)
    a = partial_ce_loss(logits, target, weight, from_logits=True)
    b = partial_ce_loss(torch.softmax(logits, 1), target, weight)
    assert a.item() == pytest.approx(b.item(), rel=1e-12)


def test_unlabeled_voxels_are_ignored():
    logits, target, weight = _random(seed=2)
    logits.requires_grad_(True)
    loss = partial_ce_loss(logits, target, weight, from_logits=True)
    loss.backward()
    assert torch.all(logits.grad * (1 - weight) == 0)
    changed = logits.detach() + 7.0 * torch.randn_like(logits) * (1 - weight)
    assert partial_ce_loss(changed, target, weight, from_logits=True).item() == \
        pytest.approx(loss.item(), rel=1e-12)


def test_zero_probability_on_unlabeled_voxel_stays_finite():
    probs, target, weight = _tiny()
    probs = probs.clone()
    probs[0, :, 0, 3] = torch.tensor([0.0, 1.0])        # unlabeled voxel, p_bg = 0
    probs.requires_grad_(True)
    loss = partial_ce_loss(probs, target, weight)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(probs.grad).all()


def test_no_labeled_voxel_gives_zero():
    logits, target, weight = _random(seed=3)
    logits.requires_grad_(True)
    loss = partial_ce_loss(logits, target * 0, weight * 0, from_logits=True)
    loss.backward()
    assert loss.item() == 0.0 and torch.all(logits.grad == 0)


def test_gradcheck():
    logits, target, weight = _random(shape=(1, 2, 2, 3, 2), seed=4)
    logits.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda z: partial_ce_loss(z, target, weight, from_logits=True), (logits,))
    probs = torch.softmax(logits.detach(), 1).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda p: partial_ce_loss(p, target, weight), (probs,))


def test_wrapper_deep_supervision_and_no_activation():
    probs, target, weight = _tiny()
    loss = PartialCELoss({"loss_acti_func": None})(
        {"prediction": [probs, probs[..., :2]], "ground_truth": target, "pixel_weight": weight})
    assert loss.item() == pytest.approx(partial_ce_loss(probs, target, weight).item())


def test_errors():
    probs, target, weight = _tiny()
    with pytest.raises(ValueError,
                       match=r"target: expected the shape of pred .*Got: \(1, 2, 1, 3\)"):
        partial_ce_loss(probs, target[..., :3], weight)
    with pytest.raises(ValueError, match=r"weight: expected shape \(1, 1, 1, 4\).*Got"):
        partial_ce_loss(probs, target, weight.repeat(1, 2, 1, 1))
    with pytest.raises(ValueError, match="expected a 4D or 5D tensor"):
        partial_ce_loss(probs[0], target[0], None)
    with pytest.raises(TypeError, match="expected a torch.Tensor"):
        partial_ce_loss(probs.numpy(), target, weight)
    with pytest.raises(ConfigError, match="partialceloss_weight: unknown key"):
        PartialCELoss({"partialceloss_weight": 1})
    with pytest.raises(ConfigError, match="loss_acti_func = 'tanh': unknown name"):
        PartialCELoss({"loss_acti_func": "tanh"})
