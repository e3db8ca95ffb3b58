"""Per-case batch work over a dataset CSV: rows in, outputs and failures out.

Shared by the click simulator (:mod:`pymic_paseg.annotation.simulate_batch`) and the
offline seed expansion (:mod:`pymic_paseg.expansion.runner`):

* :func:`read_dataset_csv` reads a PyMIC-style CSV (header row; paths relative to
  the dataset root, as PyMIC's ``NiftyDataset`` reads them) and names each case:
  its ``case`` column when there is one, else the image file name up to its first dot;
* :func:`run_cases` calls a function on every case, in this process (``workers=1``)
  or in a pool of ``workers`` processes, with a tqdm progress bar. A case that
  raises is recorded as a :class:`CaseFailure` (case name + message) and the other
  cases go on;
* :func:`output_paths` gives each case its output file ``OUT_DIR/<image file name>``;
  :func:`root_relative` writes it the way PyMIC's CSV files need it;
  :func:`write_rows_csv` writes a CSV file atomically.

Worker processes are started with ``spawn``: PyTorch's thread pools do not survive
``fork`` reliably. They ignore SIGINT (the parent decides), and on Linux the kernel
kills them when the parent dies (``PR_SET_PDEATHSIG``), even by SIGKILL. With a
:class:`~pymic_paseg.interrupts.StopSignals`, SIGINT/SIGTERM cancel the queued cases
and end the running ones at once; the caller writes what finished.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import csv
import io
import logging
import multiprocessing
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple, TypeVar

from tqdm import tqdm

from pymic_paseg.annotation.model import case_id_from_path
from pymic_paseg.config import ConfigError
from pymic_paseg.io_atomic import atomic_write_text, remove_temporaries
from pymic_paseg.interrupts import StopSignals
from pymic_paseg.io_guard import check_outputs

__all__ = ["CaseFailure", "DatasetRow", "discard_unfinished", "output_paths", "read_dataset_csv",
           "run_stoppable",
           "resolve", "root_relative", "row_inputs", "run_cases", "write_rows_csv"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

_PR_SET_PDEATHSIG = 1  # linux/prctl.h
_JOIN_S = 5.0  # how long a stopped worker may take to unwind its case before SIGKILL
_POLL_S = 0.2  # how often the parent looks for a stop request while workers run

#: exceptions whose message speaks for itself; others are reported with their type.
_PLAIN_ERRORS = (ValueError, OSError, KeyError)


@dataclass(frozen=True)
class DatasetRow:
    """One row of a dataset CSV.

    Attributes:
        index: 0-based row number (data rows only).
        case: the case name (``case`` column, else the image file name up to its first dot).
        values: every column of the row, stripped, keyed by lower-cased column name.
    """

    index: int
    case: str
    values: Dict[str, str]

    def get(self, column: str) -> Optional[str]:
        """The non-empty value of ``column``, else ``None``."""
        value = self.values.get(column.lower(), "")
        return value or None


@dataclass(frozen=True)
class CaseFailure:
    """A case that could not be processed: its name and what went wrong."""

    case: str
    message: str

    def __str__(self) -> str:
        return f"{self.case}: {self.message}"


def read_dataset_csv(path: str, required: Sequence[str] = ("image",)) -> List[DatasetRow]:
    """Rows of a dataset CSV; ``ConfigError`` if it is missing, empty or lacks a column.

    Raises:
        ConfigError: the file cannot be read, a ``required`` column is missing, it has
            no data row, or two rows have the same case name.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
            reader.fieldnames = header
            records = [{k: (v or "").strip() for k, v in row.items() if k}
                       for row in reader]
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read the CSV file {path}: {err}") from None
    missing = [c for c in required if c.lower() not in header]
    if missing:
        raise ConfigError(f"CSV file {path}: missing column(s) {', '.join(missing)}. "
                          f"Got: {', '.join(header) or 'no header'}")
    if not records:
        raise ConfigError(f"CSV file {path} has no data rows")
    rows, seen = [], {}
    for index, values in enumerate(records):
        if not values.get("image"):
            raise ConfigError(f"CSV file {path}, data row {index + 1}: empty 'image' value")
        case = values.get("case") or case_id_from_path(values["image"])
        if case in seen:
            raise ConfigError(f"CSV file {path}: case {case!r} appears in data rows "
                              f"{seen[case] + 1} and {index + 1}")
        seen[case] = index
        rows.append(DatasetRow(index, case, values))
    return rows


