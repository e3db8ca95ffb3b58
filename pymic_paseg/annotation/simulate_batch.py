"""Simulated seven-click annotations for every case of a dataset CSV with dense labels.

For each row (``image`` and ``label`` columns, paths relative to the dataset root):

1. check that the image and label files are complete and the label finite
   (:func:`~pymic_paseg.io_integrity.check_image_file`); read the label and check that
   its grid is the image's grid;
2. simulate the clicks with :func:`~pymic_paseg.annotation.simulate.simulate_clicks`,
   seeded with ``seed + row index`` (the same CSV and seed give the same clicks);
3. validate them against the image grid (e.g. an empty label, or an object touching
   the image border, fails here);
4. write a click map on the image grid, atomically, to ``OUT_DIR/<image file name>``;
   when the label has several classes (values other than 0 and 1), write instead a
   one-case clicks CSV ``OUT_DIR/<image name stem>.csv`` (voxel units) whose ``label``
   column keeps each object's class: a click map's codes name objects, not classes.

A failing case is reported with its name and the others are written. The output
CSV maps ``image`` to ``clicks`` (the click map, relative to the dataset root) for
the written cases and keeps the input's other columns (``label``, ``mask``, ...), so
it can be fed straight to :func:`pymic_paseg.expansion.runner.run_expansion`.
Optionally (``train_csv``) it also writes a PyMIC training CSV ``image,label`` whose
label column lists the click maps, the input of the ``SeedExpansion`` transform;
that transform is binary, so a case with several classes fails when ``train_csv`` is
asked for (the message names the case and its classes).
"""
from __future__ import annotations

import functools
import logging
import os
import time
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import numpy as np
import SimpleITK as sitk

from pymic_paseg.annotation.batch import (CaseFailure, output_paths, read_dataset_csv, resolve,
                                          root_relative, row_inputs, run_stoppable,
                                          write_rows_csv)
from pymic_paseg.annotation.errors import AnnotationError
from pymic_paseg.annotation.geometry import ImageGeometry
from pymic_paseg.annotation.io_csv import write_csv_annotations
from pymic_paseg.annotation.io_nifti import write_click_map
from pymic_paseg.annotation.model import case_id_from_path
from pymic_paseg.annotation.simulate import SimulationSettings, simulate_clicks
from pymic_paseg.annotation.validate import validate_case
from pymic_paseg.errors import Interrupted
from pymic_paseg.io_guard import check_outputs
from pymic_paseg.io_integrity import check_image_file

__all__ = ["ClickSimulation", "SimulationSummary", "simulate_dataset", "CLICKS_COLUMN",
           "DEFAULT_CSV_NAME"]

logger = logging.getLogger(__name__)

#: column of the output CSV holding the click map paths.
CLICKS_COLUMN = "clicks"
#: file name of the output CSV when none is given (inside the output folder).
DEFAULT_CSV_NAME = "clicks.csv"


@dataclass(frozen=True)
class ClickSimulation:
    """The annotator model applied to every case (see :func:`simulate_clicks`).

    Attributes:
        seed: base seed; row ``i`` of the CSV uses ``seed + i``.
        margin_mm: ``(low, high)`` range of the background-click margin in mm.
        jitter_mm: standard deviation of the annotator's Gaussian jitter in mm.
    """

    seed: int = 0
    margin_mm: Tuple[float, float] = SimulationSettings.margin_mm
    jitter_mm: float = SimulationSettings.jitter_mm

    def __post_init__(self) -> None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be an integer >= 0. Got: {self.seed!r}")
        # the annotator model's own checks (ValueError); the spacing is irrelevant here
        SimulationSettings((1.0, 1.0, 1.0), tuple(self.margin_mm), float(self.jitter_mm))


@dataclass(frozen=True)
class _Task:
    case: str
    index: int
    image: str
    label: str
    out: str


@dataclass
class SimulationSummary:
    """What :func:`simulate_dataset` did."""

    n_cases: int
    written: List[str] = field(default_factory=list)
    failures: List[CaseFailure] = field(default_factory=list)
    out_csv: Optional[str] = None
    seconds: float = 0.0

    def describe(self) -> str:
        return (f"simulated clicks for {len(self.written)}/{self.n_cases} case(s) in "
                f"{self.seconds:.1f} s; {len(self.failures)} failed; CSV: {self.out_csv}")


def _label_array(path: str, geometry: ImageGeometry, case: str) -> np.ndarray:
    image = sitk.ReadImage(path)
    diffs = ImageGeometry.from_image(image).mismatches(geometry)
    if diffs:
        raise AnnotationError("the label's grid does not match the image's grid (label != "
                              "image): " + "; ".join(diffs), path=path, case_id=case)
    array = sitk.GetArrayFromImage(image)
    if np.issubdtype(array.dtype, np.floating):
        if not np.all(array == np.round(array)):
            raise AnnotationError("the label holds non-integer values", path=path, case_id=case)
        array = array.astype(np.int64)
    return array


