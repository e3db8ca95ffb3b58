"""Ω_M, the valid image region (PA-Seg III-A 2 and eq. 9-10), defined once.

Ω_M holds the voxels that can be the object: not the undesired background, such as
the zero outside the brain after skull stripping. One rule serves every user::

    Ω_M = { i : max_k ( x_{k,i} - floor_k ) > threshold }

over the image channels ``k`` given. ``floor_k`` is one of two things:

* ``0`` (``above_min=False``): an absolute level, ``image > threshold``. The
  ``ValidRegionMask`` transform (``ValidRegionMask_threshold``, default 0) and the
  seed expansion (``SeedExpansion_mask_threshold``) use it on raw intensities.
* the channel's minimum over the item (``above_min=True``): ``x - min(x) > threshold``.
  The variance loss uses it when no Ω_M is carried with the batch (after intensity
  normalisation, where the background is no longer 0). This is the original PA-Seg
  code's rule, with its threshold 1e-5.

A negative threshold with ``above_min=True`` marks every voxel valid.

The function works on numpy arrays and on torch tensors alike (it only calls methods
both have), so this module imports neither torch nor PyMIC.
"""
from __future__ import annotations

from typing import Any

__all__ = ["valid_region"]


def valid_region(image: Any, threshold: float, *, above_min: bool = False,
                 channel_axis: int = 0) -> Any:
    """Ω_M of ``image`` as a bool array (numpy) or tensor (torch).

    Args:
        image: channels on ``channel_axis``, then the spatial axes: ``(C, D, H, W)``
            with ``channel_axis=0``, or ``(N, C, D, H, W)`` with ``channel_axis=1``
            (axes before it are items: each gets its own minimum).
        threshold: a voxel is valid if, in any channel, it exceeds the floor by more.
        above_min: the floor is each item's channel minimum (else 0).
        channel_axis: the axis of the channels; the axes after it are spatial.

    Returns:
        ``image``'s shape with the channel axis kept at size 1 (``(1, D, H, W)`` or
        ``(N, 1, D, H, W)``).
    """
    if not 0 <= channel_axis < image.ndim - 1:
        raise ValueError(f"valid_region: channel_axis = {channel_axis} leaves no spatial axis "
                         f"in an image of shape {tuple(image.shape)}")
    if above_min:
        spatial = tuple(range(channel_axis + 1, image.ndim))
        minimum = image.amin if hasattr(image, "amin") else image.min  # torch / numpy
        image = image - minimum(axis=spatial, keepdims=True)
    return (image > threshold).any(axis=channel_axis, keepdims=True)
