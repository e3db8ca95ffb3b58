"""Our losses inside PyMIC: registration, CombinedLoss, and a short optimisation."""
import pytest
import torch
from pymic.loss.loss_dict_seg import SegLossDict
from pymic.loss.seg.combined import CombinedLoss

from pymic_paseg.losses import COMPONENTS

#: the stage-1 losses (other components may follow them in COMPONENTS).
STAGE1 = ["PartialCELoss", "PartialDiceLoss", "MultiViewCRFLoss", "VarianceMinimizationLoss"]
#: the weakly supervised baselines of PA-Seg Table II.
BASELINES = ["SizeConstraintLoss", "TightnessPriorLoss"]
NAMES = [name for name, _, _ in COMPONENTS]


#: PyMIC's loss dict plus ours, as pymic_paseg.register() makes it (register() itself
#: imports all of PyMIC's agents, ~10 s, and is tested with the registry).
LOSSES = {**SegLossDict, **{name: cls for name, _, cls in COMPONENTS}}


def test_components_do_not_shadow_pymic_names():
    assert set(STAGE1 + BASELINES) <= set(NAMES) and len(set(NAMES)) == len(NAMES)
    assert all(registry == "SegLossDict" for _, registry, _ in COMPONENTS)
    assert not set(NAMES) & {k for k, v in SegLossDict.items()
                             if not v.__module__.startswith("pymic_paseg")}


def _batch(seed=0):
    g = torch.Generator().manual_seed(seed)
    image = torch.rand(1, 1, 4, 12, 12, generator=g)
    image[..., 3:9, 3:9] += 1.0                                  # a bright box
    label = torch.full((1, 4, 12, 12), 2)                        # 2 = unlabeled
    label[:, :, 5:7, 5:7] = 1
    label[:, :, :, :2] = 0
    target = torch.nn.functional.one_hot(label, 3)[..., :2].movedim(-1, 1).float()
    weight = (label < 2).float().unsqueeze(1)
    return image, target, weight


def test_combined_stage1_loss_in_pymic_and_training_steps_reduce_it():
    params = {"loss_type": STAGE1, "loss_weight": [0.5, 0.5, 1.0, 0.1],
              "multiviewcrfloss_radius": 2, "multiviewcrfloss_spatial_sigma": 2.0,
              "multiviewcrfloss_intensity_sigma": 0.3}
    loss_fn = CombinedLoss(params, LOSSES)
    image, target, weight = _batch()
    logits = torch.zeros(1, 2, 4, 12, 12, requires_grad=True)
    values = []
    for _ in range(20):                                          # plain gradient descent
        loss = loss_fn({"prediction": logits, "ground_truth": target, "pixel_weight": weight,
                        "image": image})
        grad, = torch.autograd.grad(loss, logits)
        with torch.no_grad():
            logits -= 20.0 * grad
        values.append(loss.item())
    assert all(b < a for a, b in zip(values, values[1:]))
    assert values[-1] < 0.75 * values[0]
    pred = logits.argmax(1)[0]
    assert pred[:, 5:7, 5:7].eq(1).all() and pred[:, :, :2].eq(0).all()


def test_combined_without_image_fails_with_stage1_hint():
    loss_fn = CombinedLoss({"loss_type": ["PartialCELoss", "MultiViewCRFLoss"],
                            "loss_weight": [1.0, 1.0]}, LOSSES)
    image, target, weight = _batch()
    with pytest.raises(ValueError, match="PASegStage1"):
        loss_fn({"prediction": torch.zeros(1, 2, 4, 12, 12), "ground_truth": target,
                 "pixel_weight": weight})
