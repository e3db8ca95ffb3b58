"""Reports of an offline seed expansion: the metrics CSV and the epsilon sweep (CSV + PNG).

* metrics CSV: one row per case and a last row ``mean``, columns
  :data:`METRIC_COLUMNS` (precision, recall and Dice of Omega_F and Omega_B, the
  share of each region; see :func:`~pymic_paseg.expansion.expansion_metrics`);
* sweep CSV: one row per epsilon: the mean and standard deviation over cases of
  each metric, and the number of cases;
* sweep PNG: mean precision and recall of Omega_F against epsilon, as PA-Seg Fig. 4
  (matplotlib, Agg backend).

Every file is written atomically.
"""
from __future__ import annotations

from typing import Dict, List, Mapping, Sequence

import numpy as np

from pymic_paseg.annotation.batch import write_rows_csv
from pymic_paseg.io_atomic import atomic_path

__all__ = ["METRIC_COLUMNS", "MEAN_ROW", "mean_metrics", "plot_sweep", "sweep_table",
           "write_metrics_csv", "write_sweep_csv"]

#: metrics of one case, in CSV column order.
METRIC_COLUMNS = ("fg_precision", "fg_recall", "fg_dice", "bg_precision", "bg_recall",
                  "bg_dice", "fg_fraction", "bg_fraction", "unlabeled_fraction")
#: name of the last row of the metrics CSV.
MEAN_ROW = "mean"
_DIGITS = 6
_FIGURE_SIZE = (5.0, 3.6)
_DPI = 120


def _columns(per_case: Sequence[Mapping[str, float]]) -> List[str]:
    """:data:`METRIC_COLUMNS`, then any further metric (per class, several classes)."""
    extra = [c for c in (per_case[0] if per_case else {}) if c not in METRIC_COLUMNS]
    return [*METRIC_COLUMNS, *extra]


def mean_metrics(per_case: Sequence[Mapping[str, float]]) -> Dict[str, float]:
    """The mean of every metric over cases (empty dict for no case)."""
    if not per_case:
        return {}
    return {c: float(np.mean([m[c] for m in per_case])) for c in _columns(per_case)}


def write_metrics_csv(path: str, cases: Sequence[str],
                      per_case: Sequence[Mapping[str, float]]) -> Dict[str, float]:
    """Write the per-case metrics and their mean; return the mean."""
    columns = _columns(per_case)
    rows: List[List[object]] = [[case, *(round(float(m[c]), _DIGITS) for c in columns)]
                                for case, m in zip(cases, per_case)]
    mean = mean_metrics(per_case)
    if mean:
        rows.append([MEAN_ROW, *(round(mean[c], _DIGITS) for c in columns)])
    write_rows_csv(path, ["case", *columns], rows)
    return mean


def sweep_table(per_case: Sequence[Sequence[Mapping[str, float]]]) -> List[Dict[str, float]]:
    """Mean and std over cases per epsilon, from each case's list of sweep rows."""
    if not per_case:
        return []
    table = []
    for position, first in enumerate(per_case[0]):
        rows = [case[position] for case in per_case]
        entry: Dict[str, float] = {"epsilon": float(first["epsilon"]), "n_cases": len(rows)}
        for column in METRIC_COLUMNS:
            values = [r[column] for r in rows]
            entry[f"{column}_mean"] = float(np.mean(values))
            entry[f"{column}_std"] = float(np.std(values))
        table.append(entry)
    return table


def write_sweep_csv(path: str, table: Sequence[Mapping[str, float]]) -> None:
    columns = ["epsilon", "n_cases"] + [f"{c}_{s}" for c in METRIC_COLUMNS
                                        for s in ("mean", "std")]
    write_rows_csv(path, columns, [[e["epsilon"], e["n_cases"],
                                    *(round(e[c], _DIGITS) for c in columns[2:])]
                                   for e in table])


def plot_sweep(path: str, table: Sequence[Mapping[str, float]], title: str = "") -> None:
    """Mean precision and recall of Omega_F against epsilon (PA-Seg Fig. 4), as a PNG."""
    from matplotlib.figure import Figure  # no pyplot: renders with Agg, no global state

    epsilons = [e["epsilon"] for e in table]
    figure = Figure(figsize=_FIGURE_SIZE)
    axes = figure.subplots()
    for key, name, marker in (("fg_precision", "precision", "o"), ("fg_recall", "recall", "s")):
        axes.errorbar(epsilons, [e[f"{key}_mean"] for e in table],
                      yerr=[e[f"{key}_std"] for e in table], marker=marker, capsize=3,
                      label=f"{name} of $\\Omega_F$")
    axes.set_xlabel(r"$\epsilon$")
    axes.set_ylabel("mean over cases (± std)")
    axes.set_ylim(0.0, 1.05)
    axes.grid(True, alpha=0.3)
    axes.legend(loc="best")
    n_cases = table[0]["n_cases"] if table else 0
    axes.set_title(title or f"seed expansion, {n_cases} case(s)")
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=_DPI)
