"""A training's curves CSV, with the parts of resumed runs merged into one table.

Since the fix of issue 12 a resumed training continues ``{prefix}_training_curves.csv``
itself (:class:`pymic_paseg.agents.tracking.RoundLogger`). Runs made before wrote a resumed
run's rounds to ``{prefix}_training_curves_from_<N>.csv``; :func:`merged_curves` reads both
layouts: each part keeps its rows up to where the next part starts.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Tuple

from pymic_paseg.agents.tracking import read_curves

__all__ = ["curve_parts", "merged_curves"]


def curve_parts(ckpt_dir: Path, prefix: str) -> List[Tuple[int, Path]]:
    """``(start iteration, file)`` of every curves CSV of the training, in order."""
    parts: List[Tuple[int, Path]] = []
    main = Path(ckpt_dir) / f"{prefix}_training_curves.csv"
    if main.is_file():
        parts.append((0, main))
    pattern = re.compile(re.escape(prefix) + r"_training_curves_from_(\d+)\.csv$")
    for path in Path(ckpt_dir).glob(f"{prefix}_training_curves_from_*.csv"):
        match = pattern.match(path.name)
        if match:
            parts.append((int(match.group(1)), path))
    return sorted(parts)


def merged_curves(ckpt_dir: Path, prefix: str) -> List[Dict[str, float]]:
    """All rounds of the training, one row per iteration, numbers as floats (may be empty)."""
    parts = curve_parts(ckpt_dir, prefix)
    rows: Dict[float, Dict[str, float]] = {}
    for index, (start, path) in enumerate(parts):
        end = parts[index + 1][0] if index + 1 < len(parts) else None
        for row in read_curves(str(path), upto=end):
            values = {k: float(v) for k, v in row.items() if k and v not in (None, "")}
            if "iteration" in values and (start == 0 or values["iteration"] > start):
                rows[values["iteration"]] = values
    return [rows[k] for k in sorted(rows)]
