"""Offline seed expansion over a dataset CSV: clicks in, PyMIC partial labels out.

For each row of the CSV (paths relative to the dataset root, as PyMIC reads them):

1. check the image file and the other image files of the row
   (:func:`~pymic_paseg.io_integrity.check_image_file`: complete, finite; NaN/inf
   image voxels fail the case or, with ``nonfinite = "mask"``, leave Omega_M);
   read the image (SimpleITK) and, if the row has one, its Omega_M mask (``mask``
   column, non-zero = valid; else ``image > SeedExpansion_mask_threshold``; else the
   whole image is valid);
2. read the case's clicks, from one of (:class:`ClickSource`):

   * ``column``: the row's ``clicks`` column (a click map, a Slicer ``.mrk.json`` or a
     one-case CSV, see :func:`pymic_paseg.annotation.read_annotation`);
   * ``dir``: ``DIR/<image file name>``, a NIfTI click map per case (or, if there is
     none, ``DIR/<image name stem>.csv``, as ``pymic_run clicks`` writes for a case with
     several classes);
   * ``table``: one clicks CSV shared by all cases (rows matched by case name);

3. validate the clicks against the image grid and Omega_M (an
   :class:`~pymic_paseg.annotation.AnnotationError` names the case, object and click);
4. expand them (:func:`~pymic_paseg.expansion.case_expansion.expand_annotation`) and
   write the partial label (uint8: 0 background, ``k`` the foreground of class ``k``
   = the object's ``label``, ``class_num`` unlabeled) on the image grid, atomically,
   to ``OUT_DIR/<image file name>``;
5. with a dense ``label`` column: the metrics of PA-Seg Fig. 4, the optional epsilon
   sweep (:mod:`~pymic_paseg.expansion.sweep`), and QC overlays (:mod:`~.qc`).

A failing case is reported (name + message) and the others are still written.
Outputs: a PyMIC training CSV (``image,label``, label = the partial label relative
to the root, good cases only), ``metrics.csv``, ``sweep.csv``/``sweep.png`` and
``qc/<case>.png`` in the report folder (:mod:`~pymic_paseg.expansion.report`).
"""
from __future__ import annotations

import functools
import logging
import os
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np
import SimpleITK as sitk

from pymic_paseg.annotation import AnnotationError, CaseAnnotation, ImageGeometry, read_annotation
from pymic_paseg.annotation.read import annotation_format
from pymic_paseg.annotation.batch import (DatasetRow, output_paths,
                                          read_dataset_csv, resolve, root_relative, row_inputs,
                                          run_stoppable, write_rows_csv)
from pymic_paseg.config import ConfigError
from pymic_paseg.errors import Interrupted
from pymic_paseg.expansion.case_expansion import (DEFAULT_CLASS_NUM, expand_annotation,
                                                  valid_region)
from pymic_paseg.expansion.job import CLICKS_COLUMN, ClickSource, ExpansionJob, ExpansionSummary
from pymic_paseg.expansion.metrics import expansion_metrics
from pymic_paseg.expansion.params import ExpansionParams
from pymic_paseg.expansion.qc import draw_overlay
from pymic_paseg.expansion.report import (plot_sweep, sweep_table, write_metrics_csv,
                                          write_sweep_csv)
from pymic_paseg.expansion.shards import Shard, check_settings_stamp, finished_label
from pymic_paseg.expansion.sweep import sweep_case
from pymic_paseg.io_guard import check_outputs
from pymic_paseg.io_integrity import check_image_file
from pymic_paseg.io_utils import atomic_write_image

__all__ = ["ClickSource", "ExpansionJob", "ExpansionSummary", "run_expansion"]

logger = logging.getLogger(__name__)

LABEL_COLUMN, MASK_COLUMN = "label", "mask"
METRICS_FILE, SWEEP_CSV, SWEEP_PNG, QC_DIR = "metrics.csv", "sweep.csv", "sweep.png", "qc"


@dataclass(frozen=True)
class _Task:
    case: str
    image: str
    clicks: Optional[str]
    label: Optional[str]
    mask: Optional[str]
    out: str
    qc: Optional[str]


@dataclass(frozen=True)
class _Outcome:
    out: str
    metrics: Optional[Dict[str, float]]
    sweep: Optional[List[Dict[str, float]]]
    qc: Optional[str]


