"""``pymic_run report RUN``: the report of a project folder or of a run started by hand.

``RUN`` is either

* a **project folder** (it holds ``project.json``, written by ``pymic_run prepare`` or
  ``pymic_run demo``): every training of the project, scored on its test cases; or
* a **run folder**: the parent of one or more ``ckpt_dir`` folders of trainings run with
  ``pymic_run train`` (e.g. ``runs/demo_stage1`` for ``ckpt_dir = runs/demo_stage1/model``),
  or a ``ckpt_dir`` itself. Every ``<prefix>_training_curves*.csv`` found in ``RUN`` or one
  folder below is a training of the report. To score predictions too, give ``--pairs``
  (PyMIC's evaluation pairs CSV) and ``--predictions`` (default ``RUN/prediction`` when it
  exists); ground-truth paths are relative to ``--ground-truth-folder`` (default: the
  pairs CSV's folder).

The report is written to ``RUN/report`` (:mod:`pymic_paseg.pipeline.report`).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Optional

from pymic_paseg.pipeline.report import ReportInputs, ReportItem
from pymic_paseg.project import PROJECT_FILE

__all__ = ["parse_classes", "run_folder_inputs", "report_run"]

_CURVES = re.compile(r"^(?P<prefix>.+)_training_curves(_from_\d+)?\.csv$")


def parse_classes(text: str) -> Dict[int, str]:
    """``"1:tumour,2:oedema"`` -> ``{1: "tumour", 2: "oedema"}``; ValueError when malformed."""
    classes: Dict[int, str] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        number, sep, name = part.partition(":")
        if not sep or not number.strip().isdigit() or int(number) < 1 or not name.strip():
            raise ValueError(f"--classes {text!r}: expected LABEL:NAME,... with labels >= 1, "
                             "e.g. 1:tumour,2:oedema")
        classes[int(number)] = name.strip()
    if not classes:
        raise ValueError(f"--classes {text!r}: give at least one LABEL:NAME")
    return classes


def find_trainings(run: Path) -> List[ReportItem]:
    """A training per (folder, prefix) with a curves CSV in ``run`` or one level below."""
    found: Dict[tuple, ReportItem] = {}
    for folder in [run, *sorted(p for p in run.iterdir() if p.is_dir())]:
        for path in sorted(folder.glob("*_training_curves*.csv")):
            match = _CURVES.match(path.name)
            if not match:
                continue
            prefix = match.group("prefix")
            key = prefix if folder == run else f"{folder.name}/{prefix}"
            found.setdefault((folder, prefix), ReportItem(key, key, folder, prefix))
    return list(found.values())


def run_folder_inputs(run: Path, pairs: Optional[Path], predictions: Optional[Path],
                      ground_truth_folder: Optional[Path], classes: Dict[int, str],
                      images: Optional[Path]):
    items = find_trainings(run)
    if predictions is None and (run / "prediction").is_dir():
        predictions = run / "prediction"
    if pairs is not None:
        if predictions is None:
            raise ValueError(f"{run}: --pairs given but no predictions: pass --predictions DIR "
                             "(no prediction/ folder in the run folder)")
        items.append(ReportItem(run.name, f"{run.name}: {predictions.name}/",
                                None, "", predictions))
    if not items:
        raise ValueError(f"{run}: no *_training_curves.csv in it or one folder below, and no "
                         f"--pairs; is it a run folder (a ckpt_dir's parent) or a project "
                         f"folder with {PROJECT_FILE}?")
    image_map = None
    if images is not None and pairs is not None:
        from pymic_paseg.pipeline.evaluation import case_name, read_pairs
        image_map = {case_name(p["segmentation"]): images / p["segmentation"]
                     for p in read_pairs(pairs)}
    inputs = ReportInputs(pairs_csv=pairs,
                          ground_truth_folder=ground_truth_folder or
                          (pairs.parent if pairs else None),
                          classes=classes, images=image_map)
    return items, inputs


def report_run(run: Path, **options) -> Path:
    """Write ``RUN/report`` for a project folder or a run folder; returns the report folder."""
    from pymic_paseg.pipeline.report import write_report
    run = Path(run).resolve()
    if not run.is_dir():
        raise ValueError(f"{run}: not a folder")
    if (run / PROJECT_FILE).is_file():
        from pymic_paseg.pipeline.runner import project_report_inputs
        from pymic_paseg.project import load_project
        items, inputs = project_report_inputs(load_project(run))
    else:
        items, inputs = run_folder_inputs(run, **options)
    return write_report(run, items, inputs, title=f"PA-Seg run: {run.name}")
