"""``pymic_run clicks`` and ``pymic_run expand``: annotation simulation and offline seed expansion.

::

    pymic_run clicks ROOT --csv CSV --out DIR [--seed S] [--margin-mm LO HI]
                     [--jitter-mm J] [--out-csv PATH] [--train-csv PATH] [--workers N]
                     [--quiet]
    pymic_run expand ROOT --csv CSV [--clicks DIR | --clicks-csv PATH] --out DIR
                     --out-csv PATH [--config CFG] [--rule R] [--epsilon E] [--lamb L]
                     [--iterations K] [--backend B] [--cost C]
                     [--intensity-normalization N] [--mask-threshold T] [--class-num C]
                     [--workers N] [--metrics PATH] [--report-dir DIR] [--sweep LIST]
                     [--qc N] [--nonfinite error|mask] [--quiet]
                     [--shard I/N | --merge N] [--skip-done]

``expand`` takes the ``SeedExpansion_*`` keys from the ``[dataset]`` section of
``--config`` (a PyMIC config file) and lets each flag override its key (table
below); ``class_num`` defaults to ``[network] class_num`` of that file, else 2.

============================== ========================================
flag                           key
============================== ========================================
``--rule``                     ``SeedExpansion_rule``
``--epsilon``                  ``SeedExpansion_epsilon``
``--lamb``                     ``SeedExpansion_lambda``
``--iterations``               ``SeedExpansion_iterations``
``--backend``                  ``SeedExpansion_backend``
``--cost``                     ``SeedExpansion_cost``
``--intensity-normalization``  ``SeedExpansion_intensity_normalization``
``--mask-threshold``           ``SeedExpansion_mask_threshold``
============================== ========================================

Exit codes: 0 every case done; 1 some case failed (the others are written, each
failure is one line on stderr); 2 usage or configuration error.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Dict, List, Tuple

from pymic_paseg.cli_common import EXIT_FAILED, EXIT_OK, PROG, ini_sections
from pymic_paseg.config import ConfigError, Section

__all__ = ["add_subcommands", "cmd_clicks", "cmd_expand", "expansion_settings", "FLAG_KEYS"]

#: ``expand`` flag (argparse dest) -> config key.
FLAG_KEYS = {
    "rule": "SeedExpansion_rule",
    "epsilon": "SeedExpansion_epsilon",
    "lamb": "SeedExpansion_lambda",
    "iterations": "SeedExpansion_iterations",
    "backend": "SeedExpansion_backend",
    "cost": "SeedExpansion_cost",
    "intensity_normalization": "SeedExpansion_intensity_normalization",
    "mask_threshold": "SeedExpansion_mask_threshold",
}


# ---------------------------------------------------------------- argument types
def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1. Got: {text!r}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0. Got: {text!r}")
    return value


def _epsilons(text: str) -> Tuple[float, ...]:
    try:
        values = tuple(float(t) for t in text.split(",") if t.strip())
    except ValueError:
        values = ()
    if not values or not all(0.0 <= v <= 1.0 for v in values):
        raise argparse.ArgumentTypeError(
            f"must be comma-separated numbers in [0, 1], e.g. 0.1,0.2,0.3. Got: {text!r}")
    return values


def _existing_dir(text: str) -> str:
    if not os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"dataset root is not a folder: {text}")
    return text


def _existing_file(text: str) -> str:
    if not os.path.isfile(text):
        raise argparse.ArgumentTypeError(f"file not found: {text}")
    return text


def _failures(command: str, summary: Any) -> int:
    print(summary.describe())
    for failure in summary.failures:
        print(f"{PROG} {command}: {failure}", file=sys.stderr)
    return EXIT_FAILED if summary.failures else EXIT_OK


# ---------------------------------------------------------------- clicks
def cmd_clicks(args: argparse.Namespace, rest: List[str]) -> int:
    from pymic_paseg.annotation.simulate_batch import ClickSimulation, simulate_dataset
    given = {"seed": args.seed, "jitter_mm": args.jitter_mm,
             "margin_mm": None if args.margin_mm is None else tuple(args.margin_mm)}
    try:
        settings = ClickSimulation(**{k: v for k, v in given.items() if v is not None})
    except ValueError as err:
        raise ConfigError(f"clicks: {err}") from None
    summary = simulate_dataset(args.root, args.csv, args.out, settings=settings,
                               out_csv=args.out_csv, train_csv=args.train_csv,
                               workers=args.workers, progress=not args.quiet)
    return _failures("clicks", summary)


# ---------------------------------------------------------------- expand
def expansion_settings(args: argparse.Namespace) -> Tuple[Any, int]:
    """``(ExpansionParams, class_num)`` from ``--config`` and the flags (flags win).

    Raises:
        ConfigError: naming ``[dataset]`` for a bad value in the file, ``[command line]``
            for a bad flag value (e.g. ``[command line] SeedExpansion_epsilon = 2: ...``).
    """
    from pymic_paseg.expansion import ExpansionParams
    from pymic_paseg.expansion.case_expansion import DEFAULT_CLASS_NUM
    config = ini_sections(args.config) if args.config else {}
    values: Dict[str, Any] = dict(config.get("dataset", {}))
    if values:  # errors in the file name [dataset]
        ExpansionParams.from_section(Section("dataset", values))
    flags = {key: getattr(args, dest) for dest, key in FLAG_KEYS.items()
             if getattr(args, dest) is not None}
    values.update({key.lower(): value for key, value in flags.items()})
    section_name = "command line" if flags else "dataset"
    params = ExpansionParams.from_section(Section(section_name, values))
    class_num = args.class_num
    if class_num is None:
        class_num = Section("network", config.get("network")).int("class_num",
                                                                   DEFAULT_CLASS_NUM, low=2)
    elif class_num < 2:
        raise ConfigError(f"--class-num = {class_num}: must be an integer >= 2")
    return params, class_num


def _merge_expansion(args: argparse.Namespace) -> int:
    """``expand ... --merge N``: the shards' CSVs and metrics joined (see expansion.shards)."""
    from pymic_paseg.annotation.batch import read_dataset_csv
    from pymic_paseg.expansion.runner import METRICS_FILE
    from pymic_paseg.expansion.shards import merge_shards
    if args.shard:
        raise ConfigError("--merge joins the shards' outputs: give it without --shard")
    metrics = args.metrics or os.path.join(args.report_dir or args.out, METRICS_FILE)
    result = merge_shards(read_dataset_csv(args.csv), args.out_csv, metrics, args.merge)
    print(f"merged {args.merge} shard(s): {result['cases']} case(s) in {args.out_csv}"
          + (f"; metrics: {metrics}" if result["mean"] else ""))
    if result["mean"]:
        print("mean Omega_F precision {fg_precision:.3f} recall {fg_recall:.3f} "
              "Dice {fg_dice:.3f}".format(**result["mean"]))
    for case in result["missing"]:
        print(f"{PROG} expand --merge: {case}: no partial label (failed in its shard)",
              file=sys.stderr)
    return EXIT_FAILED if result["missing"] else EXIT_OK


