"""Per-iteration cost of DistributedDataParallel with one rank against the plain loop.

One stage-1 training step of the primary network (forward, all stage-1 losses,
backward, optimiser step) is timed two ways in the same process, alternating:

* plain: the network as the single-process loop runs it;
* DDP, world size 1: the network wrapped as ``pymic_paseg.agents.distributed`` wraps it
  under torchrun (gloo on CPU, NCCL on CUDA), plus the one small ``all_reduce`` per
  iteration the loop adds (the shared stop-signal check).

Target of issue 16 (on a GPU): DDP with one rank costs at most 5% more per iteration.

    python benchmarks/ddp_overhead.py                          # CPU-sized default
    python benchmarks/ddp_overhead.py --shape 48 128 128       # the paper's VS patch (GPU)
"""
from __future__ import annotations

import argparse
import socket
import statistics
import time

import torch
import torch.distributed as dist

import pymic_paseg
from pymic_paseg.agents.distributed import DistContext

from scm import PRIMARY, _cpu_model, _net, _sync  # noqa: E402  (benchmarks/ is on sys.path)
from pymic_paseg.objectives.stage1 import Stage1Objective, Stage1Settings


def _step(net, objective, batch, context=None):
    opt = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9)

    def step():
        opt.zero_grad(set_to_none=True)
        objective(batch, net(batch["image"]), iteration=10 ** 6)["loss"].backward()
        opt.step()
        if context is not None:
            context.any_rank(False)
    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", type=int, nargs=3, default=[32, 64, 64], metavar=("D", "H", "W"))
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    pymic_paseg.register()
    device = torch.device(args.device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    with socket.socket() as sock:  # a free port for the one-process group
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dist.init_process_group(backend, init_method=f"tcp://127.0.0.1:{port}", rank=0,
                            world_size=1)
    context = DistContext(1, 0, device.index or 0, backend)
    torch.manual_seed(0)
    shape = (args.batch, 1, *args.shape)
    label = (torch.rand(shape, device=device) > 0.9).float()
    batch = {"image": torch.randn(shape, device=device),
             "label_prob": torch.cat([1 - label, label], 1),
             "pixel_weight": (torch.rand(shape, device=device) > 0.5).float()}
    objective = Stage1Objective(Stage1Settings(alpha=1.0, beta=0.1), {})
    plain_net = _net(PRIMARY, device)
    ddp_net = context.wrap(_net(PRIMARY, device), device)
    ddp_net.module.load_state_dict(plain_net.state_dict())
    steps = {"plain": _step(plain_net, objective, batch),
             "ddp": _step(ddp_net, objective, batch, context)}
    for _ in range(args.warmup):
        for step in steps.values():
            step()
    times = {name: [] for name in steps}
    for _ in range(args.repeats):  # alternate, so a busy machine hits both alike
        for name, step in steps.items():
            _sync(device)
            start = time.perf_counter()
            step()
            _sync(device)
            times[name].append(time.perf_counter() - start)
    plain, ddp = (statistics.median(times[n]) for n in ("plain", "ddp"))
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else _cpu_model()
    print(f"device {where} ({device}), backend {backend}, patch {args.shape}, batch "
          f"{args.batch}, {args.repeats} alternating repeats, torch threads "
          f"{torch.get_num_threads()}")
    print(f"plain loop step     median {plain * 1000:8.1f} ms")
    print(f"DDP 1 rank step     median {ddp * 1000:8.1f} ms")
    print(f"DDP overhead        {100 * (ddp / plain - 1):+.1f} % (target <= +5 % on a GPU)")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
