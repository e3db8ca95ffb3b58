"""The gradient guard: one fused finite check of the gradients before each optimiser step.

The loop already refuses a non-finite *loss*; a finite loss can still give NaN or
inf gradients (e.g. a 0/0 inside a loss), which ``optimizer.step()`` would write
into the weights. After ``backward()`` the guard computes the total gradient norm
of every trained network in one fused call (``torch.nn.utils.get_total_norm``) and,
if it is not finite, acts as ``[training] nonfinite_gradients`` says:

``stop`` (default)
    raise :class:`FloatingPointError` naming the iteration and the network; the
    weights are those before the bad step.
``skip``
    log a warning, drop the gradients and skip this step for every network; the
    round's training scalars count the skipped steps (``skipped_steps``).
"""
from __future__ import annotations

import logging
from typing import Sequence

import torch

logger = logging.getLogger(__name__)

NONFINITE_ACTIONS = ("stop", "skip")


def total_grad_norm(parameters) -> torch.Tensor:
    """The 2-norm of all gradients of ``parameters`` (0 if none), one fused reduction."""
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.nn.utils.get_total_norm(grads, norm_type=2.0)


def gradients_ok(members: Sequence, iteration: int, action: str) -> bool:
    """Whether every member's gradients are finite; ``stop`` raises, ``skip`` warns.

    Args:
        members: objects with ``name``, ``net`` and ``optimizer`` (the loop's TrainMembers).
        iteration: the 0-based global iteration (named in the message).
        action: ``"stop"`` or ``"skip"``.
    """
    norms = {m.name: total_grad_norm(m.net.parameters()) for m in members}
    if bool(torch.isfinite(torch.stack([n.float().cpu() for n in norms.values()])).all()):
        return True
    bad = ", ".join(f"{name} (norm {float(n)})" for name, n in norms.items()
                    if not bool(torch.isfinite(n)))
    if action == "stop":
        raise FloatingPointError(f"non-finite gradients at iteration {iteration + 1} in {bad}; "
                                 "the step was not applied. Set [training] "
                                 "nonfinite_gradients = skip to skip such steps instead")
    logger.warning("iteration %d: non-finite gradients in %s: step skipped", iteration + 1, bad)
    for member in members:
        member.optimizer.zero_grad(set_to_none=True)
    return False
