"""NaN gradients never reach the weights: the guard stops or skips, as configured."""
import logging

import pytest
import torch

from helpers import fullsup_config, load_pymic_config, make_dataset
from pymic_paseg.agents.fullsup import FullySupervisedAgent
from pymic_paseg.config import ConfigError
from pymic_paseg.losses.distillation import distillation_loss


def _config(tmp_path, training=""):
    root = make_dataset(tmp_path / "data", n_train=2, n_valid=1)
    return load_pymic_config(fullsup_config(root, tmp_path / "ckpt", tmp_path / "out",
                                            iter_max=4, iter_valid=2, extra_training=training,
                                            valid=False), tmp_path)


class NaNGradientAgent(FullySupervisedAgent):
    """A finite loss whose gradient is NaN: sqrt'(0) = inf, times the 0 of the chain rule."""

    def loss_terms(self, batch, outputs):
        terms = super().loss_terms(batch, outputs)
        terms["bad"] = torch.sqrt((outputs * 0.0).sum())
        return terms

    def on_train_start(self, start_it):
        self.initial = _weights(self)


def _weights(agent):
    """The trainable parameters (BatchNorm's running statistics move in any forward pass)."""
    return {k: v.detach().clone() for k, v in agent.net.named_parameters()}


def test_distillation_with_all_zero_weights_has_zero_not_nan_gradients():
    student = torch.randn(2, 3, 4, 5, 6, requires_grad=True)
    teacher = torch.randn(2, 3, 4, 5, 6)
    loss = distillation_loss(student, teacher, 4.0, pixel_weight=torch.zeros(2, 1, 4, 5, 6))
    loss.backward()
    assert float(loss.detach()) == 0.0
    assert torch.isfinite(student.grad).all() and (student.grad == 0).all()
    # unchanged where some weight is positive: equals the unweighted loss of those voxels
    weight = torch.zeros(2, 1, 4, 5, 6)
    weight[1] = 1.0
    expected = distillation_loss(student[1:], teacher[1:], 4.0)
    got = distillation_loss(student, teacher, 4.0, pixel_weight=weight)
    assert torch.allclose(got, expected)


def test_nonfinite_gradients_stop_by_default_before_the_step(tmp_path):
    agent = NaNGradientAgent(_config(tmp_path), "train")
    with pytest.raises(FloatingPointError, match=r"non-finite gradients at iteration 1 in net "
                                                 r"\(norm nan\); the step was not applied"):
        agent.run()
    after = _weights(agent)
    assert all(torch.equal(agent.initial[k], after[k]) for k in after)


def test_nonfinite_gradients_skip_warns_and_keeps_the_weights(tmp_path, caplog):
    agent = NaNGradientAgent(_config(tmp_path, "nonfinite_gradients = skip"), "train")
    with caplog.at_level(logging.WARNING, logger="pymic_paseg.agents.guards"):
        agent.run()
    warnings = [r.getMessage() for r in caplog.records if "step skipped" in r.getMessage()]
    assert len(warnings) == 4 and "iteration 1: non-finite gradients in net" in warnings[0]
    assert [round_[2]["skipped_steps"] for round_ in agent._rounds.history] == [2, 2]
    after = _weights(agent)
    assert all(torch.equal(agent.initial[k], after[k]) for k in after)


def test_nonfinite_gradients_key_is_checked(tmp_path):
    with pytest.raises(ConfigError, match=r"\[training\] nonfinite_gradients = 'skp': unknown "
                                          r"name. Did you mean 'skip'\?"):
        FullySupervisedAgent(_config(tmp_path, "nonfinite_gradients = skp"), "train")
