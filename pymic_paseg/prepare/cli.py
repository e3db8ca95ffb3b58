"""``pymic_run prepare``: the sub-command's options and its printout.

::

    pymic_run prepare IMAGES --clicks CLICKS --out PROJECT [--labels LABELS]
                      [--split 0.7,0.1,0.2 | --valid-csv CSV --test-csv CSV] [--seed S]
                      [--class-names 1=NAME,...] [--object-classes CSV]
                      [--valid-threshold auto|none|T] [--patch-size Z,Y,X]
                      [--iterations N] [--qc N] [--copy] [--no-expand] [--workers N] [--quiet]

Exit codes: 0 every case is usable; 1 the project was written but some cases were
left out (listed, and in ``PROJECT/prepare_report.csv``); 2 nothing could be prepared.
"""
from __future__ import annotations

import argparse
import sys
from typing import List

__all__ = ["add_prepare", "cmd_prepare"]

PROG = "pymic_run prepare"
EXIT_OK, EXIT_SOME_BAD, EXIT_USAGE = 0, 1, 2


def _table(rows: List[List[str]], header: List[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header) - 1)]
    lines = []
    for row in [header] + rows:
        cells = [str(c).ljust(w) for c, w in zip(row, widths)] + [str(row[-1])]
        lines.append("  " + "  ".join(cells))
    return "\n".join(lines)


def cmd_prepare(args: argparse.Namespace, rest: List[str]) -> int:
    from pymic_paseg.prepare import PrepareOptions, prepare_project
    from pymic_paseg.prepare.rules import parse_patch_size
    from pymic_paseg.prepare.run import REPORT_FILE
    from pymic_paseg.prepare.split import parse_split
    try:
        if args.split is not None and (args.valid_csv or args.test_csv):
            raise ValueError("--split and --valid-csv/--test-csv exclude each other")
        options = PrepareOptions(
            images=args.images, clicks=args.clicks, out=args.out, labels=args.labels,
            split=parse_split(args.split or "0.7,0.1,0.2"), valid_csv=args.valid_csv,
            test_csv=args.test_csv, seed=args.seed, class_names=args.class_names or "",
            object_classes=args.object_classes, valid_threshold=args.valid_threshold,
            patch_size=parse_patch_size(args.patch_size) if args.patch_size else None,
            iterations=args.iterations, qc=args.qc, copy=args.copy, expand=not args.no_expand,
            workers=args.workers, progress=not args.quiet)
        result = prepare_project(options)
    except (ValueError, OSError) as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    project = result.project
    counts = {s: sum(1 for v in result.splits.values() if v == s) for s in ("train", "valid",
                                                                           "test")}
    print(f"project: {project.root}")
    print(f"cases: {counts['train']} train (clicks), {counts['valid']} validation, "
          f"{counts['test']} test; classes: "
          + ", ".join(f"{k}={v}" for k, v in project.classes.items()))
    print(f"patch size {result.patch_size}; Omega_M: "
          + ("the whole image" if result.valid_threshold is None
             else f"image > {result.valid_threshold:g}"))
    print(f"expansion: {result.expansion}")
    for path in result.unmatched:
        print(f"ignored (no image of its case): {path}", file=sys.stderr)
    if result.bad:
        print(f"{len(result.bad)} problem(s); these cases were left out "
              f"(also in {project.root / REPORT_FILE}):", file=sys.stderr)
        print(_table([[b.case, b.split, b.step, b.problem] for b in result.bad],
                     ["case", "split", "step", "problem"]), file=sys.stderr)
    print(f"next: pymic_run pipeline {args.out}")
    return EXIT_SOME_BAD if result.bad else EXIT_OK


def _positive(text: str) -> int:
    value = int(text) if text.isdigit() else 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1. Got: {text!r}")
    return value


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"must be an integer >= 0. Got: {text!r}")
    return int(text)


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows ``(default: X)`` unless the help already says it or there is none."""

    def _get_help_string(self, action):
        text = action.help or ""
        if ("default" in text or action.default is None or action.default is False
                or action.default == argparse.SUPPRESS):
            return text
        return super()._get_help_string(action)


def add_prepare(sub) -> None:
    """Add ``prepare`` to ``pymic_run``'s sub-command parsers."""
    parser = sub.add_parser(
        "prepare", help="a folder of images + clicks -> a project for `pymic_run pipeline`",
        formatter_class=_Formatter,
        description="Pair images with clicks by case name, check every case, expand the "
                    "clicks of the training cases and write CSV files, configs and "
                    "project.json into PROJECT. Walkthrough: docs/own_data.md.")
    parser.add_argument("images", metavar="IMAGES", help="folder of the images (.nii.gz, .nii, .mha, .nrrd); "
                                       "case = file name up to its first dot")
    parser.add_argument("--clicks", required=True,
                        help="folder of click files (<case>*.mrk.json, <case>*.fcsv, click "
                             "maps <case>*.nii.gz), or one clicks CSV (docs/annotation.md)")
    parser.add_argument("--out", required=True, metavar="PROJECT", help="project folder to write")
    parser.add_argument("--labels", help="folder of dense labels <case>*.nii.gz; used only "
                                         "for validation and test cases, never for training")
    parser.add_argument("--split", default=None, metavar="TRAIN,VALID,TEST",
                        help="fractions of all cases; validation and test cases are drawn "
                             "from the labelled ones (default when no list is given: "
                             "0.7,0.1,0.2)")
    parser.add_argument("--valid-csv", metavar="CSV", help="CSV (column case or image) of the validation cases")
    parser.add_argument("--test-csv", metavar="CSV", help="CSV (column case or image) of the test cases")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the split")
    parser.add_argument("--class-names", metavar="1=NAME,...",
                        help="names of the object classes (default: foreground)")
    parser.add_argument("--object-classes", metavar="CSV",
                        help="class of each object of a click map: columns case,object,label")
    parser.add_argument("--valid-threshold", default="auto", metavar="auto|none|T",
                        help="Omega_M = image > T; none: the whole image; auto: 0 if no "
                             "training image has a negative voxel, else none")
    parser.add_argument("--patch-size", metavar="Z,Y,X",
                        help="training patch (default: from the image sizes, "
                             "docs/own_data.md)")
    parser.add_argument("--iterations", type=_positive, metavar="N",
                        help="iter_max of every training (default: the templates')")
    parser.add_argument("--qc", type=_count, default=10, metavar="N",
                        help="QC overlays of the first N training cases")
    parser.add_argument("--copy", action="store_true",
                        help="copy images and labels into PROJECT/data (default: symlinks)")
    parser.add_argument("--no-expand", action="store_true",
                        help="do not expand now; `pymic_run pipeline` will")
    parser.add_argument("--workers", type=_positive, default=1, metavar="N", help="expansion processes")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=cmd_prepare, passthrough=False)
