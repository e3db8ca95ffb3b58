"""SIGINT / SIGTERM as a request to stop cleanly, for training and batch commands.

Inside ``with StopSignals("...") as stop:`` (main thread only) the first SIGINT or
SIGTERM only sets ``stop.signum`` and logs what will happen; the work checks
``stop.requested`` at safe points (after each training iteration, after each case),
saves what it has, and raises :class:`~pymic_paseg.errors.Interrupted`. A second
signal stops at once with the default behaviour (``KeyboardInterrupt`` / exit).
"""
from __future__ import annotations

import logging
import signal
import threading
from typing import Dict, Optional

logger = logging.getLogger(__name__)

__all__ = ["StopSignals", "SIGNALS"]

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    """Catch SIGINT/SIGTERM while active; ``what`` says what the first signal does."""

    def __init__(self, what: str):
        self.what = what
        self.signum: Optional[int] = None
        self._previous: Dict[int, object] = {}

    @property
    def requested(self) -> bool:
        return self.signum is not None

    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum else ""

    def _handle(self, signum, frame) -> None:
        if self.signum is not None:  # second signal: stop now
            self.__exit__(None, None, None)
            signal.raise_signal(signum)
            return
        self.signum = signum
        logger.warning("%s received: %s (send it again to stop at once)",
                       signal.Signals(signum).name, self.what)

    def __enter__(self) -> "StopSignals":
        if threading.current_thread() is threading.main_thread():
            for sig in SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}
