"""Knowledge distillation for SCM (eq. 12-13, original code's form): values, gradients, errors."""
import math

import pytest
import torch
import torch.nn.functional as F

from pymic_paseg.config import ConfigError
from pymic_paseg.losses import COMPONENTS, CrossDistillationLoss, distillation_loss


def _logits(shape=(2, 3, 3, 4, 5), seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    student = 2.0 * torch.randn(shape, generator=g, dtype=dtype)
    teacher = 2.0 * torch.randn(shape, generator=g, dtype=dtype)
    return student, teacher


def _one_voxel(student, teacher, dtype=torch.float64):
    """N=1, C=2, 1 x 1 x 1 volume from two lists of logits."""
    return (torch.tensor(student, dtype=dtype).reshape(1, 2, 1, 1, 1),
            torch.tensor(teacher, dtype=dtype).reshape(1, 2, 1, 1, 1))


def _teacher_soft_fg(t):
    """softmax([2, 0] / T)[0] by hand."""
    return math.exp(2 / t) / (math.exp(2 / t) + 1)


# ----------------------------------------------------------------- values
def test_identical_logits_give_zero():
    s, _ = _logits()
    assert distillation_loss(s, s.clone(), 4.0).item() == pytest.approx(0.0, abs=1e-14)
    s32 = s.float()
    assert distillation_loss(s32, s32.clone(), 1.5).item() == pytest.approx(0.0, abs=1e-6)


def test_hand_computed_two_classes_one_voxel():
    s, t = _one_voxel([0.0, 0.0], [2.0, 0.0])
    q = _teacher_soft_fg(2.0)                                   # softmax([1, 0])
    kl = q * math.log(q / 0.5) + (1 - q) * math.log((1 - q) / 0.5)
    expected = 2.0 ** 2 * kl                                    # T^2 factor
    assert distillation_loss(s, t, 2.0).item() == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(0.44378, abs=1e-5)         # 4 * 0.110944


def test_direction_is_kl_teacher_to_student():
    """KL(q || p), not the paper's eq. 13 KL(p || q): the two differ here."""
    s, t = _one_voxel([1.0, -1.0], [-0.5, 2.0])
    p = 1 / (1 + math.exp(-2.0))                                # student fg, T = 1
    q = 1 / (1 + math.exp(2.5))                                 # teacher fg, T = 1
    kl_qp = q * math.log(q / p) + (1 - q) * math.log((1 - q) / (1 - p))
    kl_pq = p * math.log(p / q) + (1 - p) * math.log((1 - p) / (1 - q))
    value = distillation_loss(s, t, 1.0).item()
    assert value == pytest.approx(kl_qp, rel=1e-12)
    assert abs(value - kl_pq) > 0.1


def test_higher_temperature_gives_softer_targets():
    """The gradient w.r.t. uniform student logits is T (p~ - q~): recover q~ per T."""
    fg = []
    for temp in (1.0, 2.0, 4.0, 8.0):
        s, t = _one_voxel([0.0, 0.0], [2.0, 0.0])
        s.requires_grad_(True)
        distillation_loss(s, t, temp).backward()
        q_fg = 0.5 - s.grad.flatten()[0].item() / temp
        assert q_fg == pytest.approx(_teacher_soft_fg(temp), rel=1e-12)
        fg.append(q_fg)
    assert all(a > b > 0.5 for a, b in zip(fg, fg[1:]))         # towards uniform


def test_agrees_with_kl_div_sum_over_voxels_times_t_squared():
    s, t = _logits(seed=1)
    temp = 3.0
    ref = F.kl_div(F.log_softmax(s / temp, 1), F.softmax(t / temp, 1), reduction="sum")
    ref = ref / (s.numel() / s.shape[1]) * temp ** 2
    assert distillation_loss(s, t, temp).item() == pytest.approx(ref.item(), rel=1e-12)


def test_agrees_with_original_reshape_then_batchmean_and_with_plain_formula():
    """The original flattens to (N*D*H*W) x C before 'batchmean'; also sum q log(q/p)."""
    s, t = _logits(seed=2)
    temp = 4.0
    flat = lambda z: z.permute(0, 2, 3, 4, 1).reshape(-1, z.shape[1])  # noqa: E731
    original = F.kl_div(F.log_softmax(flat(s) / temp, 1), F.softmax(flat(t) / temp, 1),
                        reduction="batchmean") * temp * temp
    p, q = torch.softmax(s / temp, 1), torch.softmax(t / temp, 1)
    plain = (q * (q.log() - p.log())).sum(1).mean() * temp ** 2
    value = distillation_loss(s, t, temp).item()
    assert value == pytest.approx(original.item(), rel=1e-12)
    assert value == pytest.approx(plain.item(), rel=1e-10)


def test_2d_input_and_weighted_mean():
    s, t = _logits(shape=(2, 4, 5, 6), seed=3)
    g = torch.Generator().manual_seed(3)
    w = torch.rand((2, 1, 5, 6), generator=g, dtype=torch.float64)
    kl = (torch.softmax(t / 2, 1) * (torch.log_softmax(t / 2, 1) - torch.log_softmax(s / 2, 1)))
    expected = (w * kl.sum(1, keepdim=True)).sum() / w.sum() * 4
    value = distillation_loss(s, t, 2.0, pixel_weight=w).item()
    assert value == pytest.approx(expected.item(), rel=1e-12)


def test_zero_pixel_weight_excludes_voxels():
    s, t = _logits(seed=4)
    w = torch.zeros(s.shape[:1] + (1,) + s.shape[2:], dtype=torch.bool)
    w[..., :2] = True                                           # keep W in {0, 1}
    s.requires_grad_(True)
    loss = distillation_loss(s, t, 4.0, pixel_weight=w)
    loss.backward()
    kept = distillation_loss(s.detach()[..., :2], t[..., :2], 4.0)
    assert loss.item() == pytest.approx(kept.item(), rel=1e-12)
    assert torch.all(s.grad[..., 2:] == 0) and s.grad[..., :2].abs().sum() > 0
    changed = s.detach().clone()
    changed[..., 2:] += 9.0 * torch.randn_like(changed[..., 2:])
    assert distillation_loss(changed, t, 4.0, pixel_weight=w).item() == \
        pytest.approx(loss.item(), rel=1e-12)
    zero = distillation_loss(s.detach(), t, 4.0, pixel_weight=w & False)
    assert zero.item() == 0.0


# -------------------------------------------------------------- gradients
def test_no_gradient_reaches_the_teacher():
    s, t = _logits(seed=5)
    s.requires_grad_(True)
    t.requires_grad_(True)
    distillation_loss(s, t, 4.0).backward()
    assert t.grad is None
    assert s.grad is not None and s.grad.abs().sum() > 0


def test_no_gradient_reaches_teacher_network_through_wrapper():
    torch.manual_seed(0)
    teacher_net = torch.nn.Conv3d(1, 2, 1)
    student_net = torch.nn.Conv3d(1, 2, 1)
    x = torch.randn(1, 1, 2, 3, 3)
    loss = CrossDistillationLoss({})({"prediction": [student_net(x)],
                                      "teacher_prediction": teacher_net(x)})
    loss.backward()
    assert all(p.grad is None for p in teacher_net.parameters())
    assert student_net.weight.grad.abs().sum() > 0


def test_gradcheck():
    s, t = _logits(shape=(1, 3, 2, 2, 3), seed=6)
    w = (torch.rand((1, 1, 2, 2, 3), dtype=torch.float64) > 0.3).double()
    s.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda z: distillation_loss(z, t, 2.5), (s,))
    assert torch.autograd.gradcheck(
        lambda z: distillation_loss(z, t, 0.7, pixel_weight=w), (s,))


