"""Attention U-Net, the auxiliary network of PA-Seg's SCM stage, usable in PyMIC 0.6.2.

PyMIC 0.6.2's ``AttentionUNet`` cannot be constructed: its
``DecoderWithAttention.__init__`` reads ``self.norm_type``, which the parent
``Decoder`` never sets (``AttributeError: 'DecoderWithAttention' object has no
attribute 'norm_type'``). ``PASegAttentionUNet`` is the same network (PyMIC's
encoder, decoder blocks with attention gates, ``forward``) with that attribute set
from ``[network] norm_type`` (default ``batch_norm``, PyMIC's default).
"""
from __future__ import annotations

from pymic.net.cnn.unet import UNet
from pymic.net.cnn.unet_attention import DecoderWithAttention

NORM_DEFAULT = "batch_norm"


class _NormTypeDecoderWithAttention(DecoderWithAttention):
    """PyMIC's decoder with attention, given the ``norm_type`` it expects."""

    def __init__(self, params):
        # nn.Module.__init__ is not run yet, so set the plain attribute on the class
        # instance dict directly; DecoderWithAttention reads it while building blocks.
        object.__setattr__(self, "norm_type", params.get("norm_type", NORM_DEFAULT))
        super().__init__(params)


class PASegAttentionUNet(UNet):
    """PyMIC's ``AttentionUNet`` (Oktay et al., MIDL 2018) with the ``norm_type`` fix.

    Parameters are PyMIC's ``UNet`` keys in the network section: ``dimension``
    (2 or 3), ``in_chns``, ``feature_chns`` (5 levels), ``dropout``,
    ``class_num``, ``up_mode``, ``multiscale_pred``, plus ``norm_type``.
    """

    def __init__(self, params):
        super().__init__(params)
        self.decoder = _NormTypeDecoderWithAttention(params)
