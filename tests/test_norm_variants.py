"""PASegUNet2D5 / PASegUNet: PyMIC's networks with the original code's InstanceNorm."""
import pytest
import torch
import torch.nn as nn
from pymic.net.cnn.unet import UNet
from pymic.net.cnn.unet2d5 import UNet2D5

from pymic_paseg.config import ConfigError
from pymic_paseg.networks import PASegUNet, PASegUNet2D5

NET2D5 = {"in_chns": 1, "class_num": 2, "feature_chns": [4, 8, 8, 16, 16],
          "conv_dims": [2, 2, 3, 3, 3], "dropout": [0, 0, 0, 0, 0], "bilinear": True,
          "deep_supervise": False}
NET3D = {"dimension": 3, "in_chns": 1, "class_num": 2, "feature_chns": [4, 8, 8, 16, 16],
         "dropout": [0, 0, 0, 0, 0]}


def _count(net, kinds):
    return sum(isinstance(m, kinds) for m in net.modules())


@pytest.mark.parametrize("ours, theirs, params, shape", [
    (PASegUNet2D5, UNet2D5, NET2D5, (2, 1, 8, 16, 16)),
    (PASegUNet, UNet, NET3D, (2, 1, 32, 32, 32))])
def test_batch_norm_is_pymic_and_instance_norm_replaces_every_batch_norm(ours, theirs, params,
                                                                         shape):
    x = torch.randn(shape)
    torch.manual_seed(0)
    ref = theirs(dict(params))
    torch.manual_seed(0)
    same = ours(dict(params))                                   # default: batch_norm
    ref.train(), same.train()
    assert torch.equal(ref(x), same(x))
    n_bn = _count(ref, nn.modules.batchnorm._BatchNorm)
    inorm = ours(dict(params, norm_type="instance_norm")).train()
    assert n_bn > 0 and _count(inorm, nn.modules.batchnorm._BatchNorm) == 0
    layers = [m for m in inorm.modules() if isinstance(m, nn.modules.instancenorm._InstanceNorm)]
    assert len(layers) == n_bn and all(m.affine for m in layers)
    # instance norm: an item's output does not depend on the rest of the batch
    with torch.no_grad():
        both, alone = inorm(x), inorm(x[:1])
        assert torch.allclose(both[:1], alone, atol=1e-5)
        bn_both, bn_alone = same(x), same(x[:1].repeat(2, 1, 1, 1, 1))
    assert not torch.allclose(bn_both[:1], bn_alone[:1], atol=1e-3)


def test_bad_norm_type_names_the_key():
    with pytest.raises(ConfigError, match=r"\[network\] norm_type = 'group_norm': unknown name"):
        PASegUNet2D5(dict(NET2D5, norm_type="group_norm"))


def _levels(net, x):
    """Depth and height of each encoder level's output for input ``x``."""
    with torch.no_grad():
        features = net.encoder(x)
    return [tuple(f.shape[2:4]) for f in features]


def test_isotropic_pooling_halves_depth_at_every_level_like_the_original():
    x = torch.randn(1, 1, 32, 16, 16)
    pymic = PASegUNet2D5(dict(NET2D5)).eval()
    iso = PASegUNet2D5(dict(NET2D5, pooling="isotropic")).eval()
    # PyMIC's UNet2D5 keeps depth through its two in-plane levels; the original pools
    # (2, 2, 2) at every level
    assert _levels(pymic, x) == [(32, 16), (32, 8), (32, 4), (16, 2), (8, 1)]
    assert _levels(iso, x) == [(32, 16), (16, 8), (8, 4), (4, 2), (2, 1)]
    with torch.no_grad():
        assert iso(x).shape == (1, 2, 32, 16, 16)
    # no new parameters: the same weights load into either form once the wrapper's
    # ``.block`` step is removed from the names
    state = {k.replace(".block.", "."): v for k, v in iso.state_dict().items()}
    assert set(state) == set(pymic.state_dict())
    pymic.load_state_dict(state)


def test_depth_pooled_down_is_a_2x2x2_max_pool_of_the_block_output():
    from pymic_paseg.networks.depth_pooling import DepthPooledDown, DepthUpsampledUp
    torch.manual_seed(0)
    net = PASegUNet2D5(dict(NET2D5))
    block = net.encoder.block0
    x = torch.randn(2, 1, 8, 12, 12)
    with torch.no_grad():
        full, _ = block(x)
        _, pooled = DepthPooledDown(block)(x)
    assert torch.equal(pooled, torch.nn.functional.max_pool3d(full, 2))   # brute force
    # the matching up block receives the half-depth input and returns the skip's depth
    up = DepthUpsampledUp(net.decoder.up4).eval()
    net.eval()
    # a low-resolution input constant along depth must come back as the same slice at
    # every one of the skip's depths, whatever the interpolation weights
    low = torch.randn(2, 8, 1, 6, 6).expand(2, 8, 4, 6, 6)
    with torch.no_grad():
        out = up(low, full)
        ref = net.decoder.up4(low[:, :, :1].expand(2, 8, 8, 6, 6), full)
    assert out.shape == (2, 4, 8, 12, 12) and torch.allclose(out, ref, atol=1e-6)


def test_bad_pooling_names_the_key():
    with pytest.raises(ConfigError, match=r"\[network\] pooling = 'max': unknown name"):
        PASegUNet2D5(dict(NET2D5, pooling="max"))
