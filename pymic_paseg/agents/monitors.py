"""Frozen "monitor" copies of the SCM networks (paper section III-B, original code).

Each trained network keeps a frozen copy, its monitor. At every iteration the
monitors run on the batch without autograd (``torch.inference_mode``) and, on a
GPU, in mixed precision: a network's own monitor gives its pseudo label, the
other network's monitor gives the temperature-softened soft label. Monitors are
reloaded periodically from the best-validation weights (or the latest weights
when there is no validation set), which keeps the targets stable in between.

Two options (``[noisy_label_learning]`` keys, read by the SCM agent):

* ``monitor_flips``: the monitors' logits are averaged over every combination of
  flips of these spatial axes (each flip undone before averaging), test-time
  augmentation for the pseudo labels; 2 ** k forward passes per monitor.
* ``monitor_update = ema``: instead of periodic reloads, after every optimiser step
  each monitor becomes ``decay * monitor + (1 - decay) * network`` (a mean teacher;
  BatchNorm statistics are averaged the same way).
"""
from __future__ import annotations

import copy
import itertools
import logging
from typing import Any, Dict, List, Optional, Sequence

import torch
from torch import nn

from pymic_paseg.agents.distributed import unwrap
from pymic_paseg.deep_supervision import main_output

logger = logging.getLogger(__name__)


class Monitors:
    """One frozen copy per network; ``predict`` returns their logits as float32."""

    def __init__(self, nets: List[nn.Module], *, amp: bool, flip_dims: Sequence[int] = ()):
        self.copies = [self._frozen(net) for net in nets]
        self.amp = amp
        self.last_refresh = 0
        #: tensor dimensions (2 = depth, 3 = height, 4 = width) flipped for the TTA mean
        self.flip_combinations = [list(c) for k in range(len(flip_dims) + 1)
                                  for c in itertools.combinations(sorted(flip_dims), k)]

    @staticmethod
    def _frozen(net: nn.Module) -> nn.Module:
        target = unwrap(net)
        clone = copy.deepcopy(target)
        clone.eval()
        for param in clone.parameters():
            param.requires_grad_(False)
        return clone

    def predict(self, images: torch.Tensor) -> List[torch.Tensor]:
        """Logits of every monitor on ``images`` (plain tensors, usable as loss targets)."""
        use_amp = self.amp and images.device.type == "cuda"
        with torch.inference_mode(), torch.autocast(device_type=images.device.type,
                                                    enabled=use_amp):
            outputs = []
            for monitor in self.copies:
                total = None
                for dims in self.flip_combinations:
                    x = images.flip(dims) if dims else images
                    out = main_output(monitor(x)).float()
                    out = out.flip(dims) if dims else out
                    total = out if total is None else total + out
                outputs.append(total / len(self.flip_combinations))
        # inference tensors cannot be saved for backward: clone outside inference mode
        return [out.clone() for out in outputs]

    @torch.no_grad()
    def ema_update(self, nets: List[nn.Module], decay: float) -> None:
        """Each monitor <- decay * monitor + (1 - decay) * its network (parameters and
        floating-point buffers; integer buffers such as BatchNorm's counter are copied)."""
        for monitor, net in zip(self.copies, nets):
            source = unwrap(net).state_dict()
            for name, value in monitor.state_dict().items():
                new = source[name].detach()
                if value.dtype.is_floating_point:
                    value.mul_(decay).add_(new.to(value.dtype), alpha=1.0 - decay)
                else:
                    value.copy_(new)

    def refresh(self, states: List[Dict[str, torch.Tensor]], iteration: int) -> None:
        for monitor, state in zip(self.copies, states):
            monitor.load_state_dict(state)
            monitor.eval()
        self.last_refresh = iteration
        logger.info("SCM monitors refreshed at iteration %d", iteration)

    def state(self) -> Dict[str, Any]:
        return {"weights": [m.state_dict() for m in self.copies],
                "last_refresh": int(self.last_refresh)}

    def load_state(self, state: Optional[Dict[str, Any]]) -> None:
        if not state:
            return
        self.refresh(state["weights"], int(state.get("last_refresh", 0)))


class MeanSoftmax(nn.Module):
    """The mean of several networks' softmax (an ensemble's probabilities, for inference)."""

    def __init__(self, nets: List[nn.Module]):
        super().__init__()
        self.nets = nn.ModuleList(nets)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        probs = []
        for net in self.nets:
            out = net(images)
            out = main_output(out)
            probs.append(torch.softmax(out.float(), dim=1))
        return torch.stack(probs).mean(dim=0)
