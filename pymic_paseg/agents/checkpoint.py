"""Checkpoint files: PyMIC-compatible names, atomic writes, safe loading.

Layout in ``ckpt_dir`` (PyMIC's, so ``pymic_test`` and ``ckpt_mode`` keep working):

* ``{prefix}_{iteration}.pt``, with ``{prefix}_latest.txt`` holding the iteration;
* ``{prefix}_best.pt``, with ``{prefix}_best.txt`` (only when there is validation).

Each ``.pt`` holds PyMIC's keys (``iteration``, ``model_state_dict``,
``optimizer_state_dict``, ``valid_pred``) plus ours for exact resumption
(``scheduler_state_dict``, ``best_valid_dice``, ``best_iteration``, ``extra``, and the
random states ``rng`` and ``data_position`` of :mod:`pymic_paseg.agents.rng_state`).
Files are loaded with ``weights_only=True``: a checkpoint is untrusted input.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Dict, Tuple

import torch

from pymic_paseg.agents.pointers import (checkpoint_file, pointer_path,  # noqa: F401
                                         read_pointer, write_pointer)
from pymic_paseg.agents.distributed import unwrap
from pymic_paseg.errors import CheckpointError
from pymic_paseg.io_atomic import atomic_path

__all__ = ["CheckpointError", "remove_stale_temp_files", "save_checkpoint", "load_checkpoint",
           "load_model_weights", "read_pointer", "write_pointer", "checkpoint_file",
           "find_checkpoint"]

logger = logging.getLogger(__name__)


def save_checkpoint(state: Dict[str, Any], path: os.PathLike | str) -> None:
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def remove_stale_temp_files(ckpt_dir: os.PathLike | str) -> None:
    """Remove ``.tmp-*`` files a killed run left in ``ckpt_dir`` (called before training)."""
    folder = Path(ckpt_dir)
    stale = sorted(folder.glob(".tmp-*")) if folder.is_dir() else []
    for path in stale:
        path.unlink(missing_ok=True)
    if stale:
        logger.warning("removed %d temporary file(s) left by an interrupted run in %s: %s",
                       len(stale), folder, ", ".join(p.name for p in stale))


def load_checkpoint(path: os.PathLike | str, map_location: Any = "cpu") -> Dict[str, Any]:
    """Load a checkpoint dict with ``weights_only=True``.

    Raises :class:`CheckpointError` naming the file if it is missing or holds
    anything but tensors and plain containers (e.g. pickled code).
    """
    path = str(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint file not found: {path}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, EOFError...
        raise CheckpointError(f"cannot load checkpoint {path} with weights_only=True: "
                              f"{type(exc).__name__}: {str(exc).splitlines()[0]}") from exc
    if not isinstance(state, dict) or "model_state_dict" not in state:
        raise CheckpointError(f"{path} is not a PyMIC checkpoint (no 'model_state_dict')")
    return state


def load_model_weights(net: torch.nn.Module, state_dict: Dict[str, Any], source: str) -> None:
    """Strictly load ``state_dict`` into ``net``; name the file and keys on mismatch."""
    target = unwrap(net)
    own = target.state_dict()
    missing = sorted(set(own) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(own))
    shape = sorted(k for k in set(own) & set(state_dict)
                   if tuple(own[k].shape) != tuple(state_dict[k].shape))
    if missing or unexpected or shape:
        def show(keys):
            return ", ".join(keys[:5]) + (f" (+{len(keys) - 5} more)" if len(keys) > 5 else "")
        parts = []
        if missing:
            parts.append(f"missing keys: {show(missing)}")
        if unexpected:
            parts.append(f"unexpected keys: {show(unexpected)}")
        if shape:
            parts.append("shape mismatch: " + show(
                [f"{k} {tuple(state_dict[k].shape)} vs {tuple(own[k].shape)}" for k in shape]))
        raise CheckpointError(f"checkpoint {source} does not fit network "
                              f"{type(target).__name__}: " + "; ".join(parts))
    target.load_state_dict(state_dict)


def checkpoint_location(config: Any) -> Tuple[str, str]:
    """``(ckpt_dir, prefix)`` of ``[training]``: the prefix is ``ckpt_prefix``, or the
    folder's name when that key is absent, as in PyMIC."""
    from pymic_paseg.config import Section
    train = Section.of(config, "training")
    ckpt_dir = train.str("ckpt_dir").rstrip("/") or "."
    prefix = train.str("ckpt_prefix", None) or os.path.basename(os.path.abspath(ckpt_dir))
    return ckpt_dir, prefix


def find_checkpoint(ckpt_dir: str, prefix: str, mode: int) -> Path:
    """The file PyMIC's ``ckpt_mode`` 0 (latest) or 1 (best) refers to.

    With ``mode = 1`` and no best file (training ran without validation), the
    latest checkpoint is used and a warning says so.
    """
    if mode == 1:
        best = checkpoint_file(ckpt_dir, prefix, "best")
        if best.is_file():
            return best
        logger.warning("no %s found (trained without validation?): using the latest checkpoint",
                       best)
    it = read_pointer(ckpt_dir, prefix, "latest")
    if it is None:
        raise CheckpointError(f"no checkpoint in {ckpt_dir}: {prefix}_latest.txt not found "
                              "(was training run with this ckpt_dir / ckpt_prefix?)")
    return checkpoint_file(ckpt_dir, prefix, it)
