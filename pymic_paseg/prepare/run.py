"""``pymic_run prepare``: from a folder of images and clicks to a PA-Seg project folder.

Steps: find and pair the files (:mod:`.discover`); choose the splits (:mod:`.split`);
check every image, dense label and click file (:mod:`.cases`); choose the classes,
the Omega_M threshold, the patch size and the CRF bandwidth (:mod:`.rules`); link the
images and labels into ``PROJECT/data`` and write the merged clicks; expand the
training cases' clicks exactly as ``pymic_run expand`` with the arguments recorded in
``project.json`` (QC overlays in ``PROJECT/expansion/qc``); write the CSV files, the
configs (:mod:`.configs`), ``project.json`` and ``prepare_report.csv``.
"""
from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from pymic_paseg.annotation.batch import write_rows_csv
from pymic_paseg.annotation.classes import class_table, parse_class_names
from pymic_paseg.annotation.io_csv import write_csv_annotations
from pymic_paseg.cli_common import working_directory
from pymic_paseg.prepare import cases as checks
from pymic_paseg.prepare.configs import DATA_DIR, ConfigPlan, write_configs
from pymic_paseg.prepare.discover import Inputs, discover, image_ending
from pymic_paseg.prepare.rules import (choose_patch_size, choose_valid_threshold,
                                       median_spacing)
from pymic_paseg.prepare.split import TEST, TRAIN, VALID, assign_splits, read_case_list
from pymic_paseg.project import Project, save_project

__all__ = ["PrepareOptions", "PrepareResult", "PrepareError", "prepare_project", "REPORT_FILE"]

logger = logging.getLogger(__name__)
REPORT_FILE = "prepare_report.csv"
PARTIAL_CSV = f"{DATA_DIR}/train_partial.csv"


class PrepareError(ValueError):
    """Nothing left to train on, or unusable inputs; the message says why."""


@dataclass
class PrepareOptions:
    images: Path
    clicks: Path
    out: Path
    labels: Optional[Path] = None
    split: Tuple[float, float, float] = (0.7, 0.1, 0.2)
    valid_csv: Optional[str] = None
    test_csv: Optional[str] = None
    seed: int = 0
    class_names: str = ""
    object_classes: Optional[str] = None
    valid_threshold: str = "auto"
    patch_size: Optional[List[int]] = None
    iterations: Optional[int] = None
    qc: int = 10
    copy: bool = False
    expand: bool = True
    workers: int = 1
    progress: bool = True


@dataclass
class PrepareResult:
    project: Project
    splits: Dict[str, str]
    bad: List[checks.BadCase] = field(default_factory=list)
    patch_size: List[int] = field(default_factory=list)
    valid_threshold: Optional[float] = None
    expansion: str = ""
    unmatched: List[str] = field(default_factory=list)