def _read_on_grid(path: str, geometry: ImageGeometry, what: str, case: str) -> np.ndarray:
    image = sitk.ReadImage(path)
    diffs = ImageGeometry.from_image(image).mismatches(geometry)
    if diffs:
        raise AnnotationError(f"the {what}'s grid does not match the image's grid ({what} != "
                              "image): " + "; ".join(diffs), path=path, case_id=case)
    return sitk.GetArrayFromImage(image)


def _read_clicks(task: _Task, geometry: ImageGeometry, class_num: int) -> CaseAnnotation:
    if task.clicks is None:
        raise AnnotationError(f"no click file: the '{CLICKS_COLUMN}' column is empty",
                              case_id=task.case)
    if not os.path.isfile(task.clicks):
        raise AnnotationError("click file not found", path=task.clicks, case_id=task.case)
    if class_num != DEFAULT_CLASS_NUM and annotation_format(task.clicks) == "clickmap":
        # its codes name objects, not classes: every object would silently be class 1
        raise AnnotationError(f"a click map gives no object class, so it cannot be expanded "
                              f"for class_num = {class_num}; give this case's clicks as a CSV "
                              "with a label column (pymic_run clicks writes one for a "
                              "multi-class label)", path=task.clicks, case_id=task.case)
    return read_annotation(task.clicks, geometry, case_id=task.case)


def _expand_case(task: _Task, job: ExpansionJob) -> _Outcome:
    """Expand one case and write its outputs (runs in a worker process).

    Every input is read and every report drawn before the partial label is written,
    so a failed case leaves no partial label behind.
    """
    nonfinite = check_image_file(task.image, job.nonfinite)
    for path in (task.mask, task.label, task.clicks):
        if path and path.endswith((".nii", ".nii.gz")) and os.path.isfile(path):
            check_image_file(path)
    image_obj = sitk.ReadImage(task.image)
    if image_obj.GetNumberOfComponentsPerPixel() != 1 or image_obj.GetDimension() != 3:
        raise ValueError(f"{task.image}: expected a 3D scalar image")
    geometry = ImageGeometry.from_image(image_obj)
    image = sitk.GetArrayFromImage(image_obj).astype(np.float32, copy=False)
    mask = _read_on_grid(task.mask, geometry, "mask", task.case) if task.mask else None
    truth = _read_on_grid(task.label, geometry, "label", task.case) if task.label else None
    valid = valid_region(image, job.params, mask)
    if nonfinite is not None:  # NaN/inf voxels (read as 0) are outside Omega_M
        valid = ~nonfinite if valid is None else valid & ~nonfinite
    case = _read_clicks(task, geometry, job.class_num)
    try:
        partial, conflicts = expand_annotation(image, case, geometry, job.params,
                                               valid_mask=valid, class_num=job.class_num,
                                               return_conflicts=True)
    except AnnotationError as error:
        if error.path is not None or task.clicks is None:
            raise
        raise AnnotationError(error.reason, path=task.clicks, case_id=error.case_id,
                              object_id=error.object_id, point=error.point) from None
    if conflicts:
        logger.warning("case %s: %d voxel(s) claimed by objects of two classes, left "
                       "unlabeled", task.case, conflicts)
    metrics = sweep = None
    if truth is not None:
        metrics = expansion_metrics(partial, truth, job.class_num, conflicts)
        if job.sweep:
            sweep = sweep_case(image, case, geometry, job.params, valid, partial, truth,
                               job.sweep, job.class_num)
    if task.qc:
        draw_overlay(task.qc, image, partial, case.objects[0].foreground.voxel,
                     geometry.spacing_zyx, job.class_num, truth,
                     title=f"{task.case}: {_rule_title(job.params)} (red Omega_F, "
                           "green Omega_B, yellow ground truth)")
    atomic_write_image(partial, task.out, geometry.spacing, geometry.origin, geometry.direction)
    return _Outcome(task.out, metrics, sweep, task.qc)


def _finished(tasks: Sequence[_Task], job: ExpansionJob) -> Dict[str, _Outcome]:
    """Outcomes of the cases whose partial label is already written (see ``skip_done``)."""
    done = {}
    for task in tasks:
        partial = finished_label(task.out, task.image, job.class_num)
        if partial is None:
            continue
        metrics = None
        if task.label:
            geometry = ImageGeometry.from_file(task.image)
            truth = _read_on_grid(task.label, geometry, "label", task.case)
            metrics = expansion_metrics(partial, truth, job.class_num)
        done[task.out] = _Outcome(task.out, metrics, None, None)
    return done


