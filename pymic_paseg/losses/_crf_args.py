"""Argument checks and small tensor helpers of the multi-view CRF loss
(:mod:`pymic_paseg.losses.multiview_crf`): per-axis sigmas and window radii, views
and their weights, the intensity normalisation of the guidance image."""
from __future__ import annotations

import math
from typing import List, Optional, Sequence, Tuple, Union

import torch

from pymic_paseg.config import look_up_option
from pymic_paseg.losses._window_energy import VIEW_AXES

VIEWS = tuple(VIEW_AXES)
INTENSITY_NORMS = ("none", "minmax", "zscore")


def sums_to_one(probs: torch.Tensor) -> bool:
    """Whether ``sum_c p_c = 1`` everywhere, up to rounding (``64 eps`` of the dtype)."""
    tol = 64 * torch.finfo(probs.dtype).eps
    return bool(((probs.detach().sum(dim=1) - 1.0).abs() <= tol).all())


def check_positive(name: str, value: float) -> None:
    if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name}: expected a finite number > 0. Got: {value!r}")


def axis_sigmas(spatial_sigma: Union[float, Sequence[float]], spatial: int) -> List[float]:
    """``sigma_s`` per axis (D, H, W); a scalar applies to every axis."""
    if isinstance(spatial_sigma, (int, float)) and not isinstance(spatial_sigma, bool):
        check_positive("spatial_sigma", spatial_sigma)
        return [float(spatial_sigma)] * 3
    sigmas = per_axis("spatial_sigma", spatial_sigma, spatial, float)
    for value in sigmas:
        check_positive("spatial_sigma", value)
    return sigmas


def per_axis(name: str, value: Sequence, spatial: int, kind: type) -> List:
    """A (D, H, W) list from 3 entries, or from (H, W) for 2D input (D entry = 1)."""
    items = list(value)
    if len(items) == 3 or (spatial == 2 and len(items) == 2):
        items = [kind(1)] * (3 - len(items)) + [kind(v) for v in items]
        return items
    want = "3 entries (D, H, W)" + (" or 2 (H, W)" if spatial == 2 else "")
    raise ValueError(f"{name}: expected {want}. Got: {value!r}")


def window_radii(radius: Union[int, Sequence[int]], spatial: int,
                 spacing: Optional[List[float]]) -> List[int]:
    if isinstance(radius, bool) or not isinstance(radius, (int, Sequence)):
        raise TypeError(f"radius: expected an int or a sequence of ints. Got: {radius!r}")
    if isinstance(radius, int):
        if radius < 1:
            raise ValueError(f"radius: expected an integer >= 1. Got: {radius}")
        if spacing is None:
            radii = [radius] * 3
        else:
            finest = min(spacing[3 - spatial:])
            radii = [int(math.floor(radius * finest / s + 1e-6)) for s in spacing]
    else:
        items = list(radius)
        if not all(isinstance(r, int) and not isinstance(r, bool) and r >= 0 for r in items):
            raise ValueError(f"radius: expected integers >= 0. Got: {items}")
        radii = per_axis("radius", items, spatial, int)
    if spatial == 2:
        radii[0] = 0
    if max(radii) < 1:
        raise ValueError(f"radius: expected at least one in-plane radius >= 1. Got: {radius!r}")
    return radii


def views_and_weights(views: Sequence[str], view_weights: Optional[Sequence[float]]
                      ) -> Tuple[List[str], List[float]]:
    if isinstance(views, str) or len(views) == 0:
        raise ValueError(f"views: expected a non-empty list of {', '.join(VIEWS)}. "
                         f"Got: {views!r}")
    views = [look_up_option(v, VIEWS, where="views") for v in views]
    if len(set(views)) != len(views):
        raise ValueError(f"views: expected each view at most once. Got: {views}")
    weights = [1.0] * len(views) if view_weights is None else [float(w) for w in view_weights]
    if len(weights) != len(views) or any(not math.isfinite(w) or w < 0 for w in weights) \
            or sum(weights) <= 0:
        raise ValueError(f"view_weights: expected {len(views)} numbers >= 0 with a "
                         f"positive sum (one per view). Got: {view_weights!r}")
    return views, weights


def normalise(image: torch.Tensor, mode: str) -> torch.Tensor:
    if mode == "none":
        return image
    flat = image.reshape(image.shape[0], image.shape[1], -1)
    if mode == "minmax":
        low = flat.amin(-1, keepdim=True)
        span = flat.amax(-1, keepdim=True) - low
        out = (flat - low) / torch.where(span > 0, span, torch.ones_like(span))
    else:
        mean = flat.mean(-1, keepdim=True)
        std = flat.std(-1, unbiased=False, keepdim=True)
        out = (flat - mean) / torch.where(std > 0, std, torch.ones_like(std))
    return out.reshape(image.shape)
