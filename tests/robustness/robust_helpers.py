"""Tiny datasets for the robustness tests: the test helpers' volumes plus simulated clicks."""
from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import List

from helpers import make_dataset

CLI = [sys.executable, "-m", "pymic_paseg.cli"]


def clicks_dataset(root: Path, n_train: int = 3) -> Path:
    """``make_dataset`` volumes and ``all.csv`` (image,label,clicks) with simulated clicks."""
    from pymic_paseg.annotation.simulate_batch import simulate_dataset
    make_dataset(root, n_train=n_train, n_valid=1)
    summary = simulate_dataset(str(root), str(root / "train.csv"), str(root / "clicks"),
                               out_csv=str(root / "all.csv"), progress=False)
    assert not summary.failures, summary.failures
    return root


def csv_rows(path: Path) -> List[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))
