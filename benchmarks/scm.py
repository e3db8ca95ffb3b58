"""Cost of one SCM iteration relative to one stage-1 iteration of the primary network.

Both are measured in the same run, on the same input, with the agents' own
objectives (``Stage1Objective`` with the paper's weights / the paper recipe of
``SCMObjective``):

* stage 1: primary forward + backward with all stage-1 losses (partial CE + Dice,
  multi-view CRF, VM) and an optimiser step;
* SCM: two monitor forward passes (no autograd; mixed precision on GPU), primary
  and auxiliary forward + backward with KD + CE + Dice, two optimiser steps.

Target: SCM <= 2.5x stage 1.

    python benchmarks/scm.py                       # CPU-sized default
    python benchmarks/scm.py --shape 48 128 128    # the paper's VS patch (GPU)
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import statistics
import time

import torch
from pymic.net.net_dict_seg import SegNetDict

import pymic_paseg
from pymic_paseg.agents.monitors import Monitors
from pymic_paseg.objectives.scm import SCMObjective, SCMSettings
from pymic_paseg.objectives.stage1 import Stage1Objective, Stage1Settings

PRIMARY = {"net_type": "UNet2D5", "in_chns": 1, "class_num": 2,
           "feature_chns": [16, 32, 64, 128, 256], "conv_dims": [2, 2, 3, 3, 3],
           "dropout": [0.0, 0.0, 0.2, 0.3, 0.4], "bilinear": True, "deep_supervise": False}
AUXILIARY = {"net_type": "PASegAttentionUNet", "dimension": 3, "in_chns": 1, "class_num": 2,
             "feature_chns": [16, 32, 64, 128, 256], "dropout": [0.0, 0.0, 0.2, 0.3, 0.4]}


def _net(params, device):
    with contextlib.redirect_stdout(io.StringIO()):  # PyMIC's networks print their params
        return SegNetDict[params["net_type"]](dict(params)).to(device)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def _time(step, device, warmup: int, repeats: int) -> float:
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        step()
        _sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def stage1_step(device, image, batch):
    """One stage-1 step of the primary network, eq. 11 after the ramp (alpha 1, beta 0.1)."""
    objective = Stage1Objective(Stage1Settings(alpha=1.0, beta=0.1), {})
    net = _net(PRIMARY, device)
    opt = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9)

    def step():
        opt.zero_grad(set_to_none=True)
        objective(batch, net(image), iteration=10 ** 6)["loss"].backward()
        opt.step()
    return step


def scm_step(device, image):
    """One SCM step of both networks with the paper's objective, as the agent runs it."""
    nets = [_net(PRIMARY, device), _net(AUXILIARY, device)]
    monitors = Monitors(nets, amp=True)
    objective = SCMObjective(SCMSettings(recipe="paper"), {})
    opts = [torch.optim.SGD(n.parameters(), lr=1e-3, momentum=0.9) for n in nets]

    def step():
        for opt in opts:
            opt.zero_grad(set_to_none=True)
        logits = monitors.predict(image)
        terms = objective({"image": image}, [net(image) for net in nets], logits)
        sum(t["loss"] for t in terms).backward()
        for opt in opts:
            opt.step()
    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", type=int, nargs=3, default=[32, 64, 64], metavar=("D", "H", "W"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    pymic_paseg.register()
    device = torch.device(args.device)
    torch.manual_seed(0)
    image = torch.randn(1, 1, *args.shape, device=device)
    label = (torch.rand(1, 1, *args.shape, device=device) > 0.9).float()
    batch = {"image": image, "label_prob": torch.cat([1 - label, label], 1),
             "pixel_weight": (torch.rand(1, 1, *args.shape, device=device) > 0.5).float(),
             "data": {}}
    t1 = _time(stage1_step(device, image, batch), device, args.warmup, args.repeats)
    t2 = _time(scm_step(device, image), device, args.warmup, args.repeats)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else _cpu_model()
    print(f"machine: {name}, {os.cpu_count()} CPU cores, "
          f"{torch.get_num_threads()} torch threads, torch {torch.__version__}, device {device}")
    print(f"input 1x1x{'x'.join(map(str, args.shape))}, median of {args.repeats}")
    print(f"stage-1 iteration (primary, all stage-1 losses): {t1:.3f} s")
    print(f"SCM iteration (2 monitors + 2 trained networks):  {t2:.3f} s")
    print(f"ratio SCM / stage 1: {t2 / t1:.2f}x (target <= 2.5x)")


if __name__ == "__main__":
    main()
