"""The report of a run: per-case scores, a summary, training curves, overlays, a box plot.

Written to ``<folder>/report/`` by ``pymic_run pipeline``, ``pymic_run demo`` and
``pymic_run report``:

* ``per_case.csv`` - method, case, class, class name, Dice, ASSD (mm), from PyMIC's
  ``get_class_evaluation_score`` (:mod:`pymic_paseg.pipeline.evaluation`);
* ``summary.md`` - mean ± std per method (and class), step timings when known;
* ``training_curves.png`` - training loss and validation Dice of every training, resumed
  parts merged (:mod:`pymic_paseg.pipeline.curves`);
* ``boxplot_dice.png`` - the per-case Dice of each evaluated method (and class);
* ``overlay_<case>.png`` - image, ground truth and each method's prediction, on the
  slice with the most foreground, for the first three test cases.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np

from pymic_paseg.io_atomic import atomic_path, atomic_write_text
from pymic_paseg.pipeline.curves import merged_curves
from pymic_paseg.pipeline.evaluation import METRICS, case_name, load_volume, read_pairs

__all__ = ["ReportItem", "ReportInputs", "write_report", "format_table", "summarise"]

OVERLAY_CASES = 3
LOSS_COLUMNS = ("train/loss", "train/primary/loss")
DICE_COLUMNS = ("valid/avg_fg_dice",)
COLOURS = ("red", "cyan", "lime", "magenta", "orange", "blue")


@dataclass(frozen=True)
class ReportItem:
    """A trained model in the report; ``prediction_dir`` None: curves only."""

    key: str
    title: str
    ckpt_dir: Optional[Path]
    prefix: str
    prediction_dir: Optional[Path] = None


@dataclass
class ReportInputs:
    """Where the test cases are; all may be None (curves-only report)."""

    pairs_csv: Optional[Path] = None
    ground_truth_folder: Optional[Path] = None
    classes: Optional[Mapping[int, str]] = None
    images: Optional[Mapping[str, Path]] = None   # case name -> image, for overlays


def summarise(rows: Sequence[Dict[str, object]], items: Sequence[ReportItem]) -> List[dict]:
    table = []
    for item in items:
        labels = sorted({r["class"] for r in rows if r["method"] == item.key})
        for label in labels:
            mine = [r for r in rows if r["method"] == item.key and r["class"] == label]
            entry = {"method": item.key, "title": item.title, "class": label,
                     "class_name": mine[0]["class_name"], "n": len(mine)}
            for metric in METRICS:
                values = np.asarray([r[metric] for r in mine], float)
                entry[metric] = (float(values.mean()), float(values.std()))
            table.append(entry)
    return table


def format_table(table: Sequence[dict]) -> str:
    several = len({e["class"] for e in table}) > 1
    head = "| method | class | Dice | ASSD (mm) | test cases |" if several else \
        "| method | Dice | ASSD (mm) | test cases |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for e in table:
        dice, assd = e["dice"], e["assd"]
        label = f" {e['class_name']} |" if several else ""
        lines.append(f"| {e['title']} |{label} {dice[0]:.3f} ± {dice[1]:.3f} | "
                     f"{assd[0]:.2f} ± {assd[1]:.2f} | {e['n']} |")
    return "\n".join(lines)


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _save(fig, target: Path) -> None:
    with atomic_path(target) as tmp:
        fig.savefig(tmp, dpi=100, format="png")


def plot_curves(items: Sequence[ReportItem], target: Path) -> bool:
    """Loss and validation Dice of every item with a curves CSV; False when there is none."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    drawn = False
    for item in items:
        rows = merged_curves(item.ckpt_dir, item.prefix) if item.ckpt_dir else []
        for ax, columns in zip(axes, (LOSS_COLUMNS, DICE_COLUMNS)):
            column = next((c for c in columns if any(c in r for r in rows)), None)
            if column:
                points = [(r["iteration"], r[column]) for r in rows if column in r]
                ax.plot(*zip(*points), label=item.key)
                drawn = True
    axes[0].set(title="training loss", xlabel="iteration")
    axes[1].set(title="validation Dice (primary network)", xlabel="iteration", ylim=(0, 1))
    for ax in axes:
        if ax.lines:
            ax.legend()
    fig.tight_layout()
    if drawn:
        _save(fig, target)
    plt.close(fig)
    return drawn


