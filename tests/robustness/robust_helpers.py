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


def slow_clicks_dataset(root: Path, n_cases: int = 10, shape=(40, 96, 96)) -> Path:
    """Bigger volumes (about a second of expansion each), with ``all.csv`` and clicks."""
    import numpy as np
    from helpers import write_image
    from pymic_paseg.annotation.simulate_batch import simulate_dataset
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(n_cases):
        image = rng.normal(0.3, 0.05, shape).astype(np.float32)
        label = np.zeros(shape, np.uint8)
        label[12:28, 30:60, 30:62] = 1
        image[label > 0] += 0.6
        write_image(image, root / f"case{i}_img.nii.gz")
        write_image(label, root / f"case{i}_lab.nii.gz")
        lines.append(f"case{i}_img.nii.gz,case{i}_lab.nii.gz")
    (root / "dense.csv").write_text("image,label\n" + "\n".join(lines) + "\n")
    simulate_dataset(str(root), str(root / "dense.csv"), str(root / "clicks"),
                     out_csv=str(root / "all.csv"), progress=False)
    return root


def children(pid: int) -> List[int]:
    """PIDs of the processes whose parent is ``pid`` (from /proc)."""
    import os
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def alive(pid: int) -> bool:
    import os
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
