"""Does the seed-expansion rule matter downstream? Stage 1 on the demo, per rule and seed.

For each dataset seed ``S`` this builds the demo dataset (``pymic_run demo-data
--seed S``), simulates the clicks (``pymic_run clicks --seed S``), expands them with
each rule (``pymic_run expand --rule R``), trains stage 1 with
``config_examples/demo_stage1.cfg`` on each partial label set, infers on the test
cases and writes one row per test case to ``WORK/dice.csv``::

    python benchmarks/expansion_stage1.py run --work /tmp/exp_stage1 --seeds 0 1 2 \
        --rules paper adaptive [--preset hard]
    python benchmarks/expansion_stage1.py report --work /tmp/exp_stage1

``report`` prints, per rule, the mean test Dice, and for each other rule against
``paper`` the per-case wins / losses and a paired t-test (scipy) over all cases of
all seeds. Every step is skipped when its output exists, so a stopped run resumes.
Run it with ``OMP_NUM_THREADS=1``; each training is a few minutes on a 2-core CPU.
"""
from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "config_examples" / "demo_stage1.cfg"
DICE_CSV = "dice.csv"


def _cli(work: Path, log: Path, args: Sequence[str]) -> None:
    with open(log, "w", encoding="utf-8") as handle:
        code = subprocess.call([sys.executable, "-m", "pymic_paseg.cli", *args], cwd=work,
                               stdout=handle, stderr=subprocess.STDOUT)
    if code != 0:
        raise RuntimeError(f"pymic_run {' '.join(args)} failed (exit {code}); see {log}")


def _dice(prediction: np.ndarray, truth: np.ndarray) -> float:
    p, t = prediction > 0, truth > 0
    denominator = p.sum() + t.sum()
    return float(2.0 * (p & t).sum() / denominator) if denominator else 1.0


def _prepare(work: Path, seed: int, preset: str = "demo") -> None:
    data = work / "demo_data"
    (work / "logs").mkdir(parents=True, exist_ok=True)
    if not (data / "dataset.json").is_file():
        _cli(work, work / "logs" / "data.log",
             ["demo-data", "demo_data", "--seed", str(seed), "--preset", preset, "--quiet"])
    if not (data / "clicks" / "clicks.csv").is_file():
        _cli(work, work / "logs" / "clicks.log",
             ["clicks", "demo_data", "--csv", "demo_data/train.csv", "--out", "demo_data/clicks",
              "--seed", str(seed), "--quiet"])


def _run_rule(work: Path, rule: str, iterations: int) -> List[Dict[str, object]]:
    partial_csv = f"demo_data/train_partial_{rule}.csv"
    logs = work / "logs"
    if not (work / partial_csv).is_file():
        _cli(work, logs / f"expand_{rule}.log",
             ["expand", "demo_data", "--csv", "demo_data/train.csv", "--clicks",
              "demo_data/clicks", "--out", f"demo_data/partial_{rule}", "--out-csv",
              partial_csv, "--rule", rule, "--quiet",
              "--metrics", f"demo_data/expansion_metrics_{rule}.csv"])
    prediction = f"runs/{rule}/prediction"
    sets = ["--set", f"dataset.train_csv={partial_csv}",
            "--set", f"training.ckpt_dir=runs/{rule}/model",
            "--set", f"training.iter_max={iterations}",
            "--set", f"testing.output_dir={prediction}", "--device", "cpu"]
    shutil.copy(CONFIG, work / "stage1.cfg")
    if not (work / prediction).is_dir():
        _cli(work, logs / f"train_{rule}.log", ["train", "stage1.cfg", "--resume", *sets])
        _cli(work, logs / f"test_{rule}.log", ["test", "stage1.cfg", *sets])
    import SimpleITK as sitk
    rows = []
    with open(work / "demo_data" / "test.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            name = os.path.basename(row["image"])
            truth = sitk.GetArrayFromImage(sitk.ReadImage(str(work / "demo_data" / row["label"])))
            pred = sitk.GetArrayFromImage(sitk.ReadImage(str(work / prediction / name)))
            rows.append({"case": name.split(".")[0], "dice": _dice(pred, truth)})
    return rows


def cmd_run(args: argparse.Namespace) -> None:
    out = Path(args.work) / DICE_CSV
    done = set()
    if out.is_file():
        with open(out, encoding="utf-8") as handle:
            done = {(int(r["seed"]), r["rule"]) for r in csv.DictReader(handle)}
    for seed in args.seeds:
        work = Path(args.work) / f"seed_{seed}"
        _prepare(work, seed, args.preset)
        for rule in args.rules:
            if (seed, rule) in done:
                continue
            rows = _run_rule(work, rule, args.iterations)
            new = not out.is_file()
            with open(out, "a", encoding="utf-8", newline="") as handle:
                writer = csv.DictWriter(handle, ["seed", "rule", "case", "dice"])
                if new:
                    writer.writeheader()
                for row in rows:
                    writer.writerow({"seed": seed, "rule": rule, **row})
            print(f"seed {seed} rule {rule}: mean Dice "
                  f"{np.mean([r['dice'] for r in rows]):.4f}", flush=True)


def cmd_report(args: argparse.Namespace) -> None:
    from scipy import stats
    with open(Path(args.work) / DICE_CSV, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    table: Dict[str, Dict[tuple, float]] = {}
    for r in rows:
        table.setdefault(r["rule"], {})[(int(r["seed"]), r["case"])] = float(r["dice"])
    for rule, values in table.items():
        seeds = sorted({s for s, _ in values})
        per_seed = ", ".join(
            f"seed {s}: {np.mean([v for (t, _), v in values.items() if t == s]):.4f}"
            for s in seeds)
        print(f"{rule:10s} mean test Dice {np.mean(list(values.values())):.4f} "
              f"({len(values)} cases; {per_seed})")
    base = table.get(args.baseline, {})
    for rule, values in table.items():
        if rule == args.baseline:
            continue
        keys = sorted(set(values) & set(base))
        if len(keys) < 2:
            continue
        a, b = np.array([values[k] for k in keys]), np.array([base[k] for k in keys])
        test = stats.ttest_rel(a, b)
        print(f"{rule} vs {args.baseline}: {len(keys)} paired cases, mean diff "
              f"{np.mean(a - b):+.4f}, wins {int((a > b).sum())} / losses {int((a < b).sum())} "
              f"/ ties {int((a == b).sum())}, paired t = {test.statistic:.3f}, "
              f"p = {test.pvalue:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run")
    run.add_argument("--work", required=True)
    run.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    run.add_argument("--rules", nargs="+", default=["paper", "adaptive"])
    run.add_argument("--iterations", type=int, default=400, help="stage-1 iter_max")
    run.add_argument("--preset", default="demo", help="demo dataset preset (demo, hard)")
    run.set_defaults(func=cmd_run)
    rep = sub.add_parser("report")
    rep.add_argument("--work", required=True)
    rep.add_argument("--baseline", default="paper")
    rep.set_defaults(func=cmd_report)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
