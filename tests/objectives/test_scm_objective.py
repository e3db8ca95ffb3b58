"""SCM objective: pseudo labels, recipes, and the paper recipe against PyMIC's own losses."""
import pytest
import torch
import torch.nn.functional as F
from pymic.loss.seg.dice import DiceLoss
from pymic.loss.seg.util import get_soft_label

from pymic_paseg.config import ConfigError, Section
from pymic_paseg.objectives.scm import (RECIPES, SCMObjective, SCMSettings,
                                        pseudo_label_targets)


def logits_from_fg_prob(p):
    """2-class logits whose softmax gives foreground probability ``p``."""
    p = torch.as_tensor(p, dtype=torch.float64)
    return torch.stack([torch.zeros_like(p), torch.log(p / (1 - p))])[None]


def test_own_and_ensemble_pseudo_labels_and_confidence():
    # three voxels: monitor 0 says fg .9, .4, .6; monitor 1 says .7, .2, .3
    m0 = logits_from_fg_prob([0.9, 0.4, 0.6])
    m1 = logits_from_fg_prob([0.7, 0.2, 0.3])
    own, w = pseudo_label_targets([m0, m1], 0, ensemble=False)
    assert w is None and own[0, 1].tolist() == [1.0, 0.0, 1.0]
    own1, _ = pseudo_label_targets([m0, m1], 1, ensemble=False)
    assert own1[0, 1].tolist() == [1.0, 0.0, 0.0]
    # ensemble means .8, .3, .45 -> fg, bg, bg with confidences .8, .7, .55
    ens, w = pseudo_label_targets([m0, m1], 0, ensemble=True, confidence=0.6)
    assert ens[0, 1].tolist() == [1.0, 0.0, 0.0]
    assert w[0, 0].tolist() == [1.0, 1.0, 0.0]
    assert torch.equal(pseudo_label_targets([m0, m1], 1, ensemble=True)[0], ens)


def test_seeds_override_pseudo_labels_with_full_weight():
    m0 = logits_from_fg_prob([0.9, 0.4, 0.55])
    seed_prob = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]], dtype=torch.float64)
    seed_weight = torch.tensor([[[1.0, 1.0, 0.0]]], dtype=torch.float64)
    target, w = pseudo_label_targets([m0, m0], 0, ensemble=False, confidence=0.6,
                                     seeds=(seed_prob, seed_weight))
    # voxel 0: seed says bg (the monitor said fg); voxel 1: seed fg; voxel 2: pseudo fg, unsure
    assert target[0, 1].tolist() == [0.0, 1.0, 1.0]
    assert w[0, 0].tolist() == [1.0, 1.0, 0.0]


def _batch_and_outputs(seed=0, shape=(2, 2, 4, 6, 6)):
    g = torch.Generator().manual_seed(seed)
    outs = [torch.randn(shape, generator=g, dtype=torch.float64, requires_grad=True)
            for _ in range(2)]
    monitors = [torch.randn(shape, generator=g, dtype=torch.float64) for _ in range(2)]
    image = torch.randn((shape[0], 1) + shape[2:], generator=g, dtype=torch.float64)
    return {"image": image, "data": {}}, outs, monitors


def test_paper_recipe_matches_pymic_ce_and_dice_and_hinton_kd():
    batch, outs, monitors = _batch_and_outputs()
    terms = SCMObjective(SCMSettings(recipe="paper", lam=0.3, temperature=2.0), {})(
        batch, outs, monitors)
    for k, out in enumerate(outs):
        hard = monitors[k].argmax(1, keepdim=True)
        ce = F.cross_entropy(out, hard[:, 0])
        dice = DiceLoss()({"prediction": out, "ground_truth": get_soft_label(hard, 2, "double")})
        t = 2.0
        kd = t * t * F.kl_div(F.log_softmax(out / t, 1), F.softmax(monitors[1 - k] / t, 1),
                              reduction="none").sum(1).mean()
        expected = 0.3 * kd + 0.7 * (ce + dice)
        assert torch.allclose(terms[k]["loss"], expected, atol=1e-10)


