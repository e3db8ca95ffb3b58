"""Deep tightness prior (Kervadec et al. 2020): hand values, loop reference, box, config."""
import math

import pytest
import torch

from pymic_paseg.config import ConfigError
from pymic_paseg.losses import TightnessPriorLoss, tightness_prior_loss
from pymic_paseg.losses.tightness_prior import bounding_box, box_from_label, \
    log_barrier_extension


def _psi(z, t, penalty):
    """The reference's scalar penalty (BoxPrior.barrier) or the squared hinge."""
    if penalty == "squared_hinge":
        return max(0.0, z) ** 2
    if z <= -1 / t ** 2:
        return -math.log(-z) / t
    return t * z - math.log(1 / t ** 2) / t + 1 / t


def _loop_reference(probs, box, d, t, penalty, axes=None):
    """Independent reference: explicit Python loops over items, axes, bands, voxels."""
    n_items, n_cls, *shape = probs.shape
    total = 0.0
    for n in range(n_items):
        coords = torch.nonzero(box[n, 0]).tolist()
        if not coords:
            continue
        lo = [min(c[k] for c in coords) for k in range(len(shape))]
        hi = [max(c[k] for c in coords) for k in range(len(shape))]
        fg = probs[n, 1:].sum(0)
        for k in (range(len(shape)) if axes is None else axes):
            for start in range(lo[k], hi[k] + 1, d):
                width = min(d, hi[k] + 1 - start)
                s = 0.0
                for idx in torch.cartesian_prod(*[torch.arange(m) for m in shape]).tolist():
                    idx = idx if isinstance(idx, list) else [idx]
                    if all(lo[j] <= idx[j] <= hi[j] for j in range(len(shape))) \
                            and start <= idx[k] < start + width:
                        s += fg[tuple(idx)].item()
                total += _psi(width - s, t, penalty)
    return total


def _box_2d(fg_inside):
    """1 x 2 x 4 x 6 probs; box rows 1..3 (extent 3), cols 1..4 (extent 4)."""
    fg = torch.zeros(4, 6, dtype=torch.float64)
    fg[1:4, 1:5] = fg_inside
    box = torch.zeros(1, 1, 4, 6, dtype=torch.bool)
    box[..., 1:4, 1:5] = True
    return torch.stack([1 - fg, fg]).unsqueeze(0), box


def test_hand_computed_values_uniform_box():
    # d = 2: y-bands rows {1,2} (w 2) and {3} (w 1); x-bands cols {1,2} and {3,4} (w 2)
    probs, box = _box_2d(0.2)
    sums, widths = [1.6, 0.8, 1.2, 1.2], [2, 1, 2, 2]
    hinge = tightness_prior_loss(probs, box, band_width=2, penalty="squared_hinge")
    assert hinge.item() == pytest.approx(0.4 ** 2 + 0.2 ** 2 + 2 * 0.8 ** 2, rel=1e-12)
    barrier = tightness_prior_loss(probs, box, band_width=2, t=5.0)
    # every z = w - sum > -1/t^2: linear part t z + 2 log(t)/t + 1/t
    want = sum(5 * (w - s) + 2 * math.log(5) / 5 + 0.2 for s, w in zip(sums, widths))
    assert barrier.item() == pytest.approx(want, rel=1e-12)


def test_one_deficient_band_and_perfect_filling():
    probs, box = _box_2d(1.0)
    assert tightness_prior_loss(probs, box, band_width=2, penalty="squared_hinge").item() == 0
    # log-barrier on satisfied bands: z = 2-8, 1-4, 2-6, 2-6 -> -log(-z)/t (negative)
    want = -(math.log(6) + math.log(3) + 2 * math.log(4)) / 5
    assert tightness_prior_loss(probs, box, band_width=2).item() == pytest.approx(want, rel=1e-12)
    probs[0, 1, 3, 1:5] = 0.2                                       # row 3 sums to 0.8 < 1
    probs[0, 0] = 1 - probs[0, 1]
    hinge = tightness_prior_loss(probs, box, band_width=2, penalty="squared_hinge")
    assert hinge.item() == pytest.approx(0.2 ** 2, rel=1e-12)


