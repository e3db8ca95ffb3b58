"""``pymic_run reproduce``: run the rows of the paper's tables; resume skips finished rows.

Layout in ``OUT`` (all commands run with ``OUT`` as working folder)::

    configs/            the demo configs used
    demo_data/          dataset, clicks, partial labels (shared by every row)
    rows/<key>/model, prediction, result.json      one folder per row
    rows/pseudo/        stage-1 pseudo labels of the training images (Table III baselines)
    logs/               one log per step
    tables/             results.md, results.csv, boxplot.png (see summary.py)

A row is finished when its ``result.json`` exists; a rerun skips it. A row that
fails is reported (its log's tail in ``result.json``) and the others go on.
"""
from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from pymic_paseg.demo.pipeline import DemoOptions, DemoPipeline, DemoStepError
from pymic_paseg.io_atomic import atomic_write_text
from pymic_paseg.pipeline.evaluation import evaluate_predictions
from pymic_paseg.reproduce.box_labels import write_box_labels
from pymic_paseg.reproduce.rows import (BOX_CSV, PRESETS, PSEUDO_CSV, ROW_BY_KEY, STAGE1, Row,
                                        rows_for)

logger = logging.getLogger(__name__)

#: SCM's own budget in the "paper" preset: 100 epochs of 28 cases, refresh every 20.
_SCM_PAPER = ("training.iter_max=1400", "noisy_label_learning.monitor_interval=280")


class Reproduction:
    def __init__(self, out: Path, preset: str, tables: Sequence[str], seed: int = 0,
                 device: Optional[str] = None, only: Optional[Sequence[str]] = None):
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; valid: {', '.join(PRESETS)}")
        unknown = sorted(set(only or ()) - set(ROW_BY_KEY))
        if unknown:  # checked before the working folder is created
            raise ValueError(f"unknown row(s) {unknown}; valid: {', '.join(ROW_BY_KEY)}")
        cases, _ = PRESETS[preset]
        self.preset, self.device = preset, device
        self.rows = rows_for(tuple(tables), tuple(only) if only else None)
        self.pipeline = DemoPipeline(DemoOptions(out=out, cases=cases, seed=seed))
        self.out = self.pipeline.out

    # ------------------------------------------------------------ steps
    def _sets(self, row: Row, folder: str) -> List[str]:
        _, common = PRESETS[self.preset]
        sets = [s for s in (common or ()) if row.config == "demo_scm"
                or not s.startswith("noisy_label_learning.")]
        if self.preset == "paper" and row.config == "demo_scm":
            sets += list(_SCM_PAPER)
        sets += list(row.sets)
        sets += [f"training.ckpt_dir={folder}/model", f"testing.output_dir={folder}/prediction"]
        return [item for s in sets for item in ("--set", s)]

    def _run_row(self, row: Row) -> Dict[str, object]:
        folder = f"rows/{row.key}"
        device = ["--device", self.device] if self.device else []
        config = f"configs/{row.config}.cfg"
        self.pipeline.run_cli(f"train_{row.key}", ["train", config, "--resume", *device,
                                                   *self._sets(row, folder)])
        self.pipeline.run_cli(f"test_{row.key}", ["test", config, *device,
                                                  *self._sets(row, folder)])
        data = self.out / "demo_data"
        cases = evaluate_predictions(data / "test_eval_pairs.csv", data,
                                     self.out / folder / "prediction", {1: "lesion"})
        return {"key": row.key, "cases": cases}

    def _pseudo_labels(self) -> None:
        """Stage-1 predictions on the training images, as noisy labels for PyMIC's NLL rows."""
        if (self.out / PSEUDO_CSV).is_file():
            return
        folder = f"rows/{STAGE1}"
        self.pipeline.run_cli("pseudo", [
            "test", "configs/demo_stage1.cfg", "--set", f"training.ckpt_dir={folder}/model",
            "--set", "dataset.test_csv=demo_data/train_images.csv",
            "--set", "testing.output_dir=rows/pseudo/labels"])
        with open(self.out / "demo_data" / "train_images.csv", newline="") as handle:
            images = [r["image"] for r in csv.DictReader(handle)]
        lines = ["image,label"] + [f"{img},../rows/pseudo/labels/{Path(img).name}"
                                   for img in images]
        atomic_write_text(self.out / PSEUDO_CSV, "\n".join(lines) + "\n")

    def _box_labels(self) -> None:
        """The box-only labels of the tightness-prior row (once per working folder)."""
        if not (self.out / BOX_CSV).is_file():
            write_box_labels(self.out / "demo_data")

    def run(self) -> Path:
        from pymic_paseg.reproduce.summary import write_tables
        self.pipeline.prepare_data()
        results: Dict[str, Dict[str, object]] = {}
        for index, row in enumerate(self.rows, start=1):
            path = self.out / "rows" / row.key / "result.json"
            print(f"[row {index}/{len(self.rows)}] {row.key}: {row.title}", flush=True)
            if row.alias:
                results[row.key] = dict(results.get(row.alias) or {"error": "alias missing"})
                continue
            if path.is_file():
                print("      done before: skipped", flush=True)
                results[row.key] = json.loads(path.read_text())
                continue
            missing = [n for n in row.dependencies if "cases" not in results.get(n, {})]
            try:
                if missing:
                    raise DemoStepError(f"needs {', '.join(missing)}, which did not finish")
                if "pseudo" in row.needs:
                    self._pseudo_labels()
                if row.box_labels:
                    self._box_labels()
                result = self._run_row(row)
            except DemoStepError as exc:
                print(f"      failed: {str(exc).splitlines()[0]}", flush=True)
                results[row.key] = {"key": row.key, "error": str(exc)}
                continue
            atomic_write_text(path, json.dumps(result, indent=1))
            results[row.key] = result
        return write_tables(self.out, self.rows, results)


def parse_tables(text: str) -> Tuple[str, ...]:
    tables = tuple(t.strip().upper() for t in text.split(",") if t.strip())
    bad = [t for t in tables if t not in ("I", "II", "III")]
    if bad or not tables:
        raise ValueError(f"--tables {text!r}: use a comma-separated subset of I, II, III")
    return tables