def test_anchored_recipe_trains_on_seeds_where_labelled():
    batch, outs, monitors = _batch_and_outputs(1)
    # seeds label everything: the pseudo labels no longer matter; weights all 1
    seed_hard = torch.zeros_like(outs[0][:, :1], dtype=torch.long)
    seed_hard[..., 1:3, 2:4, 2:4] = 1
    batch["label_prob"] = get_soft_label(seed_hard, 2, "double")
    batch["pixel_weight"] = torch.ones_like(seed_hard, dtype=torch.float64)
    settings = SCMSettings(recipe="anchored", pseudo_label="ensemble", seed_labels=True,
                           lam=0.0)
    terms = SCMObjective(settings, {})(batch, outs, monitors)
    for k, out in enumerate(outs):
        ce = F.cross_entropy(out, seed_hard[:, 0])
        p = F.softmax(out, 1)[:, 1]
        q = seed_hard[:, 0].double()
        dims = (1, 2, 3)
        dice = (1 - 2 * (p * q).sum(dims) / ((p * p).sum(dims) + (q * q).sum(dims))).mean()
        assert torch.allclose(terms[k]["loss"], ce + dice, atol=1e-10)


def test_regularisers_are_added_with_their_weights():
    batch, outs, monitors = _batch_and_outputs(2)
    plain = SCMObjective(SCMSettings(recipe="anchored", pseudo_label="ensemble"), {})
    reg = SCMObjective(SCMSettings(recipe="anchored", pseudo_label="ensemble", alpha=1.0,
                                   beta=0.1), {})
    a, b = plain(batch, outs, monitors), reg(batch, outs, monitors)
    for k in range(2):
        assert {"crf", "vm"} <= set(b[k])
        expected = a[k]["loss"] + b[k]["crf"] + 0.1 * b[k]["vm"]
        assert torch.allclose(b[k]["loss"], expected, atol=1e-10)


def test_seed_labels_without_partial_labels_is_a_config_error():
    batch, outs, monitors = _batch_and_outputs()
    objective = SCMObjective(SCMSettings(recipe="anchored", seed_labels=True), {})
    with pytest.raises(ConfigError, match="seed_labels = true needs the expanded partial labels"):
        objective(batch, outs, monitors)


def test_settings_from_section_recipe_defaults_and_overrides():
    paper = SCMSettings.from_section(Section("noisy_label_learning", {"recipe": "paper"}))
    assert paper.is_paper and paper.pseudo_label == "own"
    anchored = SCMSettings.from_section(Section("noisy_label_learning", {
        "recipe": "anchored", "confidence": "0.7"}))
    assert not anchored.is_paper
    assert (anchored.pseudo_label, anchored.seed_labels, anchored.confidence) == \
        (RECIPES["anchored"]["pseudo_label"], RECIPES["anchored"]["seed_labels"], 0.7)
    with pytest.raises(ConfigError, match="recipe"):
        SCMSettings.from_section(Section("noisy_label_learning", {"recipe": "papr"}))
    with pytest.raises(ConfigError, match="confidence"):
        SCMSettings.from_section(Section("noisy_label_learning", {"confidence": 1.0}))


def test_foreground_only_leaves_pseudo_background_unlabeled_but_keeps_seeds():
    m0 = logits_from_fg_prob([0.9, 0.2, 0.3])
    seed_prob = torch.tensor([[[0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]], dtype=torch.float64)
    seed_weight = torch.tensor([[[0.0, 0.0, 1.0]]], dtype=torch.float64)
    target, w = pseudo_label_targets([m0], 0, ensemble=False, foreground_only=True,
                                     seeds=(seed_prob, seed_weight))
    # voxel 0: pseudo fg, kept; voxel 1: pseudo bg, dropped; voxel 2: seed bg, kept
    assert target[0, 1].tolist() == [1.0, 0.0, 0.0]
    assert w[0, 0].tolist() == [1.0, 0.0, 1.0]
    settings = SCMSettings.from_section(Section("noisy_label_learning", {
        "pseudo_classes": "foreground"}))
    assert settings.recipe == "anchored" and settings.pseudo_classes == "foreground"
    assert not settings.is_paper