def test_log_barrier_extension_is_continuous_c1():
    t = 3.0
    z = torch.tensor([-1 / t ** 2 - 1e-9, -1 / t ** 2 + 1e-9], dtype=torch.float64,
                     requires_grad=True)
    out = log_barrier_extension(z, t)
    out.sum().backward()
    assert out[0].item() == pytest.approx(out[1].item(), abs=1e-7)
    assert z.grad.tolist() == pytest.approx([t, t], rel=1e-6)
    assert log_barrier_extension(torch.tensor([-2.0, 0.0, 1.0]), 5.0).isfinite().all()


@pytest.mark.parametrize("penalty", ["log_barrier", "squared_hinge"])
@pytest.mark.parametrize("d", [1, 2, 3])
def test_3d_batch_matches_loop_reference(penalty, d):
    g = torch.Generator().manual_seed(d)
    probs = torch.softmax(torch.randn(3, 3, 4, 5, 6, generator=g, dtype=torch.float64), 1)
    box = torch.zeros(3, 1, 4, 5, 6, dtype=torch.bool)
    box[0, 0, 1:4, 0:4, 2:6] = True
    box[1, 0, 2, 3, 1] = box[1, 0, 0, 1, 4] = True                 # bounding box of 2 voxels
    got = tightness_prior_loss(probs, box, band_width=d, t=2.0, penalty=penalty)
    want = _loop_reference(probs, box, d, 2.0, penalty)             # item 2: empty box
    assert got.item() == pytest.approx(want, rel=1e-10)
    sub = tightness_prior_loss(probs, box, band_width=d, t=2.0, penalty=penalty,
                               axes=["x", "z"])
    assert sub.item() == pytest.approx(_loop_reference(probs, box, d, 2.0, penalty, [2, 0]),
                                       rel=1e-10)


def test_outside_box_is_ignored_and_gradcheck():
    g = torch.Generator().manual_seed(5)
    logits = torch.randn(2, 2, 5, 6, generator=g, dtype=torch.float64, requires_grad=True)
    box = torch.zeros(2, 1, 5, 6, dtype=torch.bool)
    box[0, 0, 1:4, 2:5] = True
    box[1, 0, 0:5, 0:2] = True
    loss = tightness_prior_loss(torch.softmax(logits, 1), box, band_width=2, t=4.0)
    loss.backward()
    assert torch.all(logits.grad * (~box) == 0)
    probs = (0.05 + 0.3 * torch.rand(2, 3, 5, 6, generator=g, dtype=torch.float64)
             ).requires_grad_(True)                                 # C = 3: fg = p1 + p2
    for penalty in ("log_barrier", "squared_hinge"):
        assert torch.autograd.gradcheck(
            lambda x: tightness_prior_loss(x, box, band_width=2, t=4.0, penalty=penalty),
            (probs,))


def _partial_label():
    """2D 6 x 7: background labelled outside rows 1..4 x cols 1..5 and at (1, 1) (outside
    Omega_M); expanded foreground seed at (2, 3), (3, 3); unlabeled elsewhere."""
    label = torch.zeros(1, 6, 7, dtype=torch.long)
    label[0, 1:5, 1:6] = 2
    label[0, 1, 1] = 0
    label[0, 2:4, 3] = 1
    target = torch.nn.functional.one_hot(label, 3)[..., :2].movedim(-1, 1).float()
    return target, (label < 2).float().unsqueeze(1)


def test_box_from_partial_label_convention():
    target, weight = _partial_label()
    box = box_from_label(target, weight)
    assert box.shape == (1, 1, 6, 7) and box.sum().item() == 4 * 5 - 1
    lo, hi = bounding_box(box)
    assert lo.tolist() == [[1, 1]] and hi.tolist() == [[4, 5]]
    assert torch.equal(box_from_label(target), box)                 # all-zero one-hot = unlabeled
    empty_lo, empty_hi = bounding_box(torch.zeros(1, 1, 3, 3))
    assert empty_lo.tolist() == [[0, 0]] and empty_hi.tolist() == [[-1, -1]]


