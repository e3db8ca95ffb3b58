"""``pymic_run``: PyMIC's command line with pymic_paseg's components registered.

Sub-commands::

    pymic_run train CFG [PyMIC options] [--resume] [--dry-run] [--device D] [--set SEC.KEY=VAL ...]
    pymic_run check CFG [--stage train|test] [--set SEC.KEY=VAL ...]
    pymic_run test  CFG [PyMIC options] [--device D] [--set SEC.KEY=VAL ...]
    pymic_run preprocess CFG
    pymic_run list
    pymic_run demo-data OUT_DIR [--cases N] [--seed S]
    pymic_run --version

``train``/``test``/``preprocess`` register our components, route PyMIC's
dispatch to the device-aware agents (:mod:`pymic_paseg.agents.routing`) and
then call PyMIC's own ``main()`` with the remaining arguments, so every PyMIC
option (``--train_csv``, ``--ckpt_dir``, ``--iter_max``, ``--gpus`` ...) works.

Exit codes: 0 success; 1 a run failed (e.g. some test cases, a bad checkpoint,
non-finite gradients); 2 usage or configuration error (one line on stderr, no
traceback); 128 + N stopped by signal N (130 SIGINT, 143 SIGTERM) after saving
what had finished (a training checkpoint, the finished cases of a batch).
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import io
import sys
import warnings
from typing import Callable, List, Optional, Sequence

from pymic_paseg import __version__
from pymic_paseg.cli_common import (EXIT_FAILED, EXIT_OK, EXIT_USAGE, PROG, ini_sections,
                                    read_ini)


class UsageError(Exception):
    """Bad command line: reported on one line, exit code 2."""


# ---------------------------------------------------------------- helpers
def _check_config_file(path: str) -> None:
    if not read_ini(path, UsageError).sections():
        raise UsageError(f"config file {path} has no [sections]")


class _DryRunDone(Exception):
    """Raised inside PyMIC's main() once ``train --dry-run`` has checked the config."""

    def __init__(self, faults: List[str]):
        super().__init__(f"{len(faults)} fault(s)")
        self.faults = faults


def _patch_pymic_parsing(overrides: dict, dry_run: bool = False) -> None:
    """Wrap PyMIC's config parsing for the entry-point modules.

    * ``gpus = []`` crashes PyMIC's list parser (IndexError on ''): treat as empty list;
    * PyMIC prints every key while parsing: keep that out of the terminal;
    * apply our own options (``--resume``, ``--device``) after PyMIC's;
    * validate the whole config (:mod:`pymic_paseg.config_check`) before PyMIC
      dispatches to an agent or reads any data.
    """
    import pymic.net_run.predict as predict
    import pymic.net_run.train as train
    import pymic.util.parse_config as pc

    if not getattr(pc.parse_list, "_paseg", False):
        original_list = pc.parse_list

        @functools.wraps(original_list)
        def parse_list(val_str):
            return [] if not str(val_str).strip() else original_list(val_str)
        parse_list._paseg = True
        pc.parse_list = parse_list

    def quiet_parse(args):
        with contextlib.redirect_stdout(io.StringIO()):
            return pc.parse_config(args)

    def synchronizer(stage):
        def synchronize(config):
            from pymic_paseg.config_check import validate_config
            for section, values in overrides.items():  # before PyMIC derives keys from them
                config.setdefault(section, {}).update(values)
            if dry_run:  # `train --dry-run`: every fault, then stop before PyMIC runs
                from pymic_paseg.checkup import dry_run_faults
                raise _DryRunDone(dry_run_faults(config, stage))
            validate_config(config, stage)  # before PyMIC derives keys, dispatches, reads data
            return pc.synchronize_config(config)
        return synchronize

    for module, stage in ((train, "train"), (predict, "test")):
        module.parse_config = quiet_parse
        module.synchronize_config = synchronizer(stage)


def _run_pymic(main: Callable[[], None], prog: str, cfg: str, rest: Sequence[str],
               overrides: dict, dry_run: bool = False) -> int:
    import pymic_paseg
    from pymic_paseg.agents.routing import install_routing
    _check_config_file(cfg)
    pymic_paseg.register()
    install_routing()
    _patch_pymic_parsing(overrides, dry_run)
    saved = sys.argv
    sys.argv = [prog, cfg, *rest]
    try:
        main()
    except _DryRunDone as done:
        return _report_check(cfg, "train", done.faults)
    finally:
        sys.argv = saved
    return EXIT_OK


