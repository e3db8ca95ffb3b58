"""Random-number state saved in checkpoints, so a resumed run continues the same trajectory.

A checkpoint stores (all as tensors and plain containers, loadable with
``weights_only=True``):

* ``rng``: the global torch (CPU and, when initialised, CUDA), numpy and Python
  ``random`` states at the moment of saving;
* ``data_position``: where the training data loader is inside its epoch: the
  torch and loader-generator states when the epoch's iterator was created, and the
  number of batches drawn from it since.

On resume, :func:`resume_iterator` re-creates the epoch's iterator from the saved
states and skips the drawn batches (by advancing the sampler, without loading data,
when ``num_worker = 0``; by drawing them otherwise), then :func:`restore_rng` puts
back the states of the moment of saving. With ``num_worker = 0`` (every random
draw in this process) the resumed losses equal the uninterrupted run's to float
tolerance on CPU.
"""
from __future__ import annotations

import logging
import random
from typing import Any, Dict, Iterator, Optional

import numpy as np
import torch

logger = logging.getLogger(__name__)

__all__ = ["capture_rng", "restore_rng", "CountingIterator", "resume_iterator"]


def capture_rng() -> Dict[str, Any]:
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    state = {"torch": torch.get_rng_state(),
             "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)),
                       "pos": int(pos), "has_gauss": int(has_gauss), "gauss": float(gauss)},
             "python": {"version": version, "internal": list(internal),
                        "gauss_next": gauss_next}}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: Optional[Dict[str, Any]]) -> None:
    if not state:
        return
    torch.set_rng_state(state["torch"].cpu())
    npy = state["numpy"]
    np.random.set_state((npy["kind"], npy["keys"].cpu().numpy().astype(np.uint32), npy["pos"],
                         npy["has_gauss"], npy["gauss"]))
    py = state["python"]
    random.setstate((py["version"], tuple(py["internal"]), py["gauss_next"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def _generator_state(loader) -> Optional[torch.Tensor]:
    generator = getattr(loader, "generator", None)
    return None if generator is None else generator.get_state()


def _sampler_epoch(loader) -> Optional[int]:
    """The epoch of a DDP ``DistributedSampler`` (its permutation's seed offset), if any."""
    epoch = getattr(getattr(loader, "sampler", None), "epoch", None)
    return None if epoch is None else int(epoch)


class CountingIterator:
    """A data loader's iterator that remembers the RNG states it started from and counts."""

    def __init__(self, loader, start: Optional[Dict[str, Any]] = None):
        self.start = start or {"torch": torch.get_rng_state(),
                               "generator": _generator_state(loader),
                               "epoch": _sampler_epoch(loader)}
        self.inner: Iterator = iter(loader)
        self.drawn = 0

    def __iter__(self):
        return self

    def __next__(self):
        batch = next(self.inner)
        self.drawn += 1
        return batch

    def position(self) -> Dict[str, Any]:
        position = {"torch": self.start["torch"], "drawn": int(self.drawn)}
        if self.start["generator"] is not None:
            position["generator"] = self.start["generator"]
        if self.start.get("epoch") is not None:
            position["sampler_epoch"] = int(self.start["epoch"])
        return position


def current_position(iterator) -> Optional[Dict[str, Any]]:
    return iterator.position() if isinstance(iterator, CountingIterator) else None


def resume_iterator(loader, position: Optional[Dict[str, Any]]) -> CountingIterator:
    """The epoch iterator of ``position`` with its drawn batches skipped (fresh if None)."""
    if not position:
        return CountingIterator(loader)
    torch.set_rng_state(position["torch"].cpu())
    if position.get("generator") is not None and getattr(loader, "generator", None) is not None:
        loader.generator.set_state(position["generator"].cpu())
    if position.get("sampler_epoch") is not None and _sampler_epoch(loader) is not None:
        loader.sampler.set_epoch(int(position["sampler_epoch"]))  # DDP: the epoch's order
    iterator = CountingIterator(loader, {"torch": position["torch"],
                                         "generator": position.get("generator"),
                                         "epoch": _sampler_epoch(loader)})
    drawn = int(position["drawn"])
    sampler_iter = getattr(iterator.inner, "_sampler_iter", None)
    try:
        if getattr(loader, "num_workers", 0) == 0 and sampler_iter is not None:
            for _ in range(drawn):  # advance the sampler only: no image is read
                next(sampler_iter)
            iterator.inner._num_yielded += drawn
            iterator.drawn = drawn
        else:
            for _ in range(drawn):
                next(iterator)
    except StopIteration:  # the training set shrank since the checkpoint
        logger.warning("the data loader's epoch is shorter than at the checkpoint (%d batches "
                       "drawn): starting a new epoch; the resumed run is not exact", drawn)
        return CountingIterator(loader)
    return iterator
