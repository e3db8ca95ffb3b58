"""CUDA paths: the losses give the CPU's values and gradients, and the agents train,
checkpoint and infer on a GPU. Skipped on machines without CUDA (CI has none); run
them on a GPU machine with ``python -m pytest -m gpu``.
"""

import numpy as np
import pytest
import torch

from helpers import (infer_with_cli_and_check_geometry, make_dataset, make_partial_dataset,
                     parse_pymic_config, replaced, scm_config, stage1_config)
from pymic_paseg.losses.distillation import distillation_loss
from pymic_paseg.losses.multiview_crf import multiview_crf_loss
from pymic_paseg.losses.partial_ce import partial_ce_loss
from pymic_paseg.losses.partial_dice import partial_dice_loss
from pymic_paseg.losses.variance import variance_minimization_loss

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def _inputs(seed=0, shape=(2, 2, 10, 24, 20)):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(shape, generator=gen, dtype=torch.float64)
    image = torch.rand((shape[0], 1) + shape[2:], generator=gen, dtype=torch.float64)
    image[..., :3] = 0.0  # outside Omega_M
    target = torch.nn.functional.one_hot(
        torch.randint(0, shape[1], (shape[0],) + shape[2:], generator=gen),
        shape[1]).movedim(-1, 1).to(torch.float64)
    weight = (torch.rand((shape[0], 1) + shape[2:], generator=gen) > 0.6).to(torch.float64)
    return logits, image, target, weight


LOSSES = {
    "crf": lambda lg, im, t, w: multiview_crf_loss(torch.softmax(lg, 1), im, radius=3),
    "crf_spacing": lambda lg, im, t, w: multiview_crf_loss(
        torch.softmax(lg, 1), im, radius=3, spacing=(1.5, 0.5, 0.5)),
    "vm": lambda lg, im, t, w: variance_minimization_loss(torch.softmax(lg, 1), im),
    "pce": lambda lg, im, t, w: partial_ce_loss(lg, t, w, from_logits=True),
    "pdice": lambda lg, im, t, w: partial_dice_loss(torch.softmax(lg, 1), t, w),
    "kd": lambda lg, im, t, w: distillation_loss(lg, (2 * t - 1) * 3.0, 4.0),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_value_and_gradient_match_cpu(name):
    logits, image, target, weight = _inputs()
    values, grads = [], []
    for device in ("cpu", "cuda"):
        lg = logits.clone().to(device).requires_grad_(True)
        value = LOSSES[name](lg, image.to(device), target.to(device), weight.to(device))
        assert value.device.type == device
        value.backward()
        values.append(value.detach().cpu())
        grads.append(lg.grad.cpu())
    torch.testing.assert_close(values[1], values[0], rtol=1e-6, atol=1e-9)
    torch.testing.assert_close(grads[1], grads[0], rtol=1e-6, atol=1e-9)


def test_crf_float32_on_cuda_matches_float64_reference():
    logits, image, _, _ = _inputs(seed=1, shape=(1, 2, 12, 32, 32))
    probs = torch.softmax(logits, 1)
    reference = multiview_crf_loss(probs, image)
    value = multiview_crf_loss(probs.float().cuda(), image.float().cuda())
    assert abs(value.item() - reference.item()) <= 1e-4 * abs(reference.item())


def _load(text, tmp_path, name):
    path = tmp_path / name
    path.write_text(text)
    return path, parse_pymic_config(path)


def _on_cuda(text):
    return replaced(text, "device = cpu", "device = cuda")


def test_stage1_trains_on_cuda_then_infers_through_the_cli(tmp_path):
    from pymic_paseg.agents.stage1 import PASegStage1Agent
    root = make_partial_dataset(tmp_path / "data")
    text = _on_cuda(stage1_config(root, tmp_path / "ckpt", tmp_path / "out", iter_max=12,
                                  iter_valid=4, wsl="rampup_end = 0"))
    path, config = _load(text, tmp_path, "stage1.cfg")
    agent = PASegStage1Agent(config, "train")
    agent.run()
    assert next(agent.net.parameters()).is_cuda
    rounds = agent._rounds.history
    assert all(np.isfinite(r[2]["loss"]) for r in rounds)
    assert rounds[-1][2]["loss"] < rounds[0][2]["loss"]
    infer_with_cli_and_check_geometry(path, tmp_path / "out", root)


def test_scm_trains_on_cuda_with_amp_monitors(tmp_path):
    from pymic.net.net_dict_seg import SegNetDict
    import pymic_paseg
    from pymic_paseg.agents.scm import PASegSCMAgent
    pymic_paseg.register()
    root = make_dataset(tmp_path / "data", n_train=3, n_valid=1)
    primary, aux = tmp_path / "primary.pt", tmp_path / "aux.pt"
    text = _on_cuda(scm_config(root, tmp_path / "ckpt", tmp_path / "out", primary, aux,
                               iter_max=6, iter_valid=3,
                               nll="monitor_interval = 2\nmonitor_amp = true"))
    _, config = _load(text, tmp_path, "scm.cfg")
    for section, path in (("network", primary), ("network_auxiliary", aux)):
        net = SegNetDict[config[section]["net_type"]](dict(config[section]))
        torch.save({"iteration": 0, "model_state_dict": net.state_dict()}, path)
    agent = PASegSCMAgent(config, "train")
    agent.run()
    assert all(next(m.net.parameters()).is_cuda for m in agent.members)
    scalars = agent._rounds.history[-1][2]
    assert all(np.isfinite(scalars[k]) for k in ("primary/kd", "auxiliary/sup"))
    assert (tmp_path / "ckpt" / "ckpt_auxiliary_6.pt").exists()
