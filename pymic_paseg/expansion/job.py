"""What an offline expansion run is given and what it reports (:mod:`.runner`).

* :class:`ClickSource`: where each case's clicks are;
* :class:`ExpansionJob`: the settings shared by every case;
* :class:`ExpansionSummary`: what the run did, and the text the CLI prints.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from pymic_paseg.annotation.batch import CaseFailure, DatasetRow, resolve
from pymic_paseg.annotation.simulate_batch import clicks_csv_path
from pymic_paseg.expansion.case_expansion import DEFAULT_CLASS_NUM
from pymic_paseg.expansion.params import ExpansionParams

__all__ = ["CLICKS_COLUMN", "ClickSource", "ExpansionJob", "ExpansionSummary"]

#: the dataset CSV column holding each case's clicks (ClickSource ``column``)
CLICKS_COLUMN = "clicks"


@dataclass(frozen=True)
class ClickSource:
    """Where each case's clicks are: ``column`` (CSV column ``clicks``), ``dir`` or ``table``."""

    kind: str = "column"
    location: Optional[str] = None

    def path_for(self, root: str, row: DatasetRow) -> Optional[str]:
        if self.kind == "dir":  # the click map, else a clicks CSV (a case with several classes)
            path = os.path.join(self.location, os.path.basename(row.values["image"]))
            other = clicks_csv_path(path)
            return other if not os.path.exists(path) and os.path.isfile(other) else path
        if self.kind == "table":
            return self.location
        value = row.get(CLICKS_COLUMN)
        return None if value is None else resolve(root, value)


@dataclass(frozen=True)
class ExpansionJob:
    """Settings shared by every case: ``SeedExpansion_*`` params, class_num, sweep values,
    and what to do with NaN/inf image voxels (``error``, or ``mask``: left out of Omega_M)."""

    params: ExpansionParams = field(default_factory=ExpansionParams)
    class_num: int = DEFAULT_CLASS_NUM
    sweep: Tuple[float, ...] = ()
    nonfinite: str = "error"


@dataclass
class ExpansionSummary:
    """What :func:`run_expansion` did; ``describe()`` is the text the CLI prints."""

    n_cases: int
    written: List[str] = field(default_factory=list)
    failures: List[CaseFailure] = field(default_factory=list)
    out_csv: str = ""
    metrics_csv: Optional[str] = None
    n_scored: int = 0
    mean_metrics: Dict[str, float] = field(default_factory=dict)
    sweep: List[Dict[str, float]] = field(default_factory=list)
    sweep_files: Tuple[str, ...] = ()
    qc_files: List[str] = field(default_factory=list)
    seconds: float = 0.0

    def describe(self) -> str:
        lines = [f"expanded {len(self.written)}/{self.n_cases} case(s) in {self.seconds:.1f} s; "
                 f"{len(self.failures)} failed; training CSV: {self.out_csv}"]
        if self.mean_metrics:
            m = self.mean_metrics
            lines.append(f"mean over {self.n_scored} case(s) (metrics: {self.metrics_csv}): "
                         f"Omega_F precision {m['fg_precision']:.3f} recall {m['fg_recall']:.3f} "
                         f"Dice {m['fg_dice']:.3f}; Omega_B precision {m['bg_precision']:.3f} "
                         f"recall {m['bg_recall']:.3f} Dice {m['bg_dice']:.3f}")
            k = 1
            while f"fg{k}_dice" in m:  # several classes
                lines.append(f"  class {k}: Omega_F precision {m[f'fg{k}_precision']:.3f} "
                             f"recall {m[f'fg{k}_recall']:.3f} Dice {m[f'fg{k}_dice']:.3f}")
                k += 1
            if m.get("conflict_fraction"):
                lines.append(f"  voxels claimed by two classes (left unlabeled): "
                             f"{m['conflict_fraction']:.2e} of all voxels")
        for entry in self.sweep:
            lines.append(f"  epsilon {entry['epsilon']:<5g} Omega_F precision "
                         f"{entry['fg_precision_mean']:.3f} recall {entry['fg_recall_mean']:.3f}")
        if self.sweep_files:
            lines.append(f"sweep: {', '.join(self.sweep_files)}")
        if self.qc_files:
            lines.append(f"QC overlays: {', '.join(self.qc_files)}")
        return "\n".join(lines)