def _report_check(cfg: str, stage: str, faults: List[str]) -> int:
    """Print each fault on its own line (stderr, exit 2), or one OK line (stdout, exit 0)."""
    for fault in faults:
        print(f"{PROG} check: {cfg}: {fault}", file=sys.stderr)
    if faults:
        print(f"{PROG} check: {cfg}: {len(faults)} fault(s) for the {stage} stage",
              file=sys.stderr)
        return EXIT_USAGE
    print(f"{cfg}: no fault found for the {stage} stage (config, CSV files and images, "
          "transforms, agent, network, loss, checkpoints)")
    return EXIT_OK


# ---------------------------------------------------------------- commands
def _overrides(args: argparse.Namespace) -> dict:
    """Our options as ``{section: {key: value}}``, applied after PyMIC parsed the config.

    An unknown ``--set`` section or key is a ``ConfigError`` naming the closest match.
    """
    from pymic.util.parse_config import parse_value_from_string

    from pymic_paseg.config_check import check_override
    overrides: dict = {}
    sections = {name: list(keys) for name, keys in ini_sections(args.cfg, UsageError).items()}
    for item in getattr(args, "set", None) or []:
        target, sep, value = item.partition("=")
        section, dot, key = target.partition(".")
        if not sep or not dot or not section.strip() or not key.strip():
            raise UsageError(f"--set {item!r}: expected SECTION.KEY=VALUE, "
                             "e.g. --set training.iter_max=200")
        text = value.strip()
        check_override(sections, section.strip(), key.strip())
        overrides.setdefault(section.strip(), {})[key.strip().lower()] = \
            parse_value_from_string(text) if text else None
    if getattr(args, "resume", False):
        overrides.setdefault("training", {})["resume"] = True
    if getattr(args, "device", None):
        for section in ("training", "testing"):
            overrides.setdefault(section, {})["device"] = args.device
    return overrides


def cmd_train(args: argparse.Namespace, rest: List[str]) -> int:
    _check_config_file(args.cfg)
    import pymic.net_run.train as train
    from pymic_paseg.agents.distributed import quiet_secondary_rank
    quiet_secondary_rank(train)  # under torchrun, ranks > 0 write no log nor config copy
    return _run_pymic(train.main, "pymic_train", args.cfg, rest, _overrides(args),
                      dry_run=getattr(args, "dry_run", False))


def cmd_check(args: argparse.Namespace, rest: List[str]) -> int:
    """``pymic_run check CFG``: every fault of the config for a stage, nothing run."""
    import pymic.util.parse_config as pc

    import pymic_paseg
    from pymic_paseg.checkup import dry_run_faults
    _check_config_file(args.cfg)
    overrides = _overrides(args)
    pymic_paseg.register()
    with contextlib.redirect_stdout(io.StringIO()):
        config = pc.parse_config(argparse.Namespace(cfg=args.cfg))
    for section, values in overrides.items():
        config.setdefault(section, {}).update(values)
    stage = args.stage or ("train" if "training" in config else "test")
    return _report_check(args.cfg, stage, dry_run_faults(config, stage))


def cmd_test(args: argparse.Namespace, rest: List[str]) -> int:
    _check_config_file(args.cfg)
    import pymic.net_run.predict as predict
    return _run_pymic(predict.main, "pymic_test", args.cfg, rest, _overrides(args))


def cmd_preprocess(args: argparse.Namespace, rest: List[str]) -> int:
    _check_config_file(args.cfg)
    import pymic.net_run.preprocess as preprocess
    return _run_pymic(preprocess.main, "pymic_preprocess", args.cfg, rest, {})


def cmd_list(args: argparse.Namespace, rest: List[str]) -> int:
    import pymic_paseg
    components = pymic_paseg.register()
    width = max([len(c.name) for c in components] + [4])
    print(f"pymic_paseg {__version__}: {len(components)} component(s) registered in PyMIC")
    for comp in components:
        print(f"  {comp.registry:<14} {comp.name:<{width}}  {comp.target}")
    print("routed (device-aware, not registered): fully_sup -> "
          "pymic_paseg.agents.fullsup.FullySupervisedAgent; PyMIC's WSL/NLL/SSL methods -> "
          "DeviceAware<Method>")
    return EXIT_OK


