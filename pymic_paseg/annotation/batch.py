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
``fork`` reliably.
"""
from __future__ import annotations

import concurrent.futures
import csv
import io
import logging
import multiprocessing
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple, TypeVar

from tqdm import tqdm

from pymic_paseg.annotation.model import case_id_from_path
from pymic_paseg.config import ConfigError
from pymic_paseg.io_atomic import atomic_write_text
from pymic_paseg.io_guard import check_outputs

__all__ = ["CaseFailure", "DatasetRow", "output_paths", "read_dataset_csv", "resolve",
           "root_relative", "row_inputs", "run_cases", "write_rows_csv"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

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


def _guarded(function: Callable[[T], R], item: T) -> Tuple[Optional[R], Optional[str]]:
    """``(result, None)`` or ``(None, message)``: a failing case never stops the batch."""
    try:
        return function(item), None
    except Exception as err:  # noqa: BLE001 - reported per case, the batch goes on
        logger.debug("case failed", exc_info=True)
        return None, _describe(err)


def run_cases(function: Callable[[T], R], items: Sequence[T], names: Sequence[str], *,
              workers: int = 1, desc: str = "cases", progress: bool = True
              ) -> Tuple[List[Optional[R]], List[CaseFailure]]:
    """Call ``function`` on every item; collect results in input order and the failures.

    Args:
        function: a picklable callable (module-level function or ``functools.partial``).
        items: one per case.
        names: the case names, for failures and logs.
        workers: 1 runs in this process; more use a ``spawn`` process pool.
        desc: label of the progress bar.
        progress: show the tqdm bar.

    Returns:
        ``(results, failures)``: ``results[i]`` is ``None`` where case ``i`` failed.
    """
    if isinstance(workers, bool) or int(workers) < 1:
        raise ValueError(f"workers must be an integer >= 1. Got: {workers}")
    results: List[Optional[R]] = [None] * len(items)
    messages: Dict[int, str] = {}
    bar = tqdm(total=len(items), desc=desc, unit="case", disable=not progress)
    with bar:
        if workers == 1 or len(items) <= 1:
            for i, item in enumerate(items):
                results[i], error = _guarded(function, item)
                if error is not None:
                    messages[i] = error
                bar.update()
        else:
            pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=min(workers, len(items)),
                mp_context=multiprocessing.get_context("spawn"))
            with pool:
                futures = {pool.submit(_guarded, function, item): i
                           for i, item in enumerate(items)}
                for future in concurrent.futures.as_completed(futures):
                    i = futures[future]
                    try:
                        results[i], error = future.result()
                    except Exception as err:  # noqa: BLE001 - e.g. a worker died
                        error = _describe(err)
                    if error is not None:
                        messages[i] = error
                    bar.update()
    failures = [CaseFailure(names[i], messages[i]) for i in sorted(messages)]
    for failure in failures:
        logger.warning("%s failed: %s", failure.case, failure.message)
    return results, failures