def _rule_title(params: ExpansionParams) -> str:
    return f"epsilon={params.epsilon:g}" if params.rule == "paper" else f"rule {params.rule}"


def _tasks(root: str, rows: Sequence[DatasetRow], source: ClickSource, out_dir: str,
           report_dir: str, qc: int) -> List[_Task]:
    outs = output_paths(rows, out_dir, root)
    tasks = []
    for row, out in zip(rows, outs):
        label, mask = row.get(LABEL_COLUMN), row.get(MASK_COLUMN)
        tasks.append(_Task(
            row.case, resolve(root, row.values["image"]), source.path_for(root, row),
            None if label is None else resolve(root, label),
            None if mask is None else resolve(root, mask), out,
            os.path.join(report_dir, QC_DIR, f"{row.case}.png") if row.index < qc else None))
    return tasks


def _check_inputs(rows: Sequence[DatasetRow], source: ClickSource, sweep: Sequence[float],
                  csv_path: str, out_dir: str) -> bool:
    """Whether there is ground truth; ``ConfigError`` for impossible requests."""
    if source.kind not in ("column", "dir", "table"):
        raise ConfigError(f"click source must be column, dir or table. Got: {source.kind!r}")
    if source.kind == "column" and CLICKS_COLUMN not in rows[0].values:
        raise ConfigError(f"CSV file {csv_path} has no '{CLICKS_COLUMN}' column; give a "
                          "folder of click maps (--clicks DIR) or a clicks CSV (--clicks-csv)")
    if source.kind != "column" and not (source.location and os.path.exists(source.location)):
        raise ConfigError(f"clicks {'folder' if source.kind == 'dir' else 'CSV'} not found: "
                          f"{source.location}")
    if source.kind == "dir" and os.path.realpath(source.location) == os.path.realpath(out_dir):
        raise ConfigError(f"the partial labels would replace the click maps in {out_dir}; "
                          "choose another output folder")
    has_truth = any(row.get(LABEL_COLUMN) for row in rows)
    bad = [e for e in sweep if not 0.0 <= e <= 1.0]
    if bad:
        raise ConfigError(f"sweep values must be in [0, 1]. Got: {bad}")
    if sweep and not has_truth:
        raise ConfigError(f"an epsilon sweep needs the dense ground truth: CSV file {csv_path} "
                          f"has no '{LABEL_COLUMN}' values")
    return has_truth


def _check_outputs(root: str, csv_path: str, rows: Sequence[DatasetRow], tasks: Sequence[_Task],
                   out_csv: str, metrics: Optional[str], sweep_dir: Optional[str]) -> None:
    """No output (CSV, metrics, sweep, label, QC image) may replace an input file."""
    outputs = {"--out-csv": out_csv, "metrics file": metrics,
               "sweep table": sweep_dir and os.path.join(sweep_dir, SWEEP_CSV),
               "sweep plot": sweep_dir and os.path.join(sweep_dir, SWEEP_PNG)}
    for task in tasks:
        outputs[f"partial label of case {task.case!r}"] = task.out
        outputs[f"QC image of case {task.case!r}"] = task.qc
    inputs = [csv_path, *(t.clicks for t in tasks),
              *(path for row in rows for path in row_inputs(row, root))]
    check_outputs(outputs, inputs)


