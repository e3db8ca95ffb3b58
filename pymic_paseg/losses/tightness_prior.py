"""Deep tightness prior for boxes (Kervadec et al. 2020, the "DTP" baseline of PA-Seg Table II)."""
from __future__ import annotations

import math
from numbers import Real
from typing import Any, List, Mapping, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from pymic_paseg.config import Section, look_up_option
from pymic_paseg.losses._checks import (activate, check_tensor,
                                        check_weight_map, get_label, get_prediction,
                                        optional_tensor, read_activation)

__all__ = ["tightness_prior_loss", "log_barrier_extension", "box_from_label",
           "bounding_box", "TightnessPriorLoss", "AXES", "PENALTIES", "MODES"]

#: spatial axis names, outermost first: ``N x C x D(z) x H(y) x W(x)``.
AXES = ("z", "y", "x")
#: ``log_barrier``: Kervadec's extended log-barrier; ``squared_hinge``: ``max(0, z)^2``;
#: ``hinge``: ``max(0, z)``, as the PA-Seg authors' code (``utilities/losses.py``).
PENALTIES = ("log_barrier", "squared_hinge", "hinge")
#: ``slices``: bands of whole 3D slices; ``max_projection``: the PA-Seg authors' code, which
#: max-projects the prediction and the box along each axis and applies the 2D prior there.
MODES = ("slices", "max_projection")


def log_barrier_extension(z: torch.Tensor, t: float) -> torch.Tensor:
    r"""Extended log-barrier of Kervadec et al. for the constraint ``z <= 0``.

    ``psi_t(z) = -log(-z)/t`` if ``z <= -1/t^2``, else ``t z - log(1/t^2)/t + 1/t``
    (linear, continuous with a continuous derivative at ``-1/t^2``; finite everywhere).
    """
    below = z <= -1.0 / t ** 2
    safe = torch.where(below, z, torch.full_like(z, -1.0))      # no log of z >= 0
    barrier = -torch.log(-safe) / t
    linear = t * z - math.log(1.0 / t ** 2) / t + 1.0 / t
    return torch.where(below, barrier, linear)