def _link(source: str, target: Path, copy: bool) -> str:
    """Symlink (or copy) ``source`` to ``target``; return ``target`` relative to data/."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink() or target.exists():
        target.unlink()
    if copy:
        shutil.copyfile(source, target)
    else:
        try:
            os.symlink(os.path.abspath(source), target)
        except OSError:
            shutil.copyfile(source, target)
    return target.relative_to(target.parents[1]).as_posix()


def _csv(path: Path, columns: List[str], rows: List[List[str]]) -> str:
    write_rows_csv(str(path), columns, rows)
    return path.name


class _Preparer:
    def __init__(self, opt: PrepareOptions):
        self.opt = opt
        self.root = Path(opt.out).resolve()
        self.bad: List[checks.BadCase] = []
        self.splits: Dict[str, str] = {}

    def fail(self, case: str, step: str, problem: str) -> None:
        self.bad.append(checks.BadCase(case, self.splits.get(case, "?"), step, problem))

    def _splits(self, found: Inputs) -> None:
        names = list(found.images)
        lists = {k: None if p is None else read_case_list(p, names)
                 for k, p in (("valid", self.opt.valid_csv), ("test", self.opt.test_csv))}
        self.splits = assign_splits(names, set(found.clicks), set(found.labels),
                                    fractions=self.opt.split, seed=self.opt.seed,
                                    valid=lists["valid"], test=lists["test"])

    def _images(self, found: Inputs) -> Dict[str, checks.ImageInfo]:
        infos = {}
        for case, path in found.images.items():
            try:
                infos[case] = checks.check_image(path)
            except (ValueError, OSError) as err:
                self.fail(case, "image", checks.error_text(err))
        return infos

    def _labels(self, found: Inputs, infos) -> Dict[str, int]:
        top = {}
        for case, split in self.splits.items():
            if split == TRAIN or case not in found.labels or case not in infos:
                continue
            try:
                top[case] = checks.check_label(found.labels[case], infos[case].geometry)
            except (ValueError, OSError) as err:
                self.fail(case, "label", checks.error_text(err))
        return top

    def _clicks(self, found: Inputs, infos, threshold_option: str):
        table = checks.read_object_classes(self.opt.object_classes) \
            if self.opt.object_classes else {}
        annotations = {}
        for case in [c for c, s in self.splits.items() if s == TRAIN and c in infos]:
            try:
                annotation = checks.read_clicks(case, found.clicks[case], infos[case].geometry,
                                                found.clicks_table)
                annotations[case] = checks.apply_object_classes(annotation, table)
            except (ValueError, OSError) as err:
                self.fail(case, "clicks", checks.error_text(err))
        threshold = choose_valid_threshold(threshold_option,
                                           [infos[c].minimum for c in annotations])
        good = {}
        for case, annotation in annotations.items():
            problems = checks.click_problems(annotation, infos[case].geometry,
                                             found.images[case], threshold)
            for problem in problems:
                self.fail(case, "validation", problem)
            if not problems:
                good[case] = annotation
        return good, threshold

    def run(self) -> PrepareResult:
        opt = self.opt
        found = discover(Path(opt.images), Path(opt.clicks), opt.labels)
        self._splits(found)
        infos = self._images(found)
        tops = self._labels(found, infos)
        good, threshold = self._clicks(found, infos, opt.valid_threshold)
        if not good:
            self._write_report()
            raise PrepareError(f"no training case left (cases with clicks that passed every "
                               f"check); see {self.root / REPORT_FILE}")
        classes = class_table(good.values(), parse_class_names(opt.class_names))
        for case, top in tops.items():
            if top > len(classes):
                self.fail(case, "label", f"{found.labels[case]} holds class {top}; the clicks "
                                         f"define {len(classes)} class(es)")
        bad = {b.case for b in self.bad}
        keep = {c: s for c, s in self.splits.items() if c not in bad and c in infos
                and (s != TRAIN or c in good)}
        data = self.root / DATA_DIR
        images = {c: _link(found.images[c], data / "images" / f"{c}{image_ending(found.images[c])}",
                           opt.copy) for c in keep}
        labels = {c: _link(found.labels[c], data / "labels" / f"{c}{image_ending(found.labels[c])}",
                           opt.copy) for c in keep if keep[c] != TRAIN and c in found.labels}
        train = [c for c, s in keep.items() if s == TRAIN]
        write_csv_annotations([good[c] for c in train], data / "clicks.csv")
        _csv(data / "train_clicks.csv", ["case", "image"], [[c, images[c]] for c in train])
        patch = opt.patch_size or choose_patch_size(
            [infos[c].geometry.shape_zyx for c in keep], infos[train[0]].geometry.spacing_zyx,
            list(keep))
        spacing = median_spacing([infos[c].geometry.spacing_zyx for c in train])
        expand = self._expand_args(len(classes) + 1, threshold)
        summary = self._expand(expand) if opt.expand else "not run (--no-expand)"
        trained = self._trained(train)
        project = self._write(keep, images, labels, trained, classes, expand, ConfigPlan(
            len(classes) + 1, list(patch), list(spacing), threshold,
            any(s == VALID for s in keep.values()), opt.iterations))
        self._write_report()
        return PrepareResult(project, self.splits, self.bad, list(patch), threshold, summary,
                             found.unmatched)

    def _expand_args(self, class_num: int, threshold: Optional[float]) -> List[str]:
        args = [DATA_DIR, "--csv", f"{DATA_DIR}/train_clicks.csv", "--clicks-csv",
                f"{DATA_DIR}/clicks.csv", "--out", f"{DATA_DIR}/partial", "--out-csv",
                PARTIAL_CSV, "--report-dir", "expansion", "--qc", str(self.opt.qc),
                "--class-num", str(class_num), "--workers", str(self.opt.workers)]
        if threshold is not None:
            args += ["--mask-threshold", repr(float(threshold))]
        return args

    def _expand(self, expand_args: List[str]) -> str:
        """Run the expansion exactly as ``pymic_run expand EXPAND_ARGS`` in the project."""
        from pymic_paseg.cli import build_parser
        from pymic_paseg.commands import expansion_settings
        from pymic_paseg.expansion.runner import ClickSource, ExpansionJob, run_expansion
        with working_directory(self.root):
            quiet = [] if self.opt.progress else ["--quiet"]
            args = build_parser().parse_args(["expand", *expand_args, *quiet])
            params, class_num = expansion_settings(args)
            summary = run_expansion(args.root, args.csv, args.out, args.out_csv,
                                    job=ExpansionJob(params, class_num, nonfinite=args.nonfinite),
                                    source=ClickSource("table", args.clicks_csv),
                                    workers=args.workers, report_dir=args.report_dir,
                                    qc=args.qc, progress=not args.quiet)
        for failure in summary.failures:
            self.fail(failure.case, "expansion", failure.message)
        return summary.describe()

    def _trained(self, train: List[str]) -> List[str]:
        partial = self.root / PARTIAL_CSV
        if not partial.is_file():
            return train
        failed = {b.case for b in self.bad if b.step == "expansion"}
        return [c for c in train if c not in failed]

    def _write(self, keep, images, labels, trained, classes, expand, plan) -> Project:
        data = self.root / DATA_DIR
        _csv(data / "train_images.csv", ["image"], [[images[c]] for c in trained])
        valid = [c for c, s in keep.items() if s == VALID]
        _csv(data / "valid.csv", ["image", "label"], [[images[c], labels[c]] for c in valid])
        test = [c for c, s in keep.items() if s == TEST]
        with_label = bool(test) and all(c in labels for c in test)
        _csv(data / "test.csv", ["image", "label"] if with_label else ["image"],
             [[images[c]] + ([labels[c]] if with_label else []) for c in test])
        pairs = [[labels[c], Path(images[c]).name] for c in test if c in labels]
        _csv(data / "test_eval_pairs.csv", ["ground_truth", "segmentation"], pairs)
        trainings = write_configs(self.root, plan)
        split_rows = [[c, s, "yes" if c in keep else "no (see prepare_report.csv)"]
                      for c, s in self.splits.items()]
        _csv(self.root / "splits.csv", ["case", "split", "used"], split_rows)
        project = Project(
            root=self.root, classes=classes, trainings=trainings,
            expand=expand, partial_csv=PARTIAL_CSV,
            test_csv=f"{DATA_DIR}/test.csv" if test else None,
            eval_pairs_csv=f"{DATA_DIR}/test_eval_pairs.csv" if pairs else None,
            ground_truth_folder=DATA_DIR, created_by="prepare",
            notes=f"{len(trained)} training, {len(valid)} validation, {len(test)} test case(s) "
                  f"({len(pairs)} scored); patch {plan.patch_size}; Omega_M "
                  + ("whole image" if plan.valid_threshold is None
                     else f"image > {plan.valid_threshold:g}"))
        save_project(project)
        return project

    def _write_report(self) -> None:
        _csv(self.root / REPORT_FILE, ["case", "split", "step", "problem"],
             [[b.case, b.split, b.step, b.problem] for b in self.bad])


def prepare_project(options: PrepareOptions) -> PrepareResult:
    """Prepare ``options.out`` (see the module docstring); bad cases are in the result."""
    return _Preparer(options).run()