def cmd_demo_data(args: argparse.Namespace, rest: List[str]) -> int:
    from pymic_paseg.data import build_demo_dataset, demo_config
    if args.cases < 3:
        raise UsageError(f"--cases {args.cases}: need at least 3 (train, valid, test)")
    # 10% validation and 20% test cases (4 and 8 of the default 40), at least one each
    config = demo_config(args.preset, n_cases=args.cases, seed=args.seed,
                         n_valid=max(1, round(0.1 * args.cases)),
                         n_test=max(1, round(0.2 * args.cases)))
    from pymic_paseg.data import TemplateNotFoundError
    try:
        dataset = build_demo_dataset(args.out_dir, config, progress=not args.quiet)
    except TemplateNotFoundError as exc:  # nilearn is the `demo` extra
        print(f"{PROG} demo-data: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"demo dataset: {len(dataset.cases)} case(s) in {dataset.root}")
    for split, path in dataset.csv.items():
        print(f"  {split:<6} {path}")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace, rest: List[str]) -> int:
    from pymic_paseg.demo import DemoOptions, DemoPipeline, DemoStepError
    from pymic_paseg.errors import Interrupted
    if args.iterations is not None and args.iterations < 1:
        raise UsageError(f"--iterations {args.iterations}: must be >= 1")
    options = DemoOptions(out=args.out, cases=args.cases, seed=args.seed,
                          with_full=args.with_full, iterations=args.iterations,
                          device=args.device, preset=args.preset)
    try:
        report = DemoPipeline(options).run()
    except DemoStepError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except Interrupted as exc:  # a training saved its checkpoint; a rerun resumes it
        print(f"{PROG}: {exc}\n{PROG}: rerun the same `{PROG} demo` (or `{PROG} pipeline "
              f"{args.out}`) to continue", file=sys.stderr)
        return exc.exit_code
    print(f"report: {report}")
    return EXIT_OK


def cmd_reproduce(args: argparse.Namespace, rest: List[str]) -> int:
    from pymic_paseg.reproduce import Reproduction, parse_tables
    try:
        tables = parse_tables(args.tables)
        only = [k.strip() for k in args.rows.split(",") if k.strip()] if args.rows else None
        harness = Reproduction(args.out, args.preset, tables, seed=args.seed,
                               device=args.device, only=only)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    print(f"tables: {harness.run()}")
    return EXIT_OK