def test_gradient_descent_makes_student_match_teacher():
    _, t = _logits(shape=(1, 2, 2, 4, 4), seed=7, dtype=torch.float32)
    s = torch.zeros_like(t, requires_grad=True)
    values = []
    for _ in range(30):
        loss = distillation_loss(s, t, 4.0)
        grad, = torch.autograd.grad(loss, s)
        with torch.no_grad():
            s -= 16.0 * grad                                    # the loss is a mean over 32 voxels
        values.append(loss.item())
    assert all(b < a for a, b in zip(values, values[1:]))
    assert values[-1] < 1e-3 * values[0]
    assert torch.equal(s.detach().argmax(1), t.argmax(1))


# ----------------------------------------------------------------- errors
def test_errors():
    s, t = _logits(shape=(1, 2, 3, 4), seed=8)
    with pytest.raises(ValueError, match=r"teacher_logits: expected the shape of "
                       r"student_logits \(1, 2, 3, 4\)\. Got: \(1, 2, 3, 3\)"):
        distillation_loss(s, t[..., :3])
    with pytest.raises(ValueError, match=r"student_logits: expected a 4D or 5D tensor.*"
                       r"Got: tensor of shape \(2, 3, 4\)"):
        distillation_loss(s[0], t[0])
    with pytest.raises(ValueError, match=r"expected C >= 2 classes.*Got: shape \(1, 1, 3, 4\)"):
        distillation_loss(s[:, :1], t[:, :1])
    with pytest.raises(TypeError, match=r"teacher_logits: expected the dtype of student_logits "
                       r"\(torch.float64\)\. Got: torch.float32"):
        distillation_loss(s, t.float())
    with pytest.raises(TypeError, match="teacher_logits: expected a torch.Tensor. Got: ndarray"):
        distillation_loss(s, t.numpy())
    with pytest.raises(TypeError, match="expected a floating point tensor"):
        distillation_loss(s.long(), t.long())
    for bad in (0, -1.0, float("nan"), float("inf"), True, "4"):
        with pytest.raises(ValueError, match=r"temperature: expected a finite number > 0\. "
                           r"Got: "):
            distillation_loss(s, t, bad)
    with pytest.raises(ValueError, match=r"pixel_weight: expected shape \(1, 1, 3, 4\).*Got: "
                       r"\(1, 2, 3, 4\)"):
        distillation_loss(s, t, pixel_weight=torch.ones_like(s))


