"""Run one training under torchrun (or alone) and dump what each rank holds.

Usage: ``python -m torch.distributed.run --nproc_per_node N ddp_worker.py CFG OUT``.
After training, every rank writes ``OUT/rank{R}.json`` with the iterations and losses
it logged, digests of its networks' and monitors' parameters and buffers, and the SCM
monitors' last refresh. Test code only: the package itself writes on rank 0 alone.
"""
import argparse
import contextlib
import io
import json
import os
import sys

import torch


def digest(module: torch.nn.Module) -> dict:
    """name -> (sum, sum of squares) of every parameter and buffer, in float64."""
    return {name: [float(t.double().sum()), float((t.double() ** 2).sum())]
            for name, t in module.state_dict().items() if t.dtype.is_floating_point}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("cfg")
    parser.add_argument("out")
    args = parser.parse_args()
    import pymic_paseg
    from pymic.util.parse_config import parse_config, synchronize_config
    from pymic_paseg.registry import pymic_registry
    pymic_paseg.register()
    with contextlib.redirect_stdout(io.StringIO()):
        config = synchronize_config(parse_config(argparse.Namespace(cfg=args.cfg)))
    sup = config["dataset"]["supervise_type"]
    section, table = {"weak_sup": ("weakly_supervised_learning", "WSLMethodDict"),
                      "noisy_label": ("noisy_label_learning", "NLLMethodDict")}[sup]
    agent = pymic_registry(table)[config[section]["method_name"]](config, "train")
    agent.run()
    rank = int(os.environ.get("RANK", 0))
    report = {"rank": rank, "world": int(os.environ.get("WORLD_SIZE", 1)),
              "batch": int(config["dataset"]["train_batch_size"]),
              "history": [[it, train.get("loss", train.get("primary/loss"))]
                          for it, _, train, _ in agent._rounds.history],
              "nets": {m.name: digest(m.module()) for m in agent.members}}
    monitors = getattr(agent, "monitors", None)
    if monitors is not None:
        report["monitors"] = [digest(m) for m in monitors.copies]
        report["last_refresh"] = monitors.last_refresh
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, f"rank{rank}.json"), "w") as handle:
        json.dump(report, handle)


if __name__ == "__main__":
    sys.exit(main())
