"""How far a threshold of the adaptive rule's own maps could go, per object kind.

For each object of :mod:`pymic_paseg.data.anatomy` (and demo lesions), inside its box and
Omega_M, it sorts the voxels by a score and scans every threshold with the object's
truth at hand (an oracle no rule has): the best Omega_F precision among the level sets
reaching recall ``--recall`` and the best recall among those reaching precision
``--precision`` (:func:`pymic_paseg.expansion.frontier.level_set_frontier`). Scores:

* ``euclid``: Euclidean distance (mm) to the foreground click (a ball);
* ``D_F``: the adaptive rule's geodesic distance to the click;
* ``D_F/D_B``: its ratio to the distance to the known background (box faces, outside
  Omega_M), the map the rule thresholds at ``RATIO``.

It also prints the adaptive rule's own precision / recall, and where its false
positives lie: the fraction within 2 voxels of the object. ``--per-object`` prints one
row per object::

    OMP_NUM_THREADS=1 python benchmarks/expansion_frontier.py --kinds thalamus putamen
"""
from __future__ import annotations

import argparse
from typing import Dict, List

import numpy as np
import torch
from scipy import ndimage

from pymic_paseg.data.anatomy import KINDS, anatomy_cases, lesion_cases
from pymic_paseg.expansion.adaptive import object_distances, object_regions
from pymic_paseg.expansion.frontier import level_set_frontier

SCORES = ("euclid", "D_F", "D_F/D_B")


def _object_rows(case, recall: float, precision: float) -> Dict[str, float]:
    obj = case.annotation.objects[0]
    lo, hi = obj.box()
    box = tuple(slice(a, b + 1) for a, b in zip(lo, hi))
    click = tuple(int(v - a) for v, a in zip(obj.foreground.voxel, lo))
    image, truth, valid = case.image[box], case.truth[box], case.mask[box]
    total = int(case.truth.sum())
    maps = object_distances(image, valid, click, case.spacing_zyx)
    seed = np.ones(image.shape, bool)
    seed[click] = False
    scores = {"euclid": ndimage.distance_transform_edt(seed, sampling=case.spacing_zyx),
              "D_F": maps.d_f, "D_F/D_B": maps.d_f / np.maximum(maps.d_b, 1e-6)}
    row: Dict[str, float] = {}
    for name, score in scores.items():
        row[f"{name} P"], row[f"{name} R"] = level_set_frontier(score, truth, valid, recall,
                                                                precision, total)
    fg, _ = object_regions(image, valid, click, case.spacing_zyx)
    hits = int((fg & truth).sum())
    row["rule P"], row["rule R"] = hits / max(int(fg.sum()), 1), hits / total
    false = fg & ~truth
    near = ndimage.distance_transform_edt(~truth) <= 2.0
    row["FP near"] = float((false & near).sum() / false.sum()) if false.any() else float("nan")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=4,
                        help="cases per anatomical object (noise, bias, clicks); 2 objects/kind")
    parser.add_argument("--lesions", type=int, default=8, help="demo lesion cases")
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=list(KINDS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--recall", type=float, default=0.25, help="recall target")
    parser.add_argument("--precision", type=float, default=0.95, help="precision target")
    parser.add_argument("--per-object", action="store_true", help="one row per object too")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cases = anatomy_cases(args.variants, args.seed, args.kinds)
    cases += lesion_cases(args.lesions, args.seed) if args.lesions else []
    columns = [f"{s} P" for s in SCORES] + [f"{s} R" for s in SCORES]
    columns += ["rule P", "rule R", "FP near"]
    print(f"Oracle thresholds (seed {args.seed}): best precision at recall >= {args.recall}, "
          f"best recall at precision >= {args.precision}; rule = adaptive as it runs")
    print(f"{'kind':16s} " + " ".join(f"{c:>11s}" for c in columns))
    rows: Dict[str, List[Dict[str, float]]] = {}
    for case in cases:
        row = _object_rows(case, args.recall, args.precision)
        rows.setdefault(case.kind, []).append(row)
        if args.per_object:
            print(f"{case.case_id:16s} " + " ".join(f"{row[c]:11.3f}" for c in columns))
    for kind, kind_rows in rows.items():
        means = [float(np.nanmean([r[c] for r in kind_rows])) for c in columns]
        print(f"{kind + ' (mean)':16s} " + " ".join(f"{m:11.3f}" for m in means))


if __name__ == "__main__":
    main()
