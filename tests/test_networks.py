"""PASegAttentionUNet: PyMIC's AttentionUNet, constructible, same layers and output."""
import pytest
import torch

from pymic_paseg.networks import COMPONENTS, PASegAttentionUNet

PARAMS = {"dimension": 3, "in_chns": 1, "class_num": 2, "feature_chns": [2, 4, 4, 8, 8],
          "dropout": [0.0] * 5, "up_mode": 2, "multiscale_pred": False}


def test_pymics_own_attention_unet_still_cannot_be_built():
    # the reason this class exists; if PyMIC fixes it, the workaround can go
    from pymic.net.cnn.unet_attention import AttentionUNet
    with pytest.raises(AttributeError, match="norm_type"):
        AttentionUNet(dict(PARAMS))


def test_forward_shape_and_attention_gates_present():
    torch.manual_seed(0)
    net = PASegAttentionUNet(dict(PARAMS)).eval()
    x = torch.randn(2, 1, 16, 16, 16)
    with torch.no_grad():
        y = net(x)
    assert tuple(y.shape) == (2, 2, 16, 16, 16) and torch.isfinite(y).all()
    assert any("AttentionGate" in type(m).__name__ for m in net.modules())
    assert net.decoder.norm_type == "batch_norm"


def test_the_decoder_is_pymics_decoder_with_attention():
    from pymic.net.cnn.unet_attention import DecoderWithAttention
    net = PASegAttentionUNet({**PARAMS, "norm_type": "instance_norm"})
    assert isinstance(net.decoder, DecoderWithAttention)
    assert net.decoder.norm_type == "instance_norm"
    assert ("PASegAttentionUNet", "SegNetDict", PASegAttentionUNet) in COMPONENTS
    assert sorted(name for name, _, _ in COMPONENTS) == ["PASegAttentionUNet", "PASegUNet",
                                                         "PASegUNet2D5"]
    assert {registry for _, registry, _ in COMPONENTS} == {"SegNetDict"}
