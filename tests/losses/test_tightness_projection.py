"""The tightness prior's max-projection mode (the PA-Seg authors' DTP) against explicit masks."""
import pytest
import torch

from pymic_paseg.config import ConfigError
from pymic_paseg.losses import TightnessPriorLoss, tightness_prior_loss


def reference(probs, box, width, penalty):
    """Loop version of the authors' TightnessPrior (all items, our band edges): for each
    axis, max-project q and the box, draw bands of `width` lines across the 2D box."""
    total = 0.0
    for n in range(probs.shape[0]):
        q = probs[n, 1:].sum(0)
        for dim in range(3):
            q2 = q.amax(dim=dim)
            b2 = box[n, 0].amax(dim=dim)
            xs, ys = torch.nonzero(b2, as_tuple=True)
            if len(xs) == 0:
                continue
            lo, hi = [xs.min().item(), ys.min().item()], [xs.max().item(), ys.max().item()]
            for axis in range(2):
                start = lo[axis]
                while start <= hi[axis]:
                    stop = min(start + width - 1, hi[axis])
                    mask = torch.zeros_like(q2)
                    if axis == 0:
                        mask[start:stop + 1, lo[1]:hi[1] + 1] = 1
                    else:
                        mask[lo[0]:hi[0] + 1, start:stop + 1] = 1
                    z = (stop - start + 1) - (q2 * mask).sum()
                    total = total + (torch.relu(z) if penalty == "hinge" else torch.relu(z) ** 2)
                    start += width
    return total


def _case(seed, shape=(2, 2, 9, 11, 13)):
    g = torch.Generator().manual_seed(seed)
    logits = 2 * torch.randn(shape, generator=g, dtype=torch.float64)
    logits[:, 1] -= 10                      # mostly background: some bands are violated
    probs = torch.softmax(logits, 1)
    box = torch.zeros((shape[0], 1) + shape[2:], dtype=torch.bool)
    box[0, 0, 1:8, 2:10, 3:12] = True
    box[1, 0, 0:4, 5:11, 0:13] = True
    return probs, box


@pytest.mark.parametrize("width", [1, 3, 10])
@pytest.mark.parametrize("penalty", ["hinge", "squared_hinge"])
def test_max_projection_matches_explicit_masks(width, penalty):
    probs, box = _case(width)
    got = tightness_prior_loss(probs, box, band_width=width, penalty=penalty,
                               mode="max_projection")
    want = reference(probs, box, width, penalty)
    assert got.item() == pytest.approx(float(want), rel=1e-10)
    assert got.item() > 0
    slices = tightness_prior_loss(probs, box, band_width=width, penalty=penalty)
    assert abs(slices.item() - got.item()) > 1e-6   # the two modes differ here


def test_max_projection_of_a_tight_object_is_zero_and_grad_flows():
    probs = torch.zeros(1, 2, 8, 8, 8, dtype=torch.float64)
    probs[:, 0] = 1
    probs[0, :, 2:6, 1:7, 3:5] = torch.tensor([0.0, 1.0], dtype=torch.float64)[:, None, None, None]
    box = probs[:, 1:] > 0.5
    assert tightness_prior_loss(probs, box, band_width=10, penalty="hinge",
                                mode="max_projection").item() == 0
    logits = torch.randn(1, 2, 6, 7, 8, dtype=torch.float64, requires_grad=True)
    box = torch.ones(1, 1, 6, 7, 8, dtype=torch.bool)
    shift = torch.tensor([0.0, -10.0], dtype=torch.float64)[None, :, None, None, None]
    loss = tightness_prior_loss(torch.softmax(logits + shift, 1), box, band_width=2,
                                penalty="hinge",
                                mode="max_projection")
    loss.backward()
    assert logits.grad.abs().sum() > 0


def test_max_projection_errors_and_config():
    with pytest.raises(ValueError, match="max_projection needs a 3D input"):
        tightness_prior_loss(torch.full((1, 2, 4, 4), 0.5), torch.ones(1, 1, 4, 4),
                             mode="max_projection")
    with pytest.raises(ValueError, match="Did you mean 'max_projection'"):
        tightness_prior_loss(torch.full((1, 2, 4, 4, 4), 0.5), torch.ones(1, 1, 4, 4, 4),
                             mode="max_projektion")
    loss = TightnessPriorLoss({"tightnesspriorloss_mode": "max_projection",
                               "tightnesspriorloss_penalty": "hinge",
                               "tightnesspriorloss_band_width": 10})
    probs, box = _case(5)
    got = loss({"prediction": probs.log(), "box_mask": box})
    assert got.item() == pytest.approx(float(reference(probs, box, 10, "hinge")), rel=1e-10)
    with pytest.raises(ConfigError, match="TightnessPriorLoss_mode"):
        TightnessPriorLoss({"tightnesspriorloss_mode": "projection"})