# ---------------------------------------------------------------- parser
class _DefaultsFormatter(argparse.HelpFormatter):
    """Every option's help ends with its default, unless the help text already says it."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text.lower() or not action.option_strings or action.nargs == 0 \
                or any(action.default is v for v in (None, False, argparse.SUPPRESS)):
            return text
        return f"{text} (default: %(default)s)".strip()


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _DefaultsFormatter)
        super().__init__(*args, **kwargs)

    def add_argument(self, *args, **kwargs):
        if not kwargs.get("help") and kwargs.get("default") is not None \
                and kwargs.get("default") is not False:
            kwargs["help"] = "(default: %(default)s)"  # else argparse prints no help line
        return super().add_argument(*args, **kwargs)

    def error(self, message: str):  # one line, exit 2, no usage dump
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="PyMIC with PA-Seg components (pymic_paseg).")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")
    for name, func, text in (("train", cmd_train, "PyMIC training (pymic_train's options too)"),
                             ("test", cmd_test, "PyMIC inference (pymic_test's options too)")):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("cfg")
        if name == "train":
            cmd.add_argument("--resume", action="store_true",
                             help="continue from the latest checkpoint in ckpt_dir")
            cmd.add_argument("--dry-run", action="store_true",
                             help="report every fault of the config (as `check`), do not train")
        cmd.add_argument("--device", help="auto, cpu, cuda or cuda:N (overrides the config)")
        cmd.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE",
                         help="override any config value (repeatable)")
        cmd.set_defaults(func=func, passthrough=True)
    chk = sub.add_parser("check", help="report every fault of a config; nothing is trained")
    chk.add_argument("cfg")
    chk.add_argument("--stage", choices=("train", "test"),
                     help="default: train if the config has [training], else test")
    chk.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE",
                     help="override any config value (repeatable)")
    chk.set_defaults(func=cmd_check, passthrough=False)
    pre = sub.add_parser("preprocess", help="PyMIC preprocessing")
    pre.add_argument("cfg")
    pre.set_defaults(func=cmd_preprocess, passthrough=True)
    lst = sub.add_parser("list", help="list the components registered into PyMIC")
    lst.set_defaults(func=cmd_list, passthrough=False)
    demo = sub.add_parser("demo-data", help="build the demo dataset from nilearn's MNI152 T1")
    demo.add_argument("out_dir")
    demo.add_argument("--cases", type=int, default=40)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--preset", default="demo", choices=["demo", "hard", "two_class"],
                      help="demo: round bright lesions; hard: small, low-contrast, bright-core "
                           "lesions, some touching another bright blob; two_class: a bright "
                           "(label 1) and a dark (label 2) lesion per case, trained with "
                           "class_num 3 (default: %(default)s)")
    demo.add_argument("--quiet", action="store_true")
    demo.set_defaults(func=cmd_demo_data, passthrough=False)
    full = sub.add_parser("demo", help="the whole PA-Seg pipeline on the demo dataset "
                                       "(one process; a rerun continues)")
    full.add_argument("--out", default="pymic_paseg_demo", help="working folder")
    full.add_argument("--cases", type=int, default=40)
    full.add_argument("--seed", type=int, default=0)
    full.add_argument("--preset", default="demo", choices=["demo", "hard", "two_class"],
                      help="dataset preset, see `demo-data --help` (default: %(default)s)")
    full.add_argument("--with-full", action="store_true",
                      help="also train the fully supervised reference")
    full.add_argument("--iterations", type=int, default=None,
                      help="iter_max of every training, written into OUT/configs "
                           "(quick runs; default: the configs' own)")
    full.add_argument("--device", help="auto, cpu, cuda or cuda:N")
    full.set_defaults(func=cmd_demo, passthrough=False)
    rep = sub.add_parser("reproduce", help="the paper's tables I-III on the demo data")
    rep.add_argument("--preset", default="cpu-small", choices=["tiny", "cpu-small", "paper"])
    rep.add_argument("--out", default="pymic_paseg_reproduce", help="working folder")
    rep.add_argument("--tables", default="I,II,III", help="subset of I,II,III")
    rep.add_argument("--rows", help="only these row keys (and what they need)")
    rep.add_argument("--seed", type=int, default=0)
    rep.add_argument("--device", help="auto, cpu, cuda or cuda:N")
    rep.set_defaults(func=cmd_reproduce, passthrough=False)
    from pymic_paseg.commands import add_subcommands
    add_subcommands(sub)
    from pymic_paseg.prepare.cli import add_prepare
    add_prepare(sub)
    from pymic_paseg.pipeline.commands import add_subcommands as add_pipeline_commands
    add_pipeline_commands(sub)
    return parser


def _error_types():
    from pymic_paseg.config import ConfigError
    from pymic_paseg.errors import CheckpointError, InferenceError
    from pymic_paseg.registry import RegistrationError
    return ((ConfigError, RegistrationError),
            (CheckpointError, InferenceError, FloatingPointError))


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # PyMIC imports timm's deprecated module path; that warning is not the user's business
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"timm\.")
    parser = build_parser()
    try:
        args, rest = parser.parse_known_args(argv)
        if args.command is None:
            raise UsageError("missing sub-command (train, test, check, preprocess, list, demo, "
                             "reproduce, demo-data, clicks, expand, pipeline, report); "
                             f"see `{PROG} --help`")
        if rest and not args.passthrough:
            raise UsageError(f"unrecognized arguments: {' '.join(rest)}")
        usage_errors, run_errors = _error_types()
        from pymic_paseg.errors import Interrupted as interrupted
        try:
            return args.func(args, rest)
        except usage_errors as exc:
            print(f"{PROG}: configuration error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except run_errors as exc:
            print(f"{PROG}: {exc}", file=sys.stderr)
            return EXIT_FAILED
        except interrupted as exc:  # SIGINT/SIGTERM: what finished was saved
            print(f"{PROG}: {exc}", file=sys.stderr)
            return exc.exit_code
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
