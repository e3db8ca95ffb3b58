"""Variance minimisation (eq. 9-10): hand values, Omega_M, empty masses, gradients."""
import pytest
import torch

from pymic_paseg.config import ConfigError
from pymic_paseg.losses import (MissingImageError, VarianceMinimizationLoss, valid_region,
                                variance_minimization_loss)


def _tiny():
    """1 x 5 pixels; x = 0 is the air background (outside Omega_M)."""
    x = torch.tensor([0.0, 1.0, 2.0, 4.0, 6.0], dtype=torch.float64).reshape(1, 1, 1, 5)
    fg = torch.tensor([0.3, 0.0, 0.5, 1.0, 1.0], dtype=torch.float64)
    probs = torch.stack([1 - fg, fg]).reshape(1, 2, 1, 5)
    return probs, x


def test_hand_computed_value_is_eq10():
    probs, x = _tiny()
    # Omega_M = {1, 2, 4, 6}; fg weights 0, .5, 1, 1; bg weights 1, .5, 0, 0
    u_f = (0.5 * 2 + 4 + 6) / 2.5                      # 4.4
    v_f = (0.5 * (2 - u_f) ** 2 + (4 - u_f) ** 2 + (6 - u_f) ** 2) / 2.5
    u_b = (1 + 0.5 * 2) / 1.5                          # 4/3
    v_b = ((1 - u_b) ** 2 + 0.5 * (2 - u_b) ** 2) / 1.5
    got = variance_minimization_loss(probs, x, eps=0.0)
    assert got.item() == pytest.approx(v_f + v_b, rel=1e-12)
    assert variance_minimization_loss(probs, x).item() == pytest.approx(v_f + v_b, rel=1e-6)


def test_valid_region_is_above_item_minimum():
    _, x = _tiny()
    two = torch.cat([x, x + 10]).repeat(1, 2, 1, 1)
    two[1, 1, 0, 0] = 30.0                                # second channel bright there
    mask = valid_region(two)
    assert mask.shape == (2, 1, 1, 5)
    assert mask[0, 0, 0].tolist() == [False, True, True, True, True]
    assert mask[1, 0, 0].tolist() == [True, True, True, True, True]
    assert valid_region(x, threshold=-1.0).all()


def test_voxels_outside_the_mask_change_nothing():
    g = torch.Generator().manual_seed(0)
    probs = torch.softmax(torch.randn(2, 3, 4, 5, 6, generator=g, dtype=torch.float64), 1)
    image = torch.rand(2, 2, 4, 5, 6, generator=g, dtype=torch.float64)
    mask = torch.rand(2, 1, 4, 5, 6, generator=g) > 0.4
    loss = variance_minimization_loss(probs, image, mask)
    image2 = torch.where(mask, image, 100 * torch.rand_like(image))
    probs2 = torch.where(mask, probs, torch.softmax(torch.randn_like(probs), 1))
    assert variance_minimization_loss(probs2, image2, mask).item() == \
        pytest.approx(loss.item(), rel=1e-12)


def test_multichannel_image_is_channel_mean_and_many_classes_sum():
    g = torch.Generator().manual_seed(1)
    probs = torch.softmax(torch.randn(1, 3, 3, 4, 5, generator=g, dtype=torch.float64), 1)
    image = torch.rand(1, 2, 3, 4, 5, generator=g, dtype=torch.float64) + 1
    mask = torch.ones(1, 1, 3, 4, 5, dtype=torch.bool)
    both = variance_minimization_loss(probs, image, mask, eps=0.0)
    per = [variance_minimization_loss(probs, image[:, k:k + 1], mask, eps=0.0) for k in range(2)]
    assert both.item() == pytest.approx(sum(per).item() / 2, rel=1e-12)
    p, x = probs[0].reshape(3, -1), image[0, 0].reshape(-1)
    want = sum((p[c] * (x - (p[c] * x).sum() / p[c].sum()) ** 2).sum() / p[c].sum()
               for c in range(3))
    assert per[0].item() == pytest.approx(want.item(), rel=1e-12)


@pytest.mark.parametrize("case", ["fg_empty", "mask_empty"])
def test_empty_mass_is_finite(case):
    probs, x = _tiny()
    if case == "fg_empty":
        probs = torch.stack([torch.ones(5), torch.zeros(5)]).double().reshape(1, 2, 1, 5)
        mask = None
    else:
        mask = torch.zeros(1, 1, 1, 5, dtype=torch.bool)
    probs = probs.clone().requires_grad_(True)
    loss = variance_minimization_loss(probs, x, mask)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(probs.grad).all()
    logits = torch.tensor([[30.0] * 5, [-90.0] * 5], requires_grad=True).reshape(1, 2, 1, 5)
    loss = variance_minimization_loss(torch.softmax(logits, 1), x.float(), mask)
    loss.backward()
    assert torch.isfinite(loss)


def test_gradcheck():
    g = torch.Generator().manual_seed(2)
    probs = torch.rand(2, 3, 2, 3, 4, generator=g, dtype=torch.float64, requires_grad=True)
    image = torch.rand(2, 2, 2, 3, 4, generator=g, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda p: variance_minimization_loss(p, image), (probs,))


def test_wrapper_reads_valid_mask_and_threshold():
    probs, x = _tiny()
    loss = VarianceMinimizationLoss({"loss_acti_func": None,
                                     "varianceminimizationloss_mask_threshold": "1.5e0"})
    got = loss({"prediction": probs, "image": x})
    assert got.item() == pytest.approx(
        variance_minimization_loss(probs, x, x > 1.5).item(), rel=1e-12)
    mask = torch.ones_like(x, dtype=torch.bool)
    got = loss({"prediction": probs, "image": x, "valid_mask": mask})
    assert got.item() == pytest.approx(variance_minimization_loss(probs, x, mask).item())


def test_errors():
    probs, x = _tiny()
    with pytest.raises(MissingImageError, match="supervise_type = weak_sup"):
        VarianceMinimizationLoss({})({"prediction": probs})
    with pytest.raises(ValueError,
                       match=r"mask: expected shape \(1, 1, 1, 5\).*Got: \(1, 2, 1, 5\)"):
        variance_minimization_loss(probs, x, probs > 0.5)
    with pytest.raises(ValueError, match=r"image: expected shape"):
        variance_minimization_loss(probs, x[..., :4])
    with pytest.raises(ConfigError, match="mask_threshold = abc: must be a number"):
        VarianceMinimizationLoss({"varianceminimizationloss_mask_threshold": "abc"})
    with pytest.raises(ConfigError, match="Did you mean 'varianceminimizationloss_mask_threshold'"):
        VarianceMinimizationLoss({"varianceminimizationloss_threshold": 0.1})
