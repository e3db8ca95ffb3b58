"""Exceptions reported by ``pymic_run`` without a traceback (light module: no torch import)."""


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, unreadable or does not fit the network."""


class InferenceError(RuntimeError):
    """Some test cases failed; the message lists them. The others were written."""
