"""The one rule for a network's output under deep supervision.

PyMIC's networks with ``deep_supervise = True`` return a list (or tuple) of
predictions, full resolution first; the others return one tensor. Everything that
needs *the* prediction (losses, validation, inference, monitors, the SCM agent)
takes :func:`main_output`. Torch-free.
"""
from __future__ import annotations

from typing import Any

__all__ = ["main_output"]


def main_output(output: Any, owner: str = "network") -> Any:
    """The full-resolution prediction: the first item of a list/tuple, else ``output``.

    Raises:
        ValueError: an empty list/tuple (``owner`` names who gave it).
    """
    if isinstance(output, (list, tuple)):
        if len(output) == 0:
            raise ValueError(f"{owner}: the output is an empty {type(output).__name__}")
        return output[0]
    return output
