"""PyMIC's UNet2D5 and UNet with the original PA-Seg code's normalisation and pooling.

PyMIC 0.6.2's ``UNet2D5`` and ``UNet`` (3D U-Net with ``dimension = 3``) use BatchNorm
after every convolution. The PA-Seg authors' networks (HiLab-git/PA-Seg
``network/unet2d5.py``, nnU-Net style) use InstanceNorm with learnt affine parameters
and no dropout. ``PASegUNet2D5`` and ``PASegUNet`` are PyMIC's networks (same blocks,
same ``forward``) with every BatchNorm replaced as ``[network] norm_type`` says:

* ``norm_type = batch_norm`` (default): PyMIC's network unchanged;
* ``norm_type = instance_norm``: ``InstanceNorm{2,3}d(C, affine = True)`` (the original).

``PASegUNet2D5`` also reads ``[network] pooling``:

* ``pooling = pymic`` (default): PyMIC's (1, 2, 2) at the levels whose ``conv_dims`` is 2;
* ``pooling = isotropic``: (2, 2, 2) at every level, as the original
  (``pymic_paseg/networks/depth_pooling.py``); the input depth must be divisible by 16.

Dropout stays PyMIC's ``dropout`` key: ``dropout = [0, 0, 0, 0, 0]`` for the original.
Not changed: PyMIC's ReLU (the original: LeakyReLU 0.01).
"""
from __future__ import annotations

from typing import Any, Mapping

import torch.nn as nn
from pymic.net.cnn.unet import UNet
from pymic.net.cnn.unet2d5 import UNet2D5

from pymic_paseg.config import Section
from pymic_paseg.networks.depth_pooling import pool_depth_at_2d_levels

__all__ = ["NORM_TYPES", "POOLINGS", "swap_batch_norm", "PASegUNet2D5", "PASegUNet"]

NORM_TYPES = ("batch_norm", "instance_norm")
POOLINGS = ("pymic", "isotropic")
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
    """PyMIC's ``UNet2D5`` with ``[network] norm_type`` and ``pooling`` (module docstring)."""

    def __init__(self, params):
        norm = _norm_type(params)
        pooling = Section("network", params).choice("pooling", POOLINGS, "pymic")
        super().__init__(params)
        if norm == "instance_norm":
            swap_batch_norm(self)
        if pooling == "isotropic":
            pool_depth_at_2d_levels(self)


class PASegUNet(UNet):
    """PyMIC's ``UNet`` (2D or 3D by ``dimension``) with ``[network] norm_type``."""

    def __init__(self, params):
        norm = _norm_type(params)
        super().__init__(dict(params, norm_type="batch_norm"))
        if norm == "instance_norm":
            swap_batch_norm(self)
