"""PyMIC's UNet2D5 and UNet with the original PA-Seg code's normalisation.

PyMIC 0.6.2's ``UNet2D5`` and ``UNet`` (3D U-Net with ``dimension = 3``) use BatchNorm
after every convolution. The PA-Seg authors' networks (HiLab-git/PA-Seg
``network/unet2d5.py``, nnU-Net style) use InstanceNorm with learnt affine parameters
and no dropout. ``PASegUNet2D5`` and ``PASegUNet`` are PyMIC's networks (same blocks,
same ``forward``) with every BatchNorm replaced as ``[network] norm_type`` says:

* ``norm_type = batch_norm`` (default): PyMIC's network unchanged;
* ``norm_type = instance_norm``: ``InstanceNorm{2,3}d(C, affine = True)`` (the original).

Dropout stays PyMIC's ``dropout`` key: ``dropout = [0, 0, 0, 0, 0]`` for the original.
Not changed: PyMIC's ReLU (the original: LeakyReLU 0.01) and UNet2D5's pooling (the
original pools (2, 2, 2) at every level; PyMIC's UNet2D5 pools in-plane only where
``conv_dims`` is 2).
"""
from __future__ import annotations

from typing import Any, Mapping

import torch.nn as nn
from pymic.net.cnn.unet import UNet
from pymic.net.cnn.unet2d5 import UNet2D5

from pymic_paseg.config import Section

__all__ = ["NORM_TYPES", "swap_batch_norm", "PASegUNet2D5", "PASegUNet"]

NORM_TYPES = ("batch_norm", "instance_norm")
_INSTANCE = {nn.BatchNorm1d: nn.InstanceNorm1d, nn.BatchNorm2d: nn.InstanceNorm2d,
             nn.BatchNorm3d: nn.InstanceNorm3d}


def swap_batch_norm(module: nn.Module) -> int:
    """Replace every BatchNorm in ``module`` (in place) by an affine InstanceNorm of the
    same dimension, features and eps; returns how many were replaced."""
    count = 0
    for name, child in list(module.named_children()):
        kind = _INSTANCE.get(type(child))
        if kind is not None:
            setattr(module, name, kind(child.num_features, eps=child.eps, affine=True))
            count += 1
        else:
            count += swap_batch_norm(child)
    return count


def _norm_type(params: Mapping[str, Any]) -> str:
    return Section("network", params).choice("norm_type", NORM_TYPES, "batch_norm")


class PASegUNet2D5(UNet2D5):
    """PyMIC's ``UNet2D5`` with ``[network] norm_type`` (see the module docstring)."""

    def __init__(self, params):
        norm = _norm_type(params)
        super().__init__(params)
        if norm == "instance_norm":
            swap_batch_norm(self)


class PASegUNet(UNet):
    """PyMIC's ``UNet`` (2D or 3D by ``dimension``) with ``[network] norm_type``."""

    def __init__(self, params):
        norm = _norm_type(params)
        super().__init__(dict(params, norm_type="batch_norm"))
        if norm == "instance_norm":
            swap_batch_norm(self)
