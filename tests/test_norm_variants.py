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
