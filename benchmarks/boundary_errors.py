"""Where the demo's errors lie: near the true surface or away from it.

For each ``pymic_run demo`` output folder, each of its trained models (full supervision,
stage 1, stage 2) and all its test cases together, this script prints the false-positive
and false-negative voxels, and the share of each within ``--width`` voxels of the true
object (:func:`pymic_paseg.evaluation.boundary_errors`). On the demo every model's errors lie in
a one-voxel shell, so what separates clicks from dense labels there is where the boundary
is drawn (``docs/scm.md``).

    pymic_run demo --seed 0 --with-full --out demo0
    python benchmarks/boundary_errors.py demo0 [demo1 ...] [--width 1]
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

from pymic_paseg.evaluation import boundary_errors

#: the demo's run folders, in the report's order
RUNS = ("demo_fullsup", "demo_stage1", "demo_scm")
PAIRS = Path("demo_data") / "test_eval_pairs.csv"


def read_mask(path: Path) -> np.ndarray:
    import SimpleITK as sitk
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    return sitk.GetArrayFromImage(sitk.ReadImage(str(path)))


def folder_rows(folder: Path, width: float):
    pairs_csv = folder / PAIRS
    if not pairs_csv.is_file():
        raise FileNotFoundError(f"{pairs_csv}: not a `pymic_run demo` folder (no {PAIRS})")
    with open(pairs_csv, newline="", encoding="utf-8") as handle:
        pairs = list(csv.DictReader(handle))
    for run in RUNS:
        prediction = folder / "runs" / run / "prediction"
        if not prediction.is_dir():
            continue   # e.g. a demo without --with-full
        total = {}
        for pair in pairs:
            counts = boundary_errors(read_mask(prediction / pair["segmentation"]),
                                     read_mask(folder / "demo_data" / pair["ground_truth"]),
                                     width)
            total = {k: total.get(k, 0) + v for k, v in counts.items()}
        yield run, len(pairs), total


def share(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:5.1f} %" if whole else "    -  "


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folders", nargs="+", type=Path, help="pymic_run demo --out folders")
    parser.add_argument("--width", type=float, default=1.0,
                        help="shell thickness in voxels (default: 1)")
    args = parser.parse_args(argv)
    print(f"Error voxels summed over each folder's test cases; 'near': within "
          f"{args.width:g} voxel(s) of the true object")
    print(f"{'folder':24s} {'model':14s} {'cases':>5s} {'true vol':>9s} {'FP':>7s} "
          f"{'FP near':>8s} {'FN':>7s} {'FN near':>8s}")
    for folder in args.folders:
        try:
            for run, n, t in folder_rows(folder, args.width):
                print(f"{str(folder)[-24:]:24s} {run:14s} {n:5d} {t['true_volume']:9d} "
                      f"{t['fp']:7d} {share(t['fp_near'], t['fp']):>8s} {t['fn']:7d} "
                      f"{share(t['fn_near'], t['fn']):>8s}")
        except (FileNotFoundError, KeyError, ValueError) as error:
            print(f"{folder}: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