def cmd_expand(args: argparse.Namespace, rest: List[str]) -> int:
    from pymic_paseg.expansion.runner import METRICS_FILE, ClickSource, ExpansionJob, run_expansion
    from pymic_paseg.expansion.shards import parse_shard, shard_file
    if args.merge is not None:
        return _merge_expansion(args)
    params, class_num = expansion_settings(args)
    if args.clicks:
        source = ClickSource("dir", args.clicks)
    elif args.clicks_csv:
        source = ClickSource("table", args.clicks_csv)
    else:
        source = ClickSource("column")
    job = ExpansionJob(params, class_num, tuple(args.sweep or ()), nonfinite=args.nonfinite)
    shard = parse_shard(args.shard) if args.shard else None
    out_csv, metrics = args.out_csv, args.metrics
    if shard is not None:  # each shard writes its own CSVs; --merge joins them
        if args.sweep:
            raise ConfigError("--sweep summarises all cases: run it without --shard")
        out_csv = shard_file(out_csv, shard)
        metrics = shard_file(metrics or os.path.join(args.report_dir or args.out,
                                                     METRICS_FILE), shard)
    summary = run_expansion(args.root, args.csv, args.out, out_csv, job=job, source=source,
                            workers=args.workers, metrics_path=metrics,
                            report_dir=args.report_dir, qc=args.qc, progress=not args.quiet,
                            shard=shard, skip_done=shard is not None or args.skip_done)
    return _failures("expand", summary)