def run_expansion(root: str, csv_path: str, out_dir: str, out_csv: str, *,
                  job: Optional[ExpansionJob] = None, source: ClickSource = ClickSource(),
                  workers: int = 1, metrics_path: Optional[str] = None,
                  report_dir: Optional[str] = None, qc: int = 0,
                  progress: bool = True, shard: Optional[Shard] = None,
                  skip_done: bool = False) -> ExpansionSummary:
    """Expand the clicks of every case of ``csv_path`` (see the module docstring).

    Args:
        root: dataset root; relative CSV paths are read under it.
        csv_path: CSV with ``image``; ``clicks`` (for ``source.kind == "column"``),
            optional ``label`` (dense ground truth), ``mask`` (Omega_M), ``case``.
        out_dir: folder of the partial labels (created).
        out_csv: the PyMIC training CSV to write (``image,label``).
        job: expansion settings; default :class:`ExpansionJob()`.
        source: where the clicks are.
        workers: processes (1 = this process).
        metrics_path: metrics CSV; default ``report_dir/metrics.csv`` (with ground truth).
        report_dir: folder of metrics, sweep and QC files; default ``out_dir``.
        qc: QC overlays for the first ``qc`` cases of the CSV.
        progress: show a progress bar.
        shard: process only this shard's rows (:mod:`~pymic_paseg.expansion.shards`).
        skip_done: keep the cases whose partial label is already finished (their
            metrics are recomputed from it; no sweep nor QC for them).

    Raises:
        ConfigError: unreadable CSV, missing columns or click source, a sweep without
            ground truth, an output (CSV, metrics, label) that would replace an input file.
            Per-case problems are returned in ``summary.failures``.
        Interrupted: SIGINT/SIGTERM stopped the batch; the finished cases were written
            and listed first.
    """
    job = job or ExpansionJob()
    start = time.perf_counter()
    rows = read_dataset_csv(csv_path)
    if shard is not None:
        rows = shard.take(rows)
        if not rows:
            raise ConfigError(f"shard {shard.index}/{shard.count} of {csv_path} has no case "
                              "(more shards than cases)")
    if job.sweep and job.params.rule != "paper":
        raise ConfigError(f"an epsilon sweep thresholds eq. 2's geodesic distance, so it needs "
                          f"SeedExpansion_rule = paper (--rule paper). Got: {job.params.rule!r}")
    if job.sweep and job.class_num != DEFAULT_CLASS_NUM:
        raise ConfigError(f"an epsilon sweep is for a binary task (class_num = 2, one "
                          f"foreground class). Got: class_num = {job.class_num} (--class-num / "
                          "[network] class_num); leave out --sweep")
    has_truth = _check_inputs(rows, source, job.sweep, csv_path, out_dir)
    report_dir = report_dir or out_dir
    tasks = _tasks(root, rows, source, out_dir, report_dir, qc)
    metrics_path = metrics_path or os.path.join(report_dir, METRICS_FILE)
    _check_outputs(root, csv_path, rows, tasks, out_csv, metrics_path if has_truth else None,
                   report_dir if job.sweep else None)
    os.makedirs(out_dir, exist_ok=True)
    if skip_done:  # labels made with other settings must not count as done
        check_settings_stamp(out_dir, job)
    done = _finished(tasks, job) if skip_done else {}
    todo = [t for t in tasks if t.out not in done]
    if done:
        logger.info("%d of %d case(s) already expanded in %s: skipped", len(done), len(tasks),
                    out_dir)
    fresh, failures, stop = run_stoppable(functools.partial(_expand_case, job=job), todo,
                                          [t.case for t in todo], [t.out for t in todo],
                                          workers=workers, desc="expansion", progress=progress)
    by_out = {**dict(zip((t.out for t in todo), fresh)), **done}
    results = [by_out.get(t.out) for t in tasks]
    good = [(row, r) for row, r in zip(rows, results) if r is not None]
    write_rows_csv(out_csv, ["image", "label"],
                   [[row.values["image"], root_relative(r.out, root)] for row, r in good])
    summary = ExpansionSummary(len(rows), [r.out for _, r in good], failures, out_csv,
                               qc_files=[r.qc for _, r in good if r.qc])
    scored = [(row.case, r) for row, r in good if r.metrics is not None]
    summary.n_scored = len(scored)
    if has_truth:
        summary.metrics_csv = metrics_path
        summary.mean_metrics = write_metrics_csv(summary.metrics_csv, [c for c, _ in scored],
                                                 [r.metrics for _, r in scored])
    if job.sweep and any(r.sweep is not None for _, r in scored):
        summary.sweep = sweep_table([r.sweep for _, r in scored if r.sweep is not None])
        summary.sweep_files = (os.path.join(report_dir, SWEEP_CSV),
                               os.path.join(report_dir, SWEEP_PNG))
        write_sweep_csv(summary.sweep_files[0], summary.sweep)
        plot_sweep(summary.sweep_files[1], summary.sweep)
    summary.seconds = time.perf_counter() - start
    logger.info("%s", summary.describe())
    if stop.requested:
        raise Interrupted(f"expand stopped by {stop.name()}: {len(good)} of {len(rows)} case(s) "
                          f"finished, listed in {out_csv}"
                          + (f" and {summary.metrics_csv}" if summary.metrics_csv else ""),
                          stop.signum)
    return summary