def plot_box(rows: Sequence[Dict[str, object]], items: Sequence[ReportItem],
             target: Path) -> None:
    plt = _pyplot()
    groups = [(f"{i.key}" + (f"\n{c}" if len({r['class'] for r in rows}) > 1 else ""),
               [r["dice"] for r in rows if r["method"] == i.key and r["class_name"] == c])
              for i in items for c in dict.fromkeys(r["class_name"] for r in rows
                                                    if r["method"] == i.key)]
    fig, ax = plt.subplots(figsize=(max(4.0, 1.4 * len(groups)), 3.6))
    ax.boxplot([g[1] for g in groups], showmeans=True)
    ax.set_xticks(range(1, len(groups) + 1), [g[0] for g in groups])
    ax.set(title="Dice per test case", ylabel="Dice", ylim=(0, 1))
    fig.tight_layout()
    _save(fig, target)
    plt.close(fig)


def plot_overlays(rows, items: Sequence[ReportItem], inputs: ReportInputs,
                  report: Path) -> List[Path]:
    plt = _pyplot()
    written = []
    for pair in read_pairs(inputs.pairs_csv)[:OVERLAY_CASES]:
        name, case = pair["segmentation"], case_name(pair["segmentation"])
        truth, _ = load_volume(inputs.ground_truth_folder / pair["ground_truth"])
        image_path = (inputs.images or {}).get(case)
        image = load_volume(image_path)[0] if image_path else truth
        image = image[0] if image.ndim == 4 else image
        z = int(np.argmax((truth > 0).reshape(truth.shape[0], -1).sum(1)))
        fig, axes = plt.subplots(1, 1 + len(items), figsize=(3 * (1 + len(items)), 3.5),
                                 squeeze=False)
        axes = axes[0]
        for ax in axes:
            ax.imshow(image[z], cmap="gray")
            ax.contour(truth[z] > 0, levels=[0.5], colors="yellow", linewidths=1)
            ax.axis("off")
        axes[0].set_title("image + ground truth")
        for ax, item in zip(axes[1:], items):
            seg, _ = load_volume(item.prediction_dir / name)
            for index, label in enumerate(sorted(inputs.classes)):
                if (seg[z] == label).any():
                    ax.contour(seg[z] == label, levels=[0.5], linewidths=1,
                               colors=COLOURS[index % len(COLOURS)])
            dice = [r["dice"] for r in rows if r["method"] == item.key and r["case"] == case]
            ax.set_title(f"{item.key}: Dice {np.mean(dice):.3f}")
        fig.tight_layout()
        written.append(report / f"overlay_{case}.png")
        _save(fig, written[-1])
        plt.close(fig)
    return written


def _csv_text(rows: Sequence[Dict[str, object]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["method", "case", "class", "class_name",
                                                *METRICS], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def write_report(folder: Path, items: Sequence[ReportItem], inputs: ReportInputs,
                 timings: Optional[Dict[str, float]] = None, title: str = "PA-Seg run",
                 console=None) -> Path:
    """Evaluate the items with predictions and write ``folder/report``; returns that folder."""
    from pymic_paseg.pipeline.evaluation import evaluate_predictions
    report = Path(folder) / "report"
    report.mkdir(parents=True, exist_ok=True)
    scored = [i for i in items if i.prediction_dir is not None]
    rows: List[Dict[str, object]] = []
    if scored and inputs.pairs_csv is not None:
        for item in scored:
            rows += [{"method": item.key, **row} for row in evaluate_predictions(
                inputs.pairs_csv, inputs.ground_truth_folder, item.prediction_dir,
                inputs.classes)]
        atomic_write_text(report / "per_case.csv", _csv_text(rows))
        plot_box(rows, scored, report / "boxplot_dice.png")
        plot_overlays(rows, scored, inputs, report)
    table = format_table(summarise(rows, scored)) if rows else "(no test cases scored)"
    text = f"# {title}\n\n{table}\n\n"
    if rows:
        text += ("Dice and ASSD from PyMIC's `get_class_evaluation_score`, per class, on the "
                 "held-out test cases.\n\n")
    if timings:
        text += "| step (this run) | time |\n|---|---|\n" + "\n".join(
            f"| {k} | {v:.0f} s |" for k, v in timings.items()) + "\n"
    atomic_write_text(report / "summary.md", text)
    plot_curves(items, report / "training_curves.png")
    print(table, file=console, flush=True)
    return report