# ---------------------------------------------------------------- parser
def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("root", type=_existing_dir, help="dataset root (PyMIC's root_dir)")
    parser.add_argument("--csv", required=True, type=_existing_file,
                        help="dataset CSV (header row; paths relative to ROOT)")
    parser.add_argument("--workers", type=_positive_int, default=1,
                        help="processes (default 1: this process)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _add_clicks(sub) -> None:
    parser = sub.add_parser("clicks", help="simulate seven-click annotations from dense labels")
    _add_common(parser)
    parser.add_argument("--out", required=True, help="folder of the click maps")
    parser.add_argument("--seed", type=_count,
                        help="base seed; row i of the CSV uses seed + i (default 0)")
    parser.add_argument("--margin-mm", nargs=2, type=float, metavar=("LO", "HI"),
                        help="range of the background-click margin in mm (default 2 8)")
    parser.add_argument("--jitter-mm", type=float,
                        help="annotator jitter, Gaussian std in mm (default 0)")
    parser.add_argument("--out-csv", help="image,clicks CSV (default OUT/clicks.csv)")
    parser.add_argument("--train-csv", help="also write a PyMIC image,label CSV whose label "
                                            "is the click map (for the SeedExpansion transform)")
    parser.set_defaults(func=cmd_clicks, passthrough=False)


def _add_expand(sub) -> None:
    parser = sub.add_parser(
        "expand", help="offline seed expansion: clicks -> partial labels",
        epilog="SeedExpansion_* keys and their defaults: docs/annotation.md, "
               "'Running the seed expansion'")
    _add_common(parser)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--clicks", metavar="DIR",
                        help="click maps DIR/<image file name> (default: CSV column 'clicks')")
    source.add_argument("--clicks-csv", metavar="PATH", help="one clicks CSV for all cases")
    parser.add_argument("--out", required=True, help="folder of the partial labels")
    parser.add_argument("--out-csv", required=True, help="PyMIC training CSV to write")
    parser.add_argument("--config", type=_existing_file,
                        help="PyMIC config: SeedExpansion_* keys of [dataset]")
    parser.add_argument("--rule", help="overrides SeedExpansion_rule: paper (PA-Seg eq. 2) or "
                                       "adaptive (all seven clicks)")
    parser.add_argument("--epsilon", help="overrides SeedExpansion_epsilon")
    parser.add_argument("--lamb", help="overrides SeedExpansion_lambda")
    parser.add_argument("--iterations", help="overrides SeedExpansion_iterations")
    parser.add_argument("--backend", help="overrides SeedExpansion_backend")
    parser.add_argument("--cost", help="overrides SeedExpansion_cost")
    parser.add_argument("--intensity-normalization",
                        help="overrides SeedExpansion_intensity_normalization")
    parser.add_argument("--mask-threshold",
                        help="overrides SeedExpansion_mask_threshold: Omega_M = image > T "
                             "for rows without a 'mask' (default: the whole image)")
    parser.add_argument("--class-num", type=int,
                        help="unlabeled value = class count (default [network] class_num, or 2)")
    parser.add_argument("--metrics", help="metrics CSV (default REPORT_DIR/metrics.csv)")
    parser.add_argument("--report-dir", help="folder of metrics, sweep and QC (default OUT)")
    parser.add_argument("--sweep", type=_epsilons, metavar="LIST",
                        help="epsilon values, e.g. 0.05,0.1,0.2: sweep.csv and sweep.png")
    parser.add_argument("--qc", type=_count, default=0, metavar="N",
                        help="QC overlay PNGs of the first N cases (default 0)")
    parser.add_argument("--nonfinite", choices=("error", "mask"), default="error",
                        help="NaN/inf image voxels: fail the case (default) or warn and "
                             "leave them out of Omega_M")
    parser.add_argument("--shard", metavar="I/N",
                        help="only rows I, I+N, I+2N ... of the CSV (I from 0 to N-1, e.g. "
                             "$SLURM_ARRAY_TASK_ID/N); writes OUT_CSV and the metrics with "
                             ".shardIofN before the extension; skips finished cases")
    parser.add_argument("--skip-done", action="store_true",
                        help="keep the partial labels already finished in OUT (implied by "
                             "--shard)")
    parser.add_argument("--merge", type=int, metavar="N",
                        help="join the CSVs and metrics of the N shards into OUT_CSV and the "
                             "metrics file; nothing is expanded")
    parser.set_defaults(func=cmd_expand, passthrough=False)


def add_subcommands(subparsers) -> None:
    """Add ``clicks`` and ``expand`` to ``pymic_run``'s sub-command parsers."""
    _add_clicks(subparsers)
    _add_expand(subparsers)
