"""Run a ``pymic_run`` sub-command in this process, with its output in a step log.

Each step of ``pymic_run pipeline`` (and of ``pymic_run demo``) calls the same code
path as ``pymic_run <command> ARGS`` would in a subprocess
(:func:`pymic_paseg.cli.build_parser` and the command's function), so PyMIC and torch
are imported once for the whole run. While a step runs:

* the working directory is the project folder (every path in a project is relative to it);
* ``stdout`` and ``stderr`` go to ``PROJECT/logs/<step>.log`` (a rerun appends to it),
  so PyMIC's prints and its ``StreamHandler(sys.stdout)`` land there; the root logger is
  emptied first and restored after, so PyMIC's ``logging.basicConfig`` writes its own
  ``log_train_*.txt`` in ``ckpt_dir`` on every training, as a separate ``pymic_run train``;
* the step's progress is drawn on the console by
  :class:`~pymic_paseg.pipeline.progress.StepProgress`.
"""
from __future__ import annotations

import contextlib
import logging
import sys
import time
import traceback
from pathlib import Path
from typing import Dict, Iterator, Optional, Sequence, TextIO

from pymic_paseg.cli_common import working_directory
from pymic_paseg.errors import Interrupted

__all__ = ["PipelineStepError", "StepRunner"]

TAIL_LINES = 15


class PipelineStepError(RuntimeError):
    """A step failed; the message names the step, its log file and the log's last lines."""


@contextlib.contextmanager
def _inside(folder: Path, log: Path) -> Iterator[TextIO]:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    for handler in saved_handlers:
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)
    with open(log, "a", encoding="utf-8", buffering=1) as handle:
        try:
            with working_directory(folder), contextlib.redirect_stdout(handle), \
                    contextlib.redirect_stderr(handle):
                yield handle
        finally:
            for handler in root.handlers[:]:
                root.removeHandler(handler)
                handler.close()
            for handler in saved_handlers:
                root.addHandler(handler)
            root.setLevel(saved_level)


class StepRunner:
    """Runs steps in ``folder``; ``console`` is where the pipeline talks to the user."""

    def __init__(self, folder: Path, console: Optional[TextIO] = None):
        self.folder = Path(folder).resolve()
        self.logs = self.folder / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.console = console or sys.stdout
        self.timings: Dict[str, float] = {}

    def say(self, text: str) -> None:
        print(text, file=self.console, flush=True)

    def command(self, step: str, argv: Sequence[str]) -> None:
        """``pymic_run ARGV`` in this process; raises :class:`PipelineStepError` on failure.

        :class:`~pymic_paseg.errors.Interrupted` (SIGINT/SIGTERM during a training, after its
        checkpoint was saved) passes through, so the caller can stop with its exit code.
        """
        from pymic_paseg.agents.tracking import listen_progress
        from pymic_paseg.cli import build_parser
        from pymic_paseg.pipeline.progress import StepProgress, format_seconds
        log = self.logs / f"{step}.log"
        with open(log, "a", encoding="utf-8") as handle:  # a rerun appends: one log per step
            handle.write(f"==== {time.strftime('%Y-%m-%d %H:%M:%S')} "
                         f"$ pymic_run {' '.join(argv)}\n")
        progress = StepProgress(step, self.console)
        start = time.time()
        code, failure = 0, None
        try:
            with _inside(self.folder, log), listen_progress(progress):
                args, rest = build_parser().parse_known_args(list(argv))
                code = args.func(args, rest)
        except Interrupted:
            raise
        except (Exception, SystemExit) as error:  # noqa: BLE001 - reported with its log
            failure = f"{type(error).__name__}: {error}"
            with open(log, "a", encoding="utf-8") as handle:
                traceback.print_exc(file=handle)
        finally:
            progress.close()
            self.timings[step] = self.timings.get(step, 0.0) + time.time() - start
        if failure is None and code not in (0, None):
            failure = f"exit code {code}"
        if failure is not None:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-TAIL_LINES:])
            raise PipelineStepError(f"step {step!r} failed ({failure}); log: {log}\n{tail}")
        self.say(f"      {step}: {format_seconds(time.time() - start)} "
                 f"(log: {log.relative_to(self.folder)})")

    def timed(self, step: str):
        """``with runner.timed(step):`` adds the block's wall time to ``timings[step]``."""
        return _Timer(self.timings, step)


class _Timer:
    def __init__(self, timings: Dict[str, float], step: str):
        self.timings, self.step = timings, step

    def __enter__(self):
        self.start = time.time()
        return self

    def __exit__(self, *exc) -> None:
        self.timings[self.step] = self.timings.get(self.step, 0.0) + time.time() - self.start
