"""Exceptions reported by ``pymic_run`` without a traceback (light module: no torch import)."""


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, unreadable or does not fit the network."""


class InferenceError(RuntimeError):
    """Some test cases failed; the message lists them. The others were written."""


class Interrupted(RuntimeError):
    """A run stopped by SIGINT or SIGTERM after saving what it had; exit code 128 + signal."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.signum = signum
        self.exit_code = 128 + int(signum)