# ---------------------------------------------------------------- wrapper
def test_wrapper_reads_temperature_and_defaults_to_4():
    s, t = _logits(seed=9)
    assert CrossDistillationLoss({}).temperature == 4.0
    assert CrossDistillationLoss(None).temperature == 4.0
    loss_fn = CrossDistillationLoss({"crossdistillationloss_temperature": "2.5"})
    assert loss_fn.temperature == 2.5
    value = loss_fn({"prediction": (s, s[..., :2]), "teacher_prediction": t})
    assert value.item() == pytest.approx(distillation_loss(s, t, 2.5).item(), rel=1e-12)
    w = torch.zeros(s.shape[:1] + (1,) + s.shape[2:], dtype=s.dtype)
    w[:, :, 0] = 1
    weighted = loss_fn({"prediction": s, "teacher_prediction": [t], "pixel_weight": w})
    assert weighted.item() == pytest.approx(
        distillation_loss(s, t, 2.5, pixel_weight=w).item(), rel=1e-12)


def test_wrapper_errors():
    s, _ = _logits(seed=10)
    for given in ({"prediction": s}, {"prediction": s, "teacher_prediction": None}):
        with pytest.raises(ValueError, match=r"no 'teacher_prediction'.*SCM method.*"
                           r"supervise_type = noisy_label.*method_name = PASegSCM"):
            CrossDistillationLoss({})(given)
    with pytest.raises(ConfigError, match=r"crossdistillationloss_temprature: unknown key\. "
                       r"Did you mean 'crossdistillationloss_temperature'\?"):
        CrossDistillationLoss({"CrossDistillationLoss_temprature": 2.0})
    for bad in ("0", -2, "abc", "inf"):
        with pytest.raises(ConfigError, match=r"\[training\] CrossDistillationLoss_temperature "
                           r"= .*: must be a (finite )?number > 0"):
            CrossDistillationLoss({"crossdistillationloss_temperature": bad})


def test_registered_and_usable_in_pymic_combined_loss():
    from pymic.loss.loss_dict_seg import SegLossDict
    from pymic.loss.seg.combined import CombinedLoss

    assert ("CrossDistillationLoss", "SegLossDict", CrossDistillationLoss) in COMPONENTS
    assert "CrossDistillationLoss" not in SegLossDict or \
        SegLossDict["CrossDistillationLoss"].__module__.startswith("pymic_paseg")
    losses = {**SegLossDict, **{name: cls for name, _, cls in COMPONENTS}}
    params = {"loss_type": ["CrossEntropyLoss", "CrossDistillationLoss"],
              "loss_weight": [0.5, 0.5], "crossdistillationloss_temperature": 4.0}
    s, t = _logits(shape=(1, 2, 2, 3, 3), seed=11)
    target = F.one_hot(t.argmax(1), 2).movedim(-1, 1).double()
    loss = CombinedLoss(params, losses)({"prediction": s, "ground_truth": target,
                                         "teacher_prediction": t})
    ce = CombinedLoss({**params, "loss_type": ["CrossEntropyLoss"], "loss_weight": [0.5]},
                      losses)({"prediction": s, "ground_truth": target})
    assert loss.item() == pytest.approx(ce.item() + 0.5 * distillation_loss(s, t).item(),
                                        rel=1e-10)
