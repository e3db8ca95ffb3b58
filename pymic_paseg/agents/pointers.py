"""Checkpoint file names and pointer files, without torch.

PyMIC's layout in ``ckpt_dir``: ``{prefix}_{iteration}.pt`` with ``{prefix}_latest.txt``
holding the latest iteration, and ``{prefix}_best.pt`` with ``{prefix}_best.txt``.
Planning code (the demo pipeline, ``reproduce``'s resume check) reads the pointers
through this module so that it never imports torch or PyMIC; loading and saving
the ``.pt`` files is :mod:`pymic_paseg.agents.checkpoint`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from pymic_paseg.errors import CheckpointError
from pymic_paseg.io_atomic import atomic_write_text

__all__ = ["pointer_path", "write_pointer", "read_pointer", "checkpoint_file"]


def pointer_path(ckpt_dir: str, prefix: str, which: str) -> Path:
    return Path(ckpt_dir) / f"{prefix}_{which}.txt"


def write_pointer(ckpt_dir: str, prefix: str, which: str, iteration: int) -> None:
    atomic_write_text(pointer_path(ckpt_dir, prefix, which), str(int(iteration)))


def read_pointer(ckpt_dir: str, prefix: str, which: str) -> Optional[int]:
    path = pointer_path(ckpt_dir, prefix, which)
    if not path.is_file():
        return None
    text = path.read_text().strip()
    try:
        return int(text)
    except ValueError:
        raise CheckpointError(f"{path} should hold an iteration number, found {text!r}") from None


def checkpoint_file(ckpt_dir: str, prefix: str, tag: Any) -> Path:
    return Path(ckpt_dir) / f"{prefix}_{tag}.pt"