def clicks_csv_path(click_map_path: str) -> str:
    """Where a case with several classes gets its clicks: ``<stem>.csv`` beside the map."""
    return os.path.join(os.path.dirname(click_map_path),
                        case_id_from_path(click_map_path) + ".csv")


def _simulate_case(task: _Task, settings: ClickSimulation, binary_only: bool = False) -> str:
    check_image_file(task.image, "mask")  # complete; its voxel values are not used
    check_image_file(task.label)
    geometry = ImageGeometry.from_file(task.image)
    mask = _label_array(task.label, geometry, task.case)
    case = simulate_clicks(mask, geometry.spacing_zyx, seed=settings.seed + task.index,
                           margin_mm=tuple(settings.margin_mm), jitter_mm=settings.jitter_mm,
                           case_id=task.case, geometry=geometry)
    validate_case(case, geometry)
    classes = sorted({obj.label for obj in case.objects})
    if classes in ([], [1]):
        write_click_map(case, task.out)
        return task.out
    if binary_only:
        raise AnnotationError(f"the label has classes {classes}, but --train-csv lists click "
                              "maps for the SeedExpansion transform, which makes binary labels "
                              "only; leave out --train-csv and expand offline (pymic_run "
                              f"expand --class-num {max(classes) + 1})", path=task.label,
                              case_id=task.case)
    path = clicks_csv_path(task.out)
    write_csv_annotations([case], path)
    return path


def simulate_dataset(root: str, csv_path: str, out_dir: str, *,
                     settings: Optional[ClickSimulation] = None, out_csv: Optional[str] = None,
                     train_csv: Optional[str] = None, workers: int = 1,
                     progress: bool = True) -> SimulationSummary:
    """Simulate and write click maps for every case of ``csv_path`` (see module docstring).

    Args:
        root: dataset root; relative CSV paths are read under it.
        csv_path: CSV with ``image`` and ``label`` columns.
        out_dir: folder for the click maps (created).
        settings: the annotator model; default :class:`ClickSimulation()`.
        out_csv: the ``image,clicks,...`` CSV; default ``out_dir/clicks.csv``.
        train_csv: optional ``image,label`` CSV, label = the click map (for the
            ``SeedExpansion`` transform).
        workers: processes (1 = this process).
        progress: show a progress bar.

    Raises:
        ConfigError: the CSV cannot be read or lacks ``image``/``label``, or an output
            (``out_csv``, ``train_csv``, a click map) would replace an input file.
    """
    settings = settings or ClickSimulation()
    start = time.perf_counter()
    rows = read_dataset_csv(csv_path, required=("image", "label"))
    outs = output_paths(rows, out_dir, root)
    out_csv = out_csv or os.path.join(out_dir, DEFAULT_CSV_NAME)
    check_outputs({"--out-csv": out_csv, "--train-csv": train_csv,
                   **{f"click map of case {row.case!r}": out for row, out in zip(rows, outs)},
                   **{f"clicks CSV of case {row.case!r}": clicks_csv_path(out)
                      for row, out in zip(rows, outs)}},
                  [csv_path, *(path for row in rows for path in row_inputs(row, root))])
    tasks = [_Task(row.case, row.index, resolve(root, row.values["image"]),
                   resolve(root, row.values["label"]), out) for row, out in zip(rows, outs)]
    os.makedirs(out_dir, exist_ok=True)
    simulate = functools.partial(_simulate_case, settings=settings,
                                 binary_only=train_csv is not None)
    results, failures, stop = run_stoppable(simulate, tasks, [t.case for t in tasks],
                                            [t.out for t in tasks], workers=workers,
                                            desc="clicks", progress=progress)
    extra = [c for c in rows[0].values if c not in ("image", CLICKS_COLUMN)]
    lines = [[row.values["image"], root_relative(path, root), *(row.values[c] for c in extra)]
             for row, path in zip(rows, results) if path is not None]
    write_rows_csv(out_csv, ["image", CLICKS_COLUMN, *extra], lines)
    if train_csv:
        write_rows_csv(train_csv, ["image", "label"], [line[:2] for line in lines])
    summary = SimulationSummary(len(rows), [p for p in results if p is not None], failures,
                                out_csv, time.perf_counter() - start)
    logger.info("%s", summary.describe())
    if stop.requested:
        raise Interrupted(f"clicks stopped by {stop.name()}: {len(lines)} of {len(rows)} case(s) "
                          f"finished, listed in {out_csv}", stop.signum)
    return summary
