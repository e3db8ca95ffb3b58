"""Per-round logging: log file lines, TensorBoard scalars and a tqdm progress bar."""
from __future__ import annotations

import contextlib
import csv
import logging
import numbers
import os
import sys
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import numpy as np
from tqdm import tqdm

from pymic_paseg.io_atomic import atomic_write_text

logger = logging.getLogger(__name__)

#: timing keys PyMIC's agents report; logged, but not as TensorBoard curves.
_TIMING_KEYS = ("data_time", "forward_time", "loss_time", "backward_time")


def _scalars(prefix: str, values: Optional[Dict[str, Any]]) -> Iterator[Tuple[str, float]]:
    """Flatten nested dicts of numbers / arrays into ``prefix/key`` scalar pairs."""
    if not values:
        return
    for key, value in values.items():
        name = f"{prefix}/{key}"
        if isinstance(value, dict):
            yield from _scalars(name, value)
        elif isinstance(value, (numbers.Number, np.generic)) and not isinstance(value, bool):
            yield name, float(value)
        elif isinstance(value, (np.ndarray, list, tuple)):
            arr = np.asarray(value, dtype=float).ravel()
            for index, item in enumerate(arr):
                yield f"{name}_{index}", float(item)


#: called as ``listener(done, total)`` whenever a training advances (see :func:`listen_progress`)
_listeners: List[Callable[[int, int], None]] = []


@contextlib.contextmanager
def listen_progress(listener: Callable[[int, int], None]) -> Iterator[None]:
    """Within the block, ``listener(iterations_done, iter_max)`` follows every training.

    ``pymic_run pipeline`` draws its own per-step progress bar from it, on the terminal,
    while the training's own output goes to the step's log file.
    """
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


def _cell(value: Any) -> str:
    if value is None or value == "":
        return ""
    return value if isinstance(value, str) else f"{value:.6g}"


def read_curves(path: Optional[str], upto: Optional[int] = None) -> List[Dict[str, str]]:
    """Rows of a curves CSV as ``{column: text}`` (``[]`` if absent); ``upto``: last iteration kept.

    Rows after ``upto`` belong to rounds a resumed run repeats, so they are dropped.
    """
    if not path or not os.path.isfile(path):
        return []
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if upto is not None:
        rows = [r for r in rows if r.get("iteration", "").strip()
                and float(r["iteration"]) <= upto]
    return rows


class RoundLogger:
    """Reports each validation round; drives the progress bar between rounds."""

    def __init__(self, writer, *, total: int, start: int, progress: bool = True,
                 curves_csv: Optional[str] = None):
        self.writer = writer
        self.curves_csv = curves_csv
        #: rows of an earlier run that this one resumes (iteration <= ``start``), kept as text
        self.previous: List[Dict[str, str]] = read_curves(curves_csv, upto=start) \
            if curves_csv and start > 0 else []
        #: one ``(iteration, lr, train_scalars, valid_scalars)`` per round, for reports and tests
        self.history: List[Tuple[int, float, Dict[str, Any], Optional[Dict[str, Any]]]] = []
        # a bar only on a terminal: in log files the per-round lines say the same
        self.bar = tqdm(total=total, initial=start, unit="it", dynamic_ncols=True,
                        disable=not (progress and sys.stderr.isatty()), desc="training")
        self.total, self.done = total, start
        self._notify()

    def _notify(self) -> None:
        for listener in list(_listeners):
            listener(self.done, self.total)

    def step(self, n: int = 1, **postfix: float) -> None:
        """Advance the bar by ``n`` iterations (called by our inner loop)."""
        self.bar.update(n)
        self.done += n
        self._notify()
        if postfix:
            self.bar.set_postfix({k: f"{v:.4f}" for k, v in postfix.items()}, refresh=False)

    def log(self, glob_it: int, lr: float, train: Optional[Dict[str, Any]],
            valid: Optional[Dict[str, Any]]) -> None:
        self.history.append((glob_it, lr, dict(train or {}), None if valid is None else dict(valid)))
        if self.curves_csv:
            self._write_curves()
        if glob_it > self.bar.n:
            self.bar.update(glob_it - self.bar.n)
        if glob_it != self.done:
            self.done = glob_it
            self._notify()
        self.writer.add_scalar("lr", lr, glob_it)
        for name, value in _scalars("train", train):
            if name.split("/")[-1] not in _TIMING_KEYS:
                self.writer.add_scalar(name, value, glob_it)
        for name, value in _scalars("valid", valid):
            self.writer.add_scalar(name, value, glob_it)
        train_text = ", ".join(f"{k.split('/', 1)[1]} {v:.4f}" for k, v in _scalars("t", train)
                               if k.split("/")[-1] not in _TIMING_KEYS)
        logger.info("it %d  lr %.3g  train: %s", glob_it, lr, train_text or "-")
        if valid is not None:
            valid_text = ", ".join(f"{k.split('/', 1)[1]} {v:.4f}" for k, v in _scalars("v", valid)
                                   if "class_dice" not in k)
            logger.info("it %d  valid: %s", glob_it, valid_text)

    def log_time(self, glob_it: int, scalars: Optional[Dict[str, Any]], **parts: float) -> None:
        """One log line with where the round's wall time went (seconds).

        ``parts`` are named spans (e.g. ``train``, ``valid``, ``other`` for the
        checkpoints and hooks); the ``data_time`` entries of the round's training
        ``scalars`` (summed over members) say how much of training was data loading.
        """
        data = sum(v for k, v in _scalars("t", scalars) if k.split("/")[-1] == "data_time")
        text = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in parts.items())
        if data:
            text += f" (data loading {data:.1f} s)"
        logger.info("it %d  time: %s", glob_it, text)

    def _write_curves(self) -> None:
        """All rounds so far as one CSV (iteration, lr, train/..., valid/...), atomically.

        A resumed run keeps the rows of the run it resumes (up to its start iteration)
        at the top of the same file, so one CSV holds the whole training.
        """
        rows: List[Dict[str, Any]] = [dict(row) for row in self.previous]
        for glob_it, lr, train, valid in self.history:
            row = {"iteration": glob_it, "lr": lr}
            row.update((k, v) for k, v in _scalars("train", train)
                       if k.split("/")[-1] not in _TIMING_KEYS)
            row.update(_scalars("valid", valid))
            rows.append(row)
        columns = list(dict.fromkeys(key for row in rows for key in row))
        lines = [",".join(columns)] + [",".join(_cell(row.get(c)) for c in columns)
                                       for row in rows]
        atomic_write_text(self.curves_csv, "\n".join(lines) + "\n")

    def close(self) -> None:
        self.bar.close()
