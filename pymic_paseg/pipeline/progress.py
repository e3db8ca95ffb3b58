"""One progress display per pipeline step: a tqdm bar on a terminal, plain lines otherwise.

A training reports ``(iterations done, iter_max)`` through
:func:`pymic_paseg.agents.tracking.listen_progress`; the bar shows iterations, rate and
ETA. When the console is not a terminal (a log file, CI), the same facts are printed as
one line per tenth of the step, e.g. ``  train_stage1: 120/400 it (30%), 41 s, ETA 1m35s``.
"""
from __future__ import annotations

import time
from typing import Optional, TextIO

__all__ = ["StepProgress", "format_seconds"]


def format_seconds(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m{rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class StepProgress:
    """Progress of one step on ``stream``; call it as ``progress(done, total)``."""

    def __init__(self, name: str, stream: TextIO, tty: Optional[bool] = None):
        self.name, self.stream = name, stream
        self.tty = stream.isatty() if tty is None else tty
        self.bar = None
        self.first: Optional[int] = None   # iteration the step started (resumed) from
        self.started = time.monotonic()
        self.last_tenth = -1

    def __call__(self, done: int, total: int) -> None:
        if self.first is None or done < self.first:  # a new training within the step
            self.first, self.started, self.last_tenth = done, time.monotonic(), -1
            self._close_bar()
        if self.tty:
            self._bar(done, total)
        else:
            self._line(done, total)

    def _bar(self, done: int, total: int) -> None:
        if self.bar is None:
            from tqdm import tqdm
            self.bar = tqdm(total=total, initial=done, unit="it", desc=self.name,
                            file=self.stream, dynamic_ncols=True, leave=True)
        self.bar.update(done - self.bar.n)

    def eta(self, done: int, total: int) -> Optional[float]:
        """Seconds left at the rate of this run so far (``None`` before the first iteration)."""
        elapsed, run = time.monotonic() - self.started, done - (self.first or 0)
        return None if run <= 0 else elapsed / run * (total - done)

    def _line(self, done: int, total: int) -> None:
        tenth = int(10 * done / total) if total else 10
        if tenth == self.last_tenth:
            return
        self.last_tenth = tenth
        eta = self.eta(done, total)
        text = f"  {self.name}: {done}/{total} it ({100 * done // max(total, 1)}%), " \
               f"{format_seconds(time.monotonic() - self.started)}"
        if eta is not None and done < total:
            text += f", ETA {format_seconds(eta)}"
        print(text, file=self.stream, flush=True)

    def _close_bar(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def close(self) -> None:
        self._close_bar()