def output_paths(rows: Sequence[DatasetRow], out_dir: str, root: str) -> List[str]:
    """``out_dir/<image file name>`` per row.

    Raises:
        ConfigError: two rows would write the same file, or an output would replace
            one of its row's input files (e.g. ``out_dir`` is the image folder).
    """
    paths, seen = [], {}
    for row in rows:
        name = os.path.basename(row.values["image"])
        path = os.path.join(out_dir, name)
        if name in seen:
            raise ConfigError(f"cases {seen[name]!r} and {row.case!r} would both write "
                              f"{path}: image file names must be unique")
        check_outputs({"output": path}, row_inputs(row, root), context=f"case {row.case!r}: ")
        seen[name] = row.case
        paths.append(path)
    return paths


def row_inputs(row: DatasetRow, root: str) -> List[str]:
    """Every value of ``row`` as a path under ``root`` (the files a command may read)."""
    return [resolve(root, v) for v in row.values.values() if v]


def resolve(root: str, path: str) -> str:
    """``path`` as PyMIC reads it: absolute paths unchanged, others under ``root``."""
    return path if os.path.isabs(path) else os.path.join(root, path)


def root_relative(path: str, root: str) -> str:
    """``path`` relative to ``root`` with forward slashes (PyMIC joins ``root + '/' + it``)."""
    return Path(os.path.relpath(os.path.abspath(path), os.path.abspath(root))).as_posix()


