"""Seed expansion at scale: one shard of the case list per job, skip what is done, merge.

A cluster array job runs the same ``pymic_run expand`` command N times with
``--shard I/N`` (I = 0 .. N-1, e.g. ``$SLURM_ARRAY_TASK_ID``):

* shard ``I`` takes the CSV's data rows ``I, I + N, I + 2N, ...`` (a fixed split: it
  depends only on the row order and N);
* it writes its partial labels into the shared ``--out`` folder and its own training
  CSV and metrics CSV, named after the merged ones with ``.shard{I}of{N}`` before the
  extension (``train_partial.shard3of8.csv``, ``metrics.shard3of8.csv``);
* a case whose partial label already exists, is a complete image on the case's grid
  and holds only the values 0 .. class_num, is not expanded again (its metrics are
  recomputed from the file), so a re-submitted or restarted job only does what is
  left. The settings of the expansion are stamped in ``OUT/expand_settings.json``;
  a later run with other settings into the same folder is refused, so stale labels
  are never taken as done;
* ``pymic_run expand ... --merge N`` (the same command without ``--shard``) checks
  that every shard's CSV exists and writes the training CSV and the metrics CSV of
  all cases, in the order of the input CSV.
"""
from __future__ import annotations

import csv
import json
import logging
import os
from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from pymic_paseg.config import ConfigError
from pymic_paseg.io_atomic import atomic_write_text

__all__ = ["Shard", "parse_shard", "shard_file", "finished_label", "check_settings_stamp",
           "merge_shards", "STAMP_FILE"]

logger = logging.getLogger(__name__)

STAMP_FILE = "expand_settings.json"


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (0-based)."""

    index: int
    count: int

    def take(self, rows: Sequence[Any]) -> List[Any]:
        """The rows of this shard: data rows ``index, index + count, ...``."""
        return [row for row in rows if row.index % self.count == self.index]

    @property
    def tag(self) -> str:
        return f"shard{self.index}of{self.count}"


def parse_shard(text: str) -> Shard:
    """``"I/N"`` with ``0 <= I < N`` -> :class:`Shard`; ``ConfigError`` otherwise."""
    parts = str(text).split("/")
    try:
        index, count = (int(p) for p in parts)
    except ValueError:
        raise ConfigError(f"--shard {text}: expected I/N, e.g. 0/8 (shard I of N, I from 0 "
                          "to N-1)") from None
    if count < 1 or not 0 <= index < count:
        raise ConfigError(f"--shard {text}: need N >= 1 and 0 <= I < N (I from 0 to N-1, "
                          "as $SLURM_ARRAY_TASK_ID with --array=0-(N-1))")
    return Shard(index, count)


def shard_file(path: str, shard: Shard) -> str:
    """``dir/name.csv`` -> ``dir/name.shard{I}of{N}.csv``."""
    stem, ext = os.path.splitext(path)
    return f"{stem}.{shard.tag}{ext}"


def finished_label(out: str, image: str, class_num: int) -> Optional[np.ndarray]:
    """The partial label at ``out`` if it is a finished expansion of ``image``, else None.

    Finished: the file is complete (:func:`~pymic_paseg.io_integrity.check_image_file`),
    on the image's grid, and holds only values 0 .. ``class_num``.
    """
    if not os.path.isfile(out):
        return None
    import SimpleITK as sitk
    from pymic_paseg.annotation import ImageGeometry
    from pymic_paseg.io_integrity import check_image_file
    try:
        check_image_file(out)
        label = sitk.ReadImage(out)
        grid = ImageGeometry.from_file(image)
        diffs = ImageGeometry.from_image(label).mismatches(grid)
        array = sitk.GetArrayFromImage(label)
    except Exception as err:  # a corrupt or unreadable file: expand the case again
        logger.warning("%s exists but is not a finished partial label (%s): expanding again",
                       out, str(err).splitlines()[0] if str(err) else type(err).__name__)
        return None
    if diffs or array.min() < 0 or array.max() > class_num:
        logger.warning("%s exists but does not fit %s (%s): expanding again", out, image,
                       "; ".join(diffs) or f"values outside 0..{class_num}")
        return None
    return array


def check_settings_stamp(out_dir: str, job: Any) -> None:
    """Write ``OUT/expand_settings.json``, or refuse if it holds other settings."""
    settings = {"params": asdict(job.params), "class_num": int(job.class_num),
                "nonfinite": job.nonfinite}
    text = json.dumps(settings, sort_keys=True, indent=1) + "\n"
    path = os.path.join(out_dir, STAMP_FILE)
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as handle:
            try:
                old = json.load(handle)
            except ValueError:
                old = None
        if old == json.loads(text):
            return
        raise ConfigError(f"{path}: the partial labels in {out_dir} were made with other "
                          f"settings ({old}); this run has {settings}. Use another --out "
                          "folder, or delete the old one, so old labels are not kept as done")
    os.makedirs(out_dir, exist_ok=True)
    atomic_write_text(path, text)


def _read_csv(path: str) -> Tuple[List[str], List[List[str]]]:
    if not os.path.isfile(path):
        raise ConfigError(f"shard output {path} not found: did every shard job finish?")
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        raise ConfigError(f"shard output {path} is empty")
    return rows[0], rows[1:]


def merge_shards(rows: Sequence[Any], out_csv: str, metrics_csv: Optional[str],
                 count: int) -> Dict[str, Any]:
    """Join the ``count`` shards' training CSVs (and metrics CSVs) in the input CSV's order.

    ``rows`` are the input CSV's rows (for the order). Returns ``{"cases": n_written,
    "missing": [case, ...] (failed in their shard), "mean": {metric: mean}}``.
    """
    from pymic_paseg.annotation.batch import write_rows_csv
    from pymic_paseg.expansion.report import MEAN_ROW, write_metrics_csv
    if count < 1:
        raise ConfigError(f"--merge {count}: must be the number of shards (>= 1)")
    shards = [Shard(i, count) for i in range(count)]
    order = {os.path.normpath(row.values["image"]): row.index for row in rows}
    header, train = None, []
    metrics: Dict[str, Dict[str, float]] = {}
    for shard in shards:
        head, lines = _read_csv(shard_file(out_csv, shard))
        header = header or head
        if head != header:
            raise ConfigError(f"{shard_file(out_csv, shard)}: columns {head} differ from "
                              f"the first shard's {header}")
        train.extend(lines)
        if metrics_csv and os.path.isfile(shard_file(metrics_csv, shard)):
            head, lines = _read_csv(shard_file(metrics_csv, shard))
            for line in lines:
                if line[0] != MEAN_ROW:
                    metrics[line[0]] = dict(zip(head[1:], map(float, line[1:])))
    unknown = [line[0] for line in train if os.path.normpath(line[0]) not in order]
    if unknown:
        raise ConfigError(f"shard CSVs list image(s) not in the input CSV: {unknown[:3]}")
    train.sort(key=lambda line: order[os.path.normpath(line[0])])
    write_rows_csv(out_csv, header, train)
    done = {os.path.normpath(line[0]) for line in train}
    missing = [row.case for row in rows if os.path.normpath(row.values["image"]) not in done]
    mean: Dict[str, float] = {}
    if metrics_csv and metrics:
        cases = [row.case for row in rows if row.case in metrics]
        mean = write_metrics_csv(metrics_csv, cases,
                                 [metrics[case] for case in cases])
    return {"cases": len(train), "missing": missing, "mean": mean}