def test_wrapper_reads_partial_label_or_box_mask():
    target, weight = _partial_label()
    g = torch.Generator().manual_seed(2)
    logits = torch.randn(1, 2, 6, 7, generator=g, dtype=torch.float64)
    box = torch.zeros(1, 1, 6, 7, dtype=torch.bool)
    box[..., 1:5, 1:6] = True
    loss = TightnessPriorLoss({"TightnessPriorLoss_band_width": 3})
    want = tightness_prior_loss(torch.softmax(logits, 1), box, band_width=3, t=5.0)
    got = loss({"prediction": logits, "ground_truth": target, "pixel_weight": weight})
    assert got.item() == pytest.approx(want.item(), rel=1e-12)
    other = torch.zeros_like(box)
    other[..., 0:2, 0:2] = True
    got = loss({"prediction": [logits], "ground_truth": target, "box_mask": other})
    want = tightness_prior_loss(torch.softmax(logits, 1), other, band_width=3)
    assert got.item() == pytest.approx(want.item(), rel=1e-12)


def test_wrapper_config_values_are_used():
    probs, box = _box_2d(0.2)
    loss = TightnessPriorLoss({"loss_acti_func": None, "TightnessPriorLoss_band_width": "2",
                               "TightnessPriorLoss_axes": "Y", "TightnessPriorLoss_t": "1.5e0",
                               "TightnessPriorLoss_penalty": "squared_hinge"})
    assert loss.axes == ["y"] and loss.t == 1.5
    got = loss({"prediction": probs, "box_mask": box})
    assert got.item() == pytest.approx(0.4 ** 2 + 0.2 ** 2, rel=1e-12)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"probs": torch.zeros(1, 2, 4)}, ValueError, "probs: expected a 4D or 5D"),
    ({"probs": torch.zeros(1, 1, 4, 4)}, ValueError, "expected C >= 2"),
    ({"box_mask": torch.ones(1, 2, 4, 6)}, ValueError,
     r"box_mask: expected shape \(1, 1, 4, 6\) \(N x 1 x spatial\). Got: \(1, 2, 4, 6\)"),
    ({"band_width": 0}, ValueError, "band_width: expected an integer >= 1. Got: 0"),
    ({"band_width": 2.0}, ValueError, "band_width: expected an integer >= 1. Got: 2.0"),
    ({"t": -1.0}, ValueError, "t: expected a finite number > 0. Got: -1.0"),
    ({"axes": ["z"]}, ValueError, r"axes: \['z'\] not in a 2D input"),
    ({"axes": ["y", "y"]}, ValueError, "each axis at most once"),
    ({"axes": ["w"]}, ConfigError, "axes = 'w': unknown name"),
    ({"penalty": "squared_hing"}, ConfigError, "Did you mean 'squared_hinge'"),
])
def test_bad_inputs(kwargs, error, match):
    probs, box = _box_2d(0.5)
    args = {"probs": probs, "box_mask": box, **kwargs}
    with pytest.raises(error, match=match):
        tightness_prior_loss(args.pop("probs"), args.pop("box_mask"), **args)


@pytest.mark.parametrize("params, match", [
    ({"TightnessPriorLoss_band_width": 0},
     r"\[training\] TightnessPriorLoss_band_width = 0: must be an integer >= 1"),
    ({"TightnessPriorLoss_band_width": "2.5"},
     r"\[training\] TightnessPriorLoss_band_width = 2.5: must be an integer >= 1"),
    ({"TightnessPriorLoss_t": "-1"},
     r"\[training\] TightnessPriorLoss_t = -1: must be a number > 0"),
    ({"TightnessPriorLoss_t": "nan"}, r"TightnessPriorLoss_t = nan: must be a number > 0"),
    ({"TightnessPriorLoss_axes": "z, q"}, r"TightnessPriorLoss_axes = 'q': unknown name"),
    ({"TightnessPriorLoss_axes": ["x", "x"]}, "must list each axis at most once"),
    ({"TightnessPriorLoss_penalty": "log_barier"}, "Did you mean 'log_barrier'"),
    ({"TightnessPriorLoss_bandwidth": 3},
     "unknown key. Did you mean 'tightnesspriorloss_band_width'"),
])
def test_bad_config(params, match):
    with pytest.raises(ConfigError, match=match):
        TightnessPriorLoss(params)


def test_missing_inputs():
    with pytest.raises(KeyError, match="neither 'box_mask' nor 'ground_truth'"):
        TightnessPriorLoss({})({"prediction": torch.zeros(1, 2, 3, 3)})
