"""(2, 2, 2) pooling at UNet2D5's in-plane levels, as the original PA-Seg network pools.

PyMIC's ``UNet2D5`` runs a level whose ``conv_dims`` entry is 2 slice by slice, so it
pools (1, 2, 2) there and (2, 2, 2) only at its 3D levels. The authors' ``U_Net2D5``
(HiLab-git/PA-Seg ``network/unet2d5.py``) uses in-plane kernels at those levels too,
but pools (2, 2, 2) at every level and upsamples back the same way. The two wrappers
below give a PyMIC ``UNet2D5`` that pooling without touching its blocks' weights:

* ``DepthPooledDown`` wraps a 2D ``DownBlock``: the block pools in-plane, then the
  wrapper max-pools depth by 2, which together is a (2, 2, 2) max-pool;
* ``DepthUpsampledUp`` wraps the matching 2D ``UpBlock``: the low-resolution input is
  first interpolated back to the skip connection's depth (linear in depth, as the
  original's trilinear upsampling), then the block runs as before.

The input depth must then be divisible by 2 ** (number of pooling levels), 16 for
PyMIC's five-level UNet2D5 (the demo patch is 32 deep, its volumes 48).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["DepthPooledDown", "DepthUpsampledUp", "pool_depth_at_2d_levels"]


class DepthPooledDown(nn.Module):
    """A 2D ``DownBlock`` followed by max-pooling of depth (kernel and stride 2)."""

    def __init__(self, block: nn.Module):
        super().__init__()
        self.block = block

    def forward(self, x: torch.Tensor):
        output, pooled = self.block(x)
        if pooled is not None:
            pooled = F.max_pool3d(pooled, kernel_size=(2, 1, 1), stride=(2, 1, 1))
        return output, pooled


class DepthUpsampledUp(nn.Module):
    """A 2D ``UpBlock`` whose low-resolution input is first brought to the skip's depth."""

    def __init__(self, block: nn.Module):
        super().__init__()
        self.block = block

    def forward(self, low: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        size = (skip.shape[2],) + tuple(low.shape[3:])
        low = F.interpolate(low, size=size, mode="trilinear", align_corners=False)
        return self.block(low, skip)


def pool_depth_at_2d_levels(net: nn.Module) -> int:
    """Make a PyMIC ``UNet2D5`` (in place) pool (2, 2, 2) at its 2D levels; returns how
    many levels changed. Its parameters and state dict keys gain a ``.block`` step only
    at the wrapped levels."""
    encoder, decoder = net.encoder, net.decoder
    levels = 0
    for level, dim in enumerate(encoder.dims[:4]):                 # block4 does not pool
        if dim != 2:
            continue
        down = f"block{level}"
        up = f"up{4 - level}"                                      # up4 joins level 0
        setattr(encoder, down, DepthPooledDown(getattr(encoder, down)))
        setattr(decoder, up, DepthUpsampledUp(getattr(decoder, up)))
        levels += 1
    return levels
