"""``pymic_run pipeline PROJECT`` and ``pymic_run report RUN``: parsers and commands.

::

    pymic_run pipeline PROJECT [--device D] [--stages 1,2] [--no-report]
    pymic_run report RUN [--pairs CSV] [--predictions DIR] [--ground-truth-folder DIR]
                     [--classes 1:NAME,...] [--images DIR]

Exit codes as ``pymic_run``'s: 0 done; 1 a step failed (its log is named); 2 usage or
project error; 128 + N stopped by signal N during a training (its checkpoint is saved;
rerun the same command to continue).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List

__all__ = ["add_subcommands", "cmd_pipeline", "cmd_report"]

EXIT_OK, EXIT_FAILED = 0, 1
PROG = "pymic_run"


def _stages(text: str):
    from pymic_paseg.pipeline.runner import parse_stages
    try:
        return parse_stages(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _classes(text: str):
    from pymic_paseg.pipeline.run_folder import parse_classes
    try:
        return parse_classes(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _continue_hint(command: str) -> str:
    return f"{PROG}: rerun `{command}` to continue where it stopped"


def cmd_pipeline(args: argparse.Namespace, rest: List[str]) -> int:
    from pymic_paseg.config import ConfigError
    from pymic_paseg.errors import Interrupted
    from pymic_paseg.pipeline import Pipeline, PipelineOptions, PipelineStepError
    from pymic_paseg.project import ProjectError, load_project
    try:
        project = load_project(args.project)
        pipeline = Pipeline(project, PipelineOptions(device=args.device, stages=args.stages,
                                                     report=not args.no_report))
    except ProjectError as error:
        raise ConfigError(str(error)) from None
    command = f"{PROG} pipeline {args.project}"
    try:
        report = pipeline.run()
    except PipelineStepError as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        print(_continue_hint(command) + " (once the cause is fixed)", file=sys.stderr)
        return EXIT_FAILED
    except Interrupted as error:  # the training saved its checkpoint
        print(f"{PROG}: {error}", file=sys.stderr)
        print(_continue_hint(command), file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:  # outside a training: the finished steps are kept
        print(_continue_hint(command), file=sys.stderr)
        return 130
    except ProjectError as error:
        raise ConfigError(str(error)) from None
    if report is not None:
        print(f"report: {report}")
    return EXIT_OK


def cmd_report(args: argparse.Namespace, rest: List[str]) -> int:
    from pymic_paseg.config import ConfigError
    from pymic_paseg.pipeline.run_folder import report_run
    from pymic_paseg.project import ProjectError
    try:
        report = report_run(Path(args.run), pairs=args.pairs, predictions=args.predictions,
                            ground_truth_folder=args.ground_truth_folder,
                            classes=args.classes, images=args.images)
    except (ProjectError, ValueError, FileNotFoundError) as error:
        raise ConfigError(str(error)) from None
    print(f"report: {report}")
    return EXIT_OK


def add_subcommands(subparsers) -> None:
    """Add ``pipeline`` and ``report`` to ``pymic_run``'s sub-command parsers."""
    run = subparsers.add_parser(
        "pipeline", help="run a project's steps (expand, stage 1, stage 2, inference, "
                         "evaluation, report) in one process; a rerun continues",
        epilog="PROJECT/project.json is written by `pymic_run prepare` or `pymic_run demo` "
               "(docs/usage.md, 'Pipeline and report').")
    run.add_argument("project", help="project folder (holds project.json)")
    run.add_argument("--device", help="auto, cpu, cuda or cuda:N (default: each config's)")
    run.add_argument("--stages", type=_stages, default=(1, 2), metavar="1,2",
                     help="stages to run: 1 = expansion and stage-1 trainings (and a "
                          "fully supervised reference), 2 = SCM; choices 1, 2 (default: 1,2)")
    run.add_argument("--no-report", action="store_true",
                     help="stop after inference; write no report")
    run.set_defaults(func=cmd_pipeline, passthrough=False)
    rep = subparsers.add_parser(
        "report", help="curves, scores, overlays and box plot of a project or a run folder",
        epilog="RUN: a project folder, or a run folder = a ckpt_dir's parent (or a ckpt_dir); "
               "see docs/usage.md, 'Pipeline and report'.")
    rep.add_argument("run", help="project folder or run folder; the report goes to RUN/report")
    rep.add_argument("--pairs", type=Path,
                     help="PyMIC evaluation pairs CSV (ground_truth, segmentation) to score "
                          "the predictions (run folders only; default: no scores)")
    rep.add_argument("--predictions", type=Path,
                     help="folder of the predictions (default: RUN/prediction)")
    rep.add_argument("--ground-truth-folder", type=Path,
                     help="folder the ground_truth paths are relative to "
                          "(default: the pairs CSV's folder)")
    rep.add_argument("--classes", type=_classes, default={1: "foreground"},
                     metavar="LABEL:NAME,...",
                     help="classes to score (default: 1:foreground)")
    rep.add_argument("--images", type=Path,
                     help="folder of the test images, named as the predictions, for "
                          "the overlays (default: the ground truth is drawn alone)")
    rep.set_defaults(func=cmd_report, passthrough=False)
