"""RNG states and the data loader's epoch position survive a checkpoint round trip."""
import random

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from pymic_paseg.agents.rng_state import (CountingIterator, capture_rng, current_position,
                                          restore_rng, resume_iterator)


def _loader():
    generator = torch.Generator()
    generator.manual_seed(7)
    return DataLoader(TensorDataset(torch.arange(10)), batch_size=3, shuffle=True,
                      generator=generator, drop_last=True)


def _draws():
    return (torch.rand(2).tolist(), np.random.rand(2).tolist(), [random.random() for _ in range(2)])


def _batches(iterator, loader, n):
    out = []
    for _ in range(n):
        try:
            out.append(next(iterator)[0].tolist())
        except StopIteration:  # a new epoch, as the agents' next_batch does
            iterator = CountingIterator(loader)
            out.append(next(iterator)[0].tolist())
    return out


@pytest.mark.parametrize("drawn", [0, 1, 2])
def test_resumed_iterator_and_rngs_continue_the_same_sequence(drawn, tmp_path):
    torch.manual_seed(0)
    loader = _loader()
    iterator = CountingIterator(loader)
    _batches(iterator, loader, drawn)
    state = {"rng": capture_rng(), "position": current_position(iterator)}
    torch.save(state, tmp_path / "s.pt")
    expected = (_batches(iterator, loader, 4), _draws())
    torch.manual_seed(123)  # a fresh process would start elsewhere
    np.random.seed(5)
    fresh = _loader()
    loaded = torch.load(tmp_path / "s.pt", weights_only=True)
    resumed = resume_iterator(fresh, loaded["position"])
    restore_rng(loaded["rng"])
    assert (_batches(resumed, fresh, 4), _draws()) == expected
