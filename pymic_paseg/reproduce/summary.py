"""Tables of the reproduction: mean ± std of Dice and ASSD per row, paired t-tests,
a markdown file, a CSV and box plots (``OUT/tables/``)."""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from pymic_paseg.io_atomic import atomic_path, atomic_write_text

FIRST_STAGE = "III_stage1"
TITLES = {"I": "Table I: stage-1 ablation (same expanded labels)",
          "II": "Table II: weakly supervised baselines (same expanded labels)",
          "III": "Table III: second stage on the stage-1 pseudo labels"}


def _dice_by_case(result: Dict[str, object]) -> Dict[str, float]:
    return {c["case"]: c["dice"] for c in result.get("cases", [])}


def paired_p(result: Dict[str, object], reference: Optional[Dict[str, object]]) -> Optional[float]:
    """Two-sided paired t-test of Dice against the first stage, over the common cases."""
    from scipy.stats import ttest_rel
    if not reference or "cases" not in result or "cases" not in reference:
        return None
    a, b = _dice_by_case(result), _dice_by_case(reference)
    common = sorted(set(a) & set(b))
    x, y = np.array([a[c] for c in common]), np.array([b[c] for c in common])
    if len(common) < 2 or np.allclose(x, y):
        return None
    return float(ttest_rel(x, y).pvalue)


def summary_rows(rows: Sequence, results: Dict[str, Dict[str, object]]) -> List[Dict[str, object]]:
    out = []
    for row in rows:
        if not row.table:
            continue
        result = results.get(row.key, {})
        entry: Dict[str, object] = {"table": row.table, "key": row.key, "title": row.title}
        if "cases" in result:
            for metric in ("dice", "assd"):
                values = np.array([c[metric] for c in result["cases"]], float)
                entry[f"{metric}_mean"] = float(values.mean())
                entry[f"{metric}_std"] = float(values.std())
            entry["n"] = len(result["cases"])
            if row.second_stage:
                entry["p_vs_first_stage"] = paired_p(result, results.get(FIRST_STAGE))
        else:
            entry["error"] = str(result.get("error", "not run")).splitlines()[0]
        out.append(entry)
    return out


def _markdown(entries: Sequence[Dict[str, object]]) -> str:
    parts = []
    for table, title in TITLES.items():
        mine = [e for e in entries if e["table"] == table]
        if not mine:
            continue
        lines = [f"## {title}", "", "| method | Dice | ASSD (mm) | p (Dice vs first stage) |",
                 "|---|---|---|---|"]
        for e in mine:
            if "error" in e:
                lines.append(f"| {e['title']} | failed: {e['error']} | | |")
                continue
            p = e.get("p_vs_first_stage")
            lines.append(f"| {e['title']} | {e['dice_mean']:.3f} ± {e['dice_std']:.3f} | "
                         f"{e['assd_mean']:.2f} ± {e['assd_std']:.2f} | "
                         f"{'' if p is None else f'{p:.3f}'} |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def _boxplot(rows: Sequence, results, target: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    shown = [r for r in rows if r.table and "cases" in results.get(r.key, {})]
    if not shown:
        return
    fig, ax = plt.subplots(figsize=(max(6, 0.8 * len(shown)), 4))
    ax.boxplot([[c["dice"] for c in results[r.key]["cases"]] for r in shown])
    ax.set_xticks(range(1, len(shown) + 1), [r.key for r in shown], rotation=60, ha="right")
    ax.set_ylabel("Dice (test cases)")
    fig.tight_layout()
    with atomic_path(target) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)


def write_tables(out: Path, rows: Sequence, results: Dict[str, Dict[str, object]]) -> Path:
    folder = out / "tables"
    folder.mkdir(exist_ok=True)
    entries = summary_rows(rows, results)
    text = _markdown(entries)
    atomic_write_text(folder / "results.md", "# PA-Seg tables on the demo data\n\n" + text)
    buffer = io.StringIO()
    fields = ["table", "key", "title", "n", "dice_mean", "dice_std", "assd_mean", "assd_std",
              "p_vs_first_stage", "error"]
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(entries)
    atomic_write_text(folder / "results.csv", buffer.getvalue())
    _boxplot(rows, results, folder / "boxplot.png")
    print(text)
    return folder