def box_from_label(target: torch.Tensor, weight: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Voxels not labelled background (bool ``N x 1 x spatial``): box ∩ Omega_M in PA-Seg.

    A voxel is labelled background if ``q_i0 > 0.5`` and ``w_i != 0`` (PyMIC's
    ``PartialLabelToProbability`` convention: all-zero one-hot, ``pixel_weight = 0``
    on unlabeled voxels).
    """
    check_tensor("target", target, floating=False)
    background = target.detach()[:, :1] > 0.5
    if weight is not None:
        check_weight_map("weight", weight, target)
        background = background & (weight != 0)
    return ~background


def bounding_box(mask: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """First and last index of ``mask != 0`` per item and spatial dim (``N x S`` longs).

    ``mask`` is ``N x 1 x spatial``; an empty item gets ``lo = 0, hi = -1`` (extent 0).
    """
    m = mask.detach()[:, 0] != 0
    spatial = m.dim() - 1
    los, his = [], []
    for k in range(spatial):
        other = tuple(d + 1 for d in range(spatial) if d != k)
        prof = m.any(dim=other) if other else m                     # N x L_k
        size = prof.shape[1]
        first = prof.to(torch.uint8).argmax(dim=1)
        last = size - 1 - prof.flip(1).to(torch.uint8).argmax(dim=1)
        empty = ~prof.any(dim=1)
        los.append(torch.where(empty, torch.zeros_like(first), first))
        his.append(torch.where(empty, torch.full_like(last, -1), last))
    return torch.stack(los, 1), torch.stack(his, 1)


def _axis_dims(axes: Optional[Sequence[str]], spatial: int) -> List[int]:
    names = AXES[3 - spatial:]
    if axes is None:
        return list(range(spatial))
    if isinstance(axes, str) or len(axes) == 0:
        raise ValueError(f"axes: expected a non-empty list of {', '.join(names)}. Got: {axes!r}")
    picked = [look_up_option(a, AXES, where="axes") for a in axes]
    if len(set(picked)) != len(picked):
        raise ValueError(f"axes: expected each axis at most once. Got: {list(axes)}")
    missing = [a for a in picked if a not in names]
    if missing:
        raise ValueError(f"axes: {missing} not in a {spatial}D input (axes "
                         f"{', '.join(names)}). Got: {list(axes)}")
    return [names.index(a) for a in picked]


def _band_penalty(profile: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, band_width: int,
                  t: float, penalty: str) -> torch.Tensor:
    """Sum of ``psi(w_s - sum_{i in s} profile_i)`` over the bands ``s`` of ``[lo, hi]``.

    ``profile``: ``N x L`` (zero outside ``[lo, hi]``); ``lo``, ``hi``: ``N`` longs."""
    size = profile.shape[1]
    n_bands = -(-size // band_width)
    rel = torch.arange(size, device=profile.device) - lo.unsqueeze(1)    # N x L
    band = rel.clamp_min(0) // band_width
    sums = profile.new_zeros(profile.shape[0], n_bands).scatter_add(1, band, profile)
    extent = (hi - lo + 1).unsqueeze(1)                                 # N x 1
    start = torch.arange(n_bands, device=profile.device) * band_width
    width = (extent - start).clamp(0, band_width).to(profile.dtype)     # 0 = no band
    z = width - sums
    if penalty == "log_barrier":
        psi = log_barrier_extension(z, float(t))
    else:
        psi = F.relu(z) ** 2 if penalty == "squared_hinge" else F.relu(z)
    return torch.where(width > 0, psi, torch.zeros_like(psi)).sum()


def _check_scalars(band_width: Any, t: Any, penalty: str) -> None:
    if isinstance(band_width, bool) or not isinstance(band_width, int) or band_width < 1:
        raise ValueError(f"band_width: expected an integer >= 1. Got: {band_width!r}")
    if isinstance(t, bool) or not isinstance(t, Real) or not math.isfinite(float(t)) or t <= 0:
        raise ValueError(f"t: expected a finite number > 0. Got: {t!r}")
    look_up_option(penalty, PENALTIES, where="penalty")


def tightness_prior_loss(probs: torch.Tensor, box_mask: torch.Tensor, *, band_width: int = 5,
                         t: float = 5.0, axes: Optional[Sequence[str]] = None,
                         penalty: str = "log_barrier", mode: str = "slices") -> torch.Tensor:
    r"""Deep tightness prior: every band of ``w`` slices across the box holds ``>= w`` foreground.

    Let ``B_n`` be the bounding box of ``box_mask`` in item ``n`` and ``q_i`` the
    foreground probability (``q_i = sum_{c>=1} p_ic``; ``p_i1`` for ``C = 2``). Along
    each axis ``a``, ``B_n`` is cut into bands ``s`` of ``w`` consecutive slices
    (perpendicular to ``a``, spanning ``B_n`` in the other axes), plus, if the box extent
    ``L_a`` along ``a`` is not a multiple of ``w``, a last band of ``L_a mod w`` slices;
    ``w_s`` is the number of slices of band ``s``.
    If the box is tight, every slice across it meets the object, so:

    .. math::

        \sum_{i \in s} q_i \ge w_s\quad\forall s,\qquad
        \mathcal{L}_{tight} = \sum_n \sum_{a} \sum_{s}
            \psi\big(w_s - \textstyle\sum_{i\in s} q_i\big)

    with ``psi = psi_t`` the extended log-barrier (:func:`log_barrier_extension`; the
    reference), ``psi(z) = max(0, z)^2`` (``squared_hinge``) or ``max(0, z)`` (``hinge``).
    In 2D a slice is a line and a band is Kervadec's segment of width ``w``.

    ``mode = max_projection`` (3D only; the PA-Seg authors' ``TightnessPrior``, their
    Table II DTP with ``w = 10`` and ``hinge``): for each axis ``a`` the foreground
    probability is max-projected along ``a`` (over the whole axis) to a 2D map
    ``Q_a = max_a q``, the box to the rectangle ``B_n`` spans in the other two axes,
    and the 2D prior above is applied to ``Q_a`` along each of those two axes (bands of
    ``w`` lines across the rectangle, ``sum Q_a >= w_s``): 3 projections x 2 axes.

    Args:
        probs: probabilities ``N x C x [D x] H x W``, ``C >= 2`` (class 0 = background).
        box_mask: ``N x 1 x spatial`` (bool or numeric); its bounding box per item is
            ``B_n`` (e.g. :func:`box_from_label`). Items with an empty mask add 0.
        band_width: ``w``, an integer >= 1 (default 5, the reference's ``d``).
        t: log-barrier parameter ``t > 0`` (default 5, the reference's start value).
        axes: names among ``z, y, x`` (``y, x`` for 2D); ``None`` = all axes of the input.
        penalty: ``log_barrier`` (default), ``squared_hinge`` or ``hinge``.
        mode: ``slices`` (default) or ``max_projection`` (see above); with
            ``max_projection``, ``axes`` names the projection directions.

    Returns:
        a scalar tensor (may be negative with ``log_barrier``: ``psi_t(z) < 0`` for
        ``z < -1``, i.e. well-satisfied bands; ``squared_hinge`` is 0 when all hold).

    Config keys (wrapper): ``TightnessPriorLoss_band_width`` (5),
    ``TightnessPriorLoss_t`` (5), ``TightnessPriorLoss_axes`` (all),
    ``TightnessPriorLoss_penalty`` (log_barrier); see :class:`TightnessPriorLoss`.

    Note:
        * Reference: ``BoxPrior`` + ``boxcoords2masks_bounds`` in
          LIVIAETS/boxes_tightness_prior (2D). Same sum over items, bands and axes, no
          normalisation (the reference weights it 1e-4 to 1e-2).
        * 3D: a band is ``w`` whole slices, not ``w`` lines. A tight 3D box does not
          make every axis-parallel line meet the object (a ball misses the box's
          corner lines), but every slice within the box extent meets it (if connected).
        * ``max_projection`` follows the authors' code except: one item's loss does not
          end the batch (their loop returns after the first item), and the band edges
          below (theirs: ``floor((L-1)/w)`` bands plus a last band as Kervadec's).
        * Band edges: the reference cuts the extent ``L`` as ``floor((L-1)/w)`` bands of
          ``w`` plus a last band of ``((L-1) mod w) + 1`` slices with bound
          ``(L-1) mod w`` (or drops the last slice when ``(L-1) mod w = 0``); we use
          bands of ``w`` and a last band of ``L mod w`` slices with bound ``L mod w``.
        * One box per item (the bounding box of the whole mask) for the union of the
          foreground classes; the reference uses one box per connected component and
          per class. The reference's ``t`` grows by 1.1 per epoch (``MultiplyT``); a
          PyMIC loss sees no epoch, so ``t`` is fixed unless the agent updates the
          wrapper's ``t`` attribute.
        * The emptiness prior outside the box (the reference's ``NegSizeLoss``) is not
          included: in PA-Seg the partial cross-entropy on Omega_B (outside the box)
          does that job. DTP in Table II = this + ``SizeConstraintLoss`` + partial CE.
        * PA-Seg's boxes come from background clicks placed beyond the extreme
          points, so they are looser than Kervadec's; bands near the box faces may
          then violate the prior for a correct segmentation.
    """
    check_tensor("probs", probs)
    if probs.shape[1] < 2:
        raise ValueError("probs: expected C >= 2 classes in dim 1 (background + "
                         f"foreground). Got: shape {tuple(probs.shape)}")
    check_weight_map("box_mask", box_mask, probs)
    _check_scalars(band_width, t, penalty)
    mode = look_up_option(mode, MODES, where="mode")
    spatial = probs.dim() - 2
    if mode == "max_projection" and spatial != 3:
        raise ValueError(f"mode: max_projection needs a 3D input (N x C x D x H x W). "
                         f"Got: shape {tuple(probs.shape)}")
    dims = _axis_dims(axes, spatial)
    fg = probs[:, 1:].sum(dim=1)                                     # N x spatial
    lo, hi = bounding_box(box_mask)                                  # N x S
    inside = torch.ones_like(fg, dtype=torch.bool)
    for k in range(spatial):
        coord = torch.arange(fg.shape[k + 1], device=fg.device)
        ok = (coord >= lo[:, k:k + 1]) & (coord <= hi[:, k:k + 1])   # N x L_k
        inside = inside & ok.reshape((ok.shape[0],) + (1,) * k + (ok.shape[1],)
                                     + (1,) * (spatial - 1 - k))
    total = probs.new_zeros(())
    if mode == "max_projection":
        for k in dims:
            flat = fg.amax(dim=k + 1) * inside.any(dim=k + 1)          # N x 2D, box rectangle
            rest = [d for d in range(spatial) if d != k]
            for pos, j in enumerate(rest):
                profile = flat.sum(dim=2 - pos)                          # N x L_j
                total = total + _band_penalty(profile, lo[:, j], hi[:, j], band_width, t,
                                              penalty)
        return total
    q = fg * inside
    for k in dims:
        other = tuple(d + 1 for d in range(spatial) if d != k)
        profile = q.sum(dim=other) if other else q                   # N x L_k
        total = total + _band_penalty(profile, lo[:, k], hi[:, k], band_width, t, penalty)
    return total


class TightnessPriorLoss(nn.Module):
    """PyMIC wrapper of :func:`tightness_prior_loss` (registered as ``TightnessPriorLoss``).

    Config (``[training]`` section; defaults in brackets):
        * ``TightnessPriorLoss_band_width`` [5]: ``w``, an integer >= 1.
        * ``TightnessPriorLoss_t`` [5]: log-barrier ``t``, a finite number > 0. Fixed
          during training unless the agent changes the ``t`` attribute (the reference
          multiplies it by 1.1 after every epoch).
        * ``TightnessPriorLoss_axes`` [z, y, x]: a non-empty subset; for 2D inputs the
          default is ``y, x`` and ``z`` is an error.
        * ``TightnessPriorLoss_penalty`` [log_barrier]: or ``squared_hinge``, ``hinge``.
        * ``TightnessPriorLoss_mode`` [slices]: or ``max_projection`` (the PA-Seg
          authors' code; with ``band_width = 10`` and ``penalty = hinge`` their DTP).
        * ``loss_acti_func`` (PyMIC's key): softmax (default), sigmoid or None.

    Reads from ``loss_input_dict``: ``prediction`` (``[0]`` of a list), and either
    ``box_mask`` (``N x 1 x spatial``) or ``ground_truth`` (one-hot) with the optional
    ``pixel_weight``, whose non-background voxels (:func:`box_from_label`: box ∩ Omega_M
    for PA-Seg's expanded clicks) give the box.
    """

    PREFIX = "TightnessPriorLoss_"
    KEYS = tuple("TightnessPriorLoss_" + k for k in ("band_width", "t", "axes", "penalty",
                                                     "mode"))

    def __init__(self, params: Optional[Mapping[str, Any]] = None):
        super().__init__()
        cfg = Section("training", params)
        cfg.check_known_keys(self.PREFIX, self.KEYS)
        k_width, k_t, k_axes, k_penalty, k_mode = self.KEYS
        self.acti = read_activation(cfg)
        self.band_width = cfg.int(k_width, 5, low=1)
        self.t = cfg.float(k_t, 5.0, low=0, low_open=True)
        axes = cfg.str_list(k_axes, None)
        self.axes: Optional[List[str]] = None
        if axes is not None:
            self.axes = [look_up_option(a.strip().lower(), AXES, where=f"[training] {k_axes}")
                         for a in axes]
            if not self.axes or len(set(self.axes)) != len(self.axes):
                raise cfg.fail(k_axes, cfg.raw(k_axes), "must list each axis at most once, "
                               f"at least one of {', '.join(AXES)}")
        self.penalty = cfg.choice(k_penalty, PENALTIES, default="log_barrier")
        self.mode = cfg.choice(k_mode, MODES, default="slices")

    def box_mask(self, loss_input_dict: Mapping[str, Any], probs: torch.Tensor) -> torch.Tensor:
        """``box_mask`` if given, else the non-background voxels of the partial label."""
        given = optional_tensor(loss_input_dict, "box_mask")
        if given is not None:
            return given
        target = get_label(loss_input_dict, "TightnessPriorLoss", probs, "box_mask")
        return box_from_label(target, optional_tensor(loss_input_dict, "pixel_weight"))

    def forward(self, loss_input_dict: Mapping[str, Any]) -> torch.Tensor:
        pred = get_prediction(loss_input_dict, "TightnessPriorLoss")
        probs = activate(pred, self.acti)
        return tightness_prior_loss(probs, self.box_mask(loss_input_dict, probs),
                                    band_width=self.band_width, t=self.t, axes=self.axes,
                                    penalty=self.penalty, mode=self.mode)
