"""The demo's report: PyMIC's Dice and ASSD per test case, a summary, curves, overlays.

Written to ``OUT/report/``:

* ``per_case.csv`` - method, case, Dice, ASSD (mm), from PyMIC's own
  ``pymic.util.evaluation_seg.get_class_evaluation_score`` (:mod:`pymic_paseg.evaluation`;
  with several classes, the mean over classes and ``dice_<k>``, ``assd_<k>`` per class);
* ``summary.md`` - mean ± std per method, step timings, the commands;
* ``training_curves.png`` - training loss and validation Dice per method;
* ``overlay_<case>.png`` - image, ground truth and each method's prediction.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np

from pymic_paseg.evaluation import case_summary, evaluate_case
from pymic_paseg.io_atomic import atomic_path, atomic_write_text

METRICS = ("dice", "assd")
OVERLAY_CASES = 3


def _load(path: Path):
    from pymic.io.image_read_write import load_image_as_nd_array
    data = load_image_as_nd_array(str(path))
    array = np.asarray(data["data_array"])
    if array.ndim == 4 and array.shape[0] == 1:  # PyMIC adds a channel axis
        array = array[0]
    return array, data["spacing"]


def dataset_classes(data: Path) -> Dict[int, str]:
    """The foreground classes of a demo dataset (its manifest's ``labels``; else ``{1}``)."""
    manifest = data / "dataset.json"
    if not manifest.is_file():
        return {1: "lesion"}
    labels = json.loads(manifest.read_text(encoding="utf-8")).get("labels", {"1": "lesion"})
    return {int(k): v for k, v in labels.items() if int(k) != 0}


def evaluate_folder(out: Path, prediction_dir: str) -> List[Dict[str, object]]:
    """PyMIC's Dice and ASSD for each test case of the demo dataset in ``out``: the mean
    over classes and, with several classes, ``dice_<k>``/``assd_<k>`` for each class."""
    data = out / "demo_data"
    classes = dataset_classes(data)
    with open(data / "test_eval_pairs.csv", newline="") as handle:
        pairs = list(csv.DictReader(handle))
    cases: List[Dict[str, object]] = []
    for pair in pairs:
        truth, spacing = _load(data / pair["ground_truth"])
        seg_path = out / prediction_dir / pair["segmentation"]
        seg, _ = _load(seg_path)
        rows = evaluate_case(seg, truth, spacing, classes,
                             names=(str(seg_path), str(data / pair["ground_truth"])))
        cases.append({"case": Path(pair["segmentation"]).name.split(".")[0],
                      **case_summary(rows)})
    return cases


def evaluate(out: Path, methods: Sequence) -> List[Dict[str, object]]:
    """Per-case scores of every method on the test cases listed by the demo dataset."""
    return [{"method": method.key, **case} for method in methods
            for case in evaluate_folder(out, method.prediction_dir)]


def summarise(rows: Sequence[Dict[str, object]], methods: Sequence) -> List[Dict[str, object]]:
    table = []
    for method in methods:
        mine = [r for r in rows if r["method"] == method.key]
        entry: Dict[str, object] = {"method": method.key, "title": method.title, "n": len(mine)}
        for metric in [k for k in (mine[0] if mine else METRICS) if k not in ("method", "case")]:
            values = np.asarray([r[metric] for r in mine], float)
            entry[metric] = (float(values.mean()), float(values.std()))
        table.append(entry)
    return table


def format_table(table: Sequence[Dict[str, object]]) -> str:
    lines = ["| method | Dice | ASSD (mm) | test cases |", "|---|---|---|---|"]
    for e in table:
        dice, assd = e["dice"], e["assd"]
        lines.append(f"| {e['title']} | {dice[0]:.3f} ± {dice[1]:.3f} | "
                     f"{assd[0]:.2f} ± {assd[1]:.2f} | {e['n']} |")
        for key in sorted(k for k in e if str(k).startswith("dice_")):  # several classes
            k = key[len("dice_"):]
            d, a = e[key], e[f"assd_{k}"]
            lines.append(f"| &nbsp;&nbsp;class {k} | {d[0]:.3f} ± {d[1]:.3f} | "
                         f"{a[0]:.2f} ± {a[1]:.2f} | {e['n']} |")
    return "\n".join(lines)


def _plot_curves(out: Path, methods: Sequence, target: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for method in methods:
        path = out / method.ckpt_dir / f"{method.prefix}_training_curves.csv"
        if not path.is_file():
            continue
        curves = pd.read_csv(path)
        loss = [c for c in curves if c in ("train/loss", "train/primary/loss")]
        dice = [c for c in curves if c in ("valid/avg_fg_dice",)]
        if loss:
            axes[0].plot(curves["iteration"], curves[loss[0]], label=method.key)
        if dice:
            axes[1].plot(curves["iteration"], curves[dice[0]], label=method.key)
    axes[0].set(title="training loss", xlabel="iteration")
    axes[1].set(title="validation Dice (primary network)", xlabel="iteration", ylim=(0, 1))
    for ax in axes:
        ax.legend()
    fig.tight_layout()
    with atomic_path(target) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)


def _plot_overlays(out: Path, methods: Sequence, rows, report: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    data = out / "demo_data"
    with open(data / "test_eval_pairs.csv", newline="") as handle:
        pairs = list(csv.DictReader(handle))[:OVERLAY_CASES]
    for pair in pairs:
        name = pair["segmentation"]
        truth, _ = _load(data / pair["ground_truth"])
        image, _ = _load(data / "images" / name)
        z = int(np.argmax(truth.reshape(truth.shape[0], -1).sum(1)))
        fig, axes = plt.subplots(1, 1 + len(methods), figsize=(3 * (1 + len(methods)), 3.5))
        axes[0].imshow(image[z], cmap="gray")
        axes[0].contour(truth[z], levels=[0.5], colors="yellow", linewidths=1)
        axes[0].set_title("image + ground truth")
        for ax, method in zip(axes[1:], methods):
            seg, _ = _load(out / method.prediction_dir / name)
            dice = next(r["dice"] for r in rows if r["method"] == method.key
                        and r["case"] == name.split(".")[0])
            ax.imshow(image[z], cmap="gray")
            ax.contour(truth[z], levels=[0.5], colors="yellow", linewidths=1)
            ax.contour(seg[z], levels=[0.5], colors="red", linewidths=1)
            ax.set_title(f"{method.key}: Dice {dice:.3f}")
        for ax in axes:
            ax.axis("off")
        fig.tight_layout()
        with atomic_path(report / f"overlay_{name.split('.')[0]}.png") as tmp:
            fig.savefig(tmp, dpi=100, format="png")
        plt.close(fig)


def write_report(out: Path, methods: Sequence, timings: Dict[str, float]) -> Path:
    report = out / "report"
    report.mkdir(exist_ok=True)
    rows = evaluate(out, methods)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else
                            ["method", "case", *METRICS], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(report / "per_case.csv", buffer.getvalue())
    table = format_table(summarise(rows, methods))
    timing = "\n".join(f"| {k} | {v:.0f} s |" for k, v in timings.items())
    atomic_write_text(report / "summary.md", f"# PA-Seg demo\n\n{table}\n\n"
                      "Dice and ASSD from PyMIC's `get_class_evaluation_score` (each class; "
                      "the method's row is the mean over classes) on the held-out test "
                      "cases.\n\n| step (this run) | time |\n|---|---|\n"
                      f"{timing}\n")
    _plot_curves(out, methods, report / "training_curves.png")
    _plot_overlays(out, methods, rows, report)
    print(table)
    return report
