"""Outputs never replace inputs: the one check every command runs before it writes.

A careless ``--out-csv d/train.csv`` once replaced the dataset CSV with partial
labels. Every command that writes files (``clicks``, ``expand``, ``test``) names
its outputs and its inputs here first; an output that is an input (same path
after resolving links, or the same file through a hard link) is a
:class:`~pymic_paseg.config.ConfigError` naming both paths.
"""
from __future__ import annotations

import os
from typing import Dict, Iterable, Mapping, Optional, Tuple

from pymic_paseg.config import ConfigError

__all__ = ["check_outputs", "same_file"]


def _identity(path: str) -> Optional[Tuple[int, int]]:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def same_file(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` name the same file (realpath, or device and inode)."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    ida = _identity(a)
    return ida is not None and ida == _identity(b)


def check_outputs(outputs: Mapping[str, Optional[str]], inputs: Iterable[Optional[str]],
                  *, context: str = "") -> None:
    """Raise if an output would replace an input, or two outputs are the same file.

    Args:
        outputs: ``{description: path}``, e.g. ``{"--out-csv": "d/train.csv"}``;
            ``None`` paths are skipped.
        inputs: every file the command reads (``None`` skipped).
        context: prefix of the message, e.g. ``"case 'c1': "``.

    Raises:
        ConfigError: ``the --out-csv d/train.csv would replace the input file
            d/train.csv; choose another path``.
    """
    by_real: Dict[str, str] = {}
    by_inode: Dict[Tuple[int, int], str] = {}
    for path in inputs:
        if not path:
            continue
        by_real.setdefault(os.path.realpath(path), path)
        ident = _identity(path)
        if ident is not None:
            by_inode.setdefault(ident, path)
    written: Dict[str, str] = {}
    for what, path in outputs.items():
        if not path:
            continue
        real = os.path.realpath(path)
        hit = by_real.get(real)
        if hit is None:
            ident = _identity(path)
            hit = by_inode.get(ident) if ident is not None else None
        if hit is not None:
            raise ConfigError(f"{context}the {what} {path} would replace the input file {hit}; "
                              "choose another path")
        if real in written:
            raise ConfigError(f"{context}the {what} and the {written[real]} are the same file "
                              f"{path}; choose another path")
        written[real] = what