def write_rows_csv(path: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Write a CSV file (header + rows) atomically."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


def _describe(err: BaseException) -> str:
    """One line: the message, prefixed by the type unless it is a plain user error."""
    text = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
    text = " ".join(text.split()) or type(err).__name__
    if "sitk::ERROR: " in text:  # SimpleITK: keep its own message, not the C++ location
        return text.split("sitk::ERROR: ", 1)[1]
    return text if isinstance(err, _PLAIN_ERRORS) else f"{type(err).__name__}: {text}"


class _Terminated(BaseException):
    """Raised in a worker by SIGTERM during a case: unwinds it (temporary files removed)."""


_IN_CASE = False


def _on_sigterm(signum, frame) -> None:
    if _IN_CASE:
        raise _Terminated()
    os._exit(128 + signum)


def _guarded(function: Callable[[T], R], item: T) -> Tuple[Optional[R], Optional[str]]:
    """``(result, None)`` or ``(None, message)``: a failing case never stops the batch."""
    global _IN_CASE
    _IN_CASE = True
    try:
        return function(item), None
    except _Terminated:  # the batch was stopped: the case was unwound, end the worker now
        os._exit(128 + signal.SIGTERM)
    except Exception as err:  # noqa: BLE001 - reported per case, the batch goes on
        logger.debug("case failed", exc_info=True)
        return None, _describe(err)
    finally:
        _IN_CASE = False


def discard_unfinished(outputs: Sequence[str], results: Sequence[Optional[object]],
                       since: float) -> None:
    """After a stopped batch: remove what unfinished cases wrote (their temporary files, and
    an output written after ``since`` whose result never reached this process), so the
    output folder holds exactly the cases the CSV lists (and older files)."""
    for path, result in zip(outputs, results):
        if result is not None:
            continue
        remove_temporaries(path)
        with contextlib.suppress(OSError):
            if os.path.getmtime(path) >= since:
                os.remove(path)
                logger.info("removed %s: its case did not finish", path)


def _worker_init(parent: int) -> None:
    """In each worker: leave SIGINT to the parent, and die with it (Linux: PR_SET_PDEATHSIG)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_sigterm)
    if sys.platform.startswith("linux"):
        import ctypes
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _stop_pool(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    """Cancel the queued cases and end the running ones now."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    # no Future.cancel(): the pool marks the queued cases broken once its workers are gone
    for process in processes:  # SIGTERM: the case in progress is unwound, then the worker ends
        with contextlib.suppress(Exception):
            process.terminate()
    for process in processes:
        process.join(timeout=_JOIN_S)
        if process.is_alive():
            process.kill()


def run_cases(function: Callable[[T], R], items: Sequence[T], names: Sequence[str], *,
              workers: int = 1, desc: str = "cases", progress: bool = True,
              stop: Optional[StopSignals] = None
              ) -> Tuple[List[Optional[R]], List[CaseFailure]]:
    """Call ``function`` on every item; collect results in input order and the failures.

    Args:
        function: a picklable callable (module-level function or ``functools.partial``).
        items: one per case.
        names: the case names, for failures and logs.
        workers: 1 runs in this process; more use a ``spawn`` process pool whose workers
            ignore SIGINT and end with this process.
        desc: label of the progress bar.
        progress: show the tqdm bar.
        stop: when given and a signal arrives (``stop.requested``), queued cases are
            cancelled and running workers ended at once; unfinished cases get ``None``
            and no failure.

    Returns:
        ``(results, failures)``: ``results[i]`` is ``None`` where case ``i`` failed.
    """
    if isinstance(workers, bool) or int(workers) < 1:
        raise ValueError(f"workers must be an integer >= 1. Got: {workers}")
    results: List[Optional[R]] = [None] * len(items)
    messages: Dict[int, str] = {}
    stopped = (lambda: stop is not None and stop.requested)
    bar = tqdm(total=len(items), desc=desc, unit="case", disable=not progress)
    with bar:
        if workers == 1 or len(items) <= 1:
            for i, item in enumerate(items):
                if stopped():
                    break
                results[i], error = _guarded(function, item)
                if error is not None:
                    messages[i] = error
                bar.update()
        else:
            pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=min(workers, len(items)),
                mp_context=multiprocessing.get_context("spawn"), initializer=_worker_init,
                initargs=(os.getpid(),))
            futures = {pool.submit(_guarded, function, item): i for i, item in enumerate(items)}
            pending = set(futures)
            try:
                while pending and not stopped():
                    done, pending = concurrent.futures.wait(
                        pending, timeout=_POLL_S, return_when=concurrent.futures.FIRST_COMPLETED)
                    for future in done:
                        i = futures[future]
                        try:
                            results[i], error = future.result()
                        except Exception as err:  # noqa: BLE001 - e.g. a worker died
                            error = _describe(err)
                        if error is not None:
                            messages[i] = error
                        bar.update()
            finally:
                if pending:
                    _stop_pool(pool)
                pool.shutdown(wait=True)
    failures = [CaseFailure(names[i], messages[i]) for i in sorted(messages)]
    for failure in failures:
        logger.warning("%s failed: %s", failure.case, failure.message)
    return results, failures


def run_stoppable(function: Callable[[T], R], items: Sequence[T], names: Sequence[str],
                  outputs: Sequence[str], *, workers: int = 1, desc: str = "cases",
                  progress: bool = True
                  ) -> Tuple[List[Optional[R]], List[CaseFailure], StopSignals]:
    """:func:`run_cases` under SIGINT/SIGTERM handling: a signal stops the batch, and what
    the unfinished cases wrote among ``outputs`` is removed (:func:`discard_unfinished`).

    Returns ``(results, failures, stop)``; ``stop.requested`` says whether a signal came.
    """
    stop = StopSignals("stopping: the finished cases are kept and listed")
    started = time.time() - 1.0  # file times may be coarser than the clock
    with stop:
        results, failures = run_cases(function, items, names, workers=workers, desc=desc,
                                      progress=progress, stop=stop)
    if stop.requested:
        discard_unfinished(outputs, results, since=started)
    return results, failures, stop

