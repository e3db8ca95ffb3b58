"""Stage 1 and stage 2 with two foreground classes (class_num = 3), against voxel loops.

The partial labels go through PyMIC's own ``PartialLabelToProbability`` (class_num 3:
values 0, 1, 2 labelled, 3 unlabeled), as in training.
"""
import math

import numpy as np
import pytest
import torch
from pymic.transform.label_convert import PartialLabelToProbability

from pymic_paseg.objectives.scm import SCMObjective, SCMSettings, pseudo_label_targets
from pymic_paseg.objectives.stage1 import Stage1Objective, Stage1Settings

C = 3  # background + two classes
SHAPE = (2, 3, 4, 4)  # N, D, H, W


def partial_batch(seed=0):
    rng = np.random.default_rng(seed)
    label = rng.integers(0, C + 1, SHAPE)            # C = unlabeled
    label[:, 0, 0, :3] = [0, 1, 2]                   # every class present in every item
    convert = PartialLabelToProbability({"partiallabeltoprobability_class_num": C,
                                         "task": "segmentation"})
    probs, weights = [], []
    for item in label:
        sample = convert({"label": item[None].astype(np.float32)})
        probs.append(sample["label_prob"])
        weights.append(sample["pixel_weight"])
    g = torch.Generator().manual_seed(seed)
    batch = {"image": torch.randn((SHAPE[0], 1) + SHAPE[1:], generator=g, dtype=torch.float64),
             "label_prob": torch.tensor(np.stack(probs), dtype=torch.float64),
             "pixel_weight": torch.tensor(np.stack(weights), dtype=torch.float64), "data": {}}
    logits = torch.randn((SHAPE[0], C) + SHAPE[1:], generator=g, dtype=torch.float64)
    return label, batch, logits


def loop_terms(label, logits, image):
    """Partial CE (eq. 4), partial Dice over classes 1..C-1 (eq. 5) and variance
    minimisation (eq. 10 summed over the C classes), one voxel at a time."""
    p = torch.softmax(logits, 1).numpy()
    x = image.numpy()[:, 0]
    ce_sum, n_labelled, dice_items, vm_items = 0.0, 0, [], []
    for n in range(label.shape[0]):
        per_class = []
        for c in range(1, C):
            inter = den_p = den_q = 0.0
            for idx in np.ndindex(label.shape[1:]):
                if label[n][idx] == C:
                    continue
                q = 1.0 if label[n][idx] == c else 0.0
                inter += p[n, c][idx] * q
                den_p += p[n, c][idx] ** 2
                den_q += q * q
            per_class.append(1.0 - 2.0 * inter / (den_p + den_q))
        dice_items.append(np.mean(per_class))
        for idx in np.ndindex(label.shape[1:]):
            if label[n][idx] != C:
                ce_sum -= math.log(p[n, label[n][idx]][idx])
                n_labelled += 1
        valid = x[n] - x[n].min() > 1e-5
        total = 0.0
        for c in range(C):
            m = p[n, c] * valid
            mean = (m * x[n]).sum() / (m.sum() + 1e-6)
            total += (m * (x[n] - mean) ** 2).sum() / (m.sum() + 1e-6)
        vm_items.append(total)
    return ce_sum / n_labelled, float(np.mean(dice_items)), float(np.mean(vm_items))


def test_partial_label_to_probability_convention_for_two_classes():
    label, batch, _ = partial_batch()
    assert torch.equal(batch["pixel_weight"][:, 0], torch.tensor(label != C, dtype=torch.float64))
    for c in range(C):
        assert torch.equal(batch["label_prob"][:, c], torch.tensor(label == c,
                                                                   dtype=torch.float64))


def test_stage1_terms_match_voxel_loops_for_two_classes():
    label, batch, logits = partial_batch()
    terms = Stage1Objective(Stage1Settings(alpha=0, beta=0.1), {}).terms(batch, logits)
    ce, dice, vm = loop_terms(label, logits, batch["image"])
    assert terms["pce"].item() == pytest.approx(ce, rel=1e-10)
    assert terms["pdice"].item() == pytest.approx(dice, rel=1e-10)
    assert terms["vm"].item() == pytest.approx(vm, rel=1e-10)
    total = Stage1Objective(Stage1Settings(alpha=0, beta=0.1), {})(batch, logits, 10 ** 6)
    assert total["loss"].item() == pytest.approx(0.5 * (ce + dice) + 0.1 * vm, rel=1e-10)


def _logits(probabilities):
    """``1 x C x V`` logits whose softmax is ``probabilities`` (``V x C``)."""
    return torch.log(torch.tensor(probabilities, dtype=torch.float64)).T[None]


def test_anchored_pseudo_labels_keep_both_foreground_classes():
    # four voxels; ensemble of the two monitors -> argmax 0, 1, 2, 2
    m0 = _logits([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7], [0.3, 0.3, 0.4]])
    m1 = _logits([[0.6, 0.2, 0.2], [0.2, 0.5, 0.3], [0.2, 0.2, 0.6], [0.1, 0.1, 0.8]])
    target, weight = pseudo_label_targets([m0, m1], 0, ensemble=True, foreground_only=True)
    assert target[0].argmax(0).tolist() == [0, 1, 2, 2]
    assert weight[0, 0].tolist() == [0.0, 1.0, 1.0, 1.0]   # pseudo-background weighs 0
    # seeds: voxel 0 is seed background, voxel 3 seed class 1; they win with weight 1
    seed_prob = torch.tensor([[[1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]]], dtype=torch.float64)
    seed_weight = torch.tensor([[[1, 0, 0, 1]]], dtype=torch.float64)
    target, weight = pseudo_label_targets([m0, m1], 0, ensemble=True, foreground_only=True,
                                          seeds=(seed_prob, seed_weight))
    assert target[0].argmax(0).tolist() == [0, 1, 2, 1]
    assert weight[0, 0].tolist() == [1.0, 1.0, 1.0, 1.0]


def test_anchored_scm_supervised_term_matches_a_loop_for_two_classes():
    label, batch, logits = partial_batch(seed=3)
    g = torch.Generator().manual_seed(4)
    monitors = [torch.randn_like(logits), torch.randn(logits.shape, generator=g,
                                                      dtype=torch.float64)]
    settings = SCMSettings(recipe="anchored", pseudo_label="ensemble", seed_labels=True,
                           pseudo_classes="foreground", alpha=0.0, beta=0.0)
    terms = SCMObjective(settings, {})(batch, [logits, logits.clone()], monitors)
    probs = (torch.softmax(monitors[0], 1) + torch.softmax(monitors[1], 1)) / 2
    hard = probs.argmax(1).numpy()
    # the target: the seed class where labelled, else the pseudo class if foreground
    target = np.where(label != C, label, hard)
    keep = (label != C) | (hard > 0)
    p = torch.softmax(logits, 1).numpy()
    ce = -np.mean([math.log(p[n, target[n][i]][i]) for n in range(SHAPE[0])
                   for i in np.ndindex(SHAPE[1:]) if keep[n][i]])
    dice_items = []
    for n in range(SHAPE[0]):
        per_class = []
        for c in range(1, C):
            q = (target[n] == c) & keep[n]
            pc = p[n, c] * keep[n]
            per_class.append(1 - 2 * (pc * q).sum() / ((pc ** 2).sum() + q.sum()))
        dice_items.append(np.mean(per_class))
    for member in terms:
        assert member["sup"].item() == pytest.approx(ce + np.mean(dice_items), rel=1e-10)
