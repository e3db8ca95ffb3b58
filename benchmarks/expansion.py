"""Seed expansion quality per object kind: Omega_F and Omega_B against the dense truth.

The objects are real anatomy of nilearn's MNI152 T1 template (lateral ventricles,
thalamus, putamen, caudate; :mod:`pymic_paseg.data.anatomy`) and demo lesions,
clicked by a simulated human (foreground click anywhere in the deeper part of the
object, background clicks 1-6 voxels beyond its extremes). For each rule and kind
it prints the mean Omega_F precision / recall, the worst object's Omega_F
precision, the mean Omega_B precision / recall, and the mean time per case::

    OMP_NUM_THREADS=1 python benchmarks/expansion.py                 # 8 cases per kind
    OMP_NUM_THREADS=1 python benchmarks/expansion.py --variants 1 --lesions 2 --kinds ventricle
    OMP_NUM_THREADS=1 python benchmarks/expansion.py --seed 2 --per-object   # held-out seed

The rules run with their defaults otherwise (``ExpansionParams(rule=...)``), one
PyTorch thread, as ``pymic_run expand`` runs them.
"""
from __future__ import annotations

import argparse
import time
from typing import Dict, List

import numpy as np
import torch

from pymic_paseg.data.anatomy import KINDS, anatomy_cases, lesion_cases
from pymic_paseg.expansion import ExpansionParams, expansion_metrics
from pymic_paseg.expansion.case_expansion import expand_annotation
from pymic_paseg.expansion.params import RULES


def _measure(cases, rule: str, per_object: bool = False) -> Dict[str, List[Dict[str, float]]]:
    params = ExpansionParams(rule=rule)
    rows: Dict[str, List[Dict[str, float]]] = {}
    for case in cases:
        start = time.perf_counter()
        label = expand_annotation(case.image, case.annotation, case.annotation.geometry, params,
                                  valid_mask=case.mask)
        seconds = time.perf_counter() - start
        metrics = expansion_metrics(label, case.truth, 2)
        rows.setdefault(case.kind, []).append(dict(metrics, seconds=seconds))
        if per_object:
            print(f"{rule:9s} {case.case_id:18s} F prec {metrics['fg_precision']:.3f} "
                  f"F rec {metrics['fg_recall']:.3f} B prec {metrics['bg_precision']:.4f} "
                  f"B rec {metrics['bg_recall']:.3f}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=4,
                        help="cases per anatomical object (noise, bias, clicks); 2 objects/kind")
    parser.add_argument("--lesions", type=int, default=8, help="demo lesion cases")
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=list(KINDS))
    parser.add_argument("--rules", nargs="+", default=list(RULES), choices=list(RULES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-object", action="store_true", help="one row per object too")
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    cases = anatomy_cases(args.variants, args.seed, args.kinds)
    cases += lesion_cases(args.lesions, args.seed) if args.lesions else []
    print(f"{len(cases)} cases built in {time.perf_counter() - start:.1f} s "
          f"(default rule: {ExpansionParams().rule})")
    header = (f"{'rule':9s} {'kind':10s} {'n':>3s} {'F prec':>7s} {'F worst':>8s} "
              f"{'F rec':>6s} {'B prec':>7s} {'B rec':>6s} {'s/case':>7s}")
    print("Omega_F / Omega_B precision and recall per object kind")
    print(header)
    for rule in args.rules:
        for kind, rows in _measure(cases, rule, args.per_object).items():
            def mean(key: str) -> float:
                return float(np.mean([r[key] for r in rows]))
            worst = min(r["fg_precision"] for r in rows)
            print(f"{rule:9s} {kind:10s} {len(rows):3d} {mean('fg_precision'):7.3f} "
                  f"{worst:8.3f} {mean('fg_recall'):6.3f} {mean('bg_precision'):7.4f} "
                  f"{mean('bg_recall'):6.3f} {mean('seconds'):7.3f}")


if __name__ == "__main__":
    main()
