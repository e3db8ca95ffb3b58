"""Every shipped config parses, names only registered components, and passes our key checks."""
import argparse
import contextlib
import io
from pathlib import Path

import pytest

import pymic_paseg
from pymic_paseg.agents.settings import LoopSettings, coerce_numeric_strings
from pymic_paseg.config import Section
from pymic_paseg.preflight import check_names

EXAMPLES = sorted((Path(__file__).parents[1] / "config_examples").rglob("*.cfg"))
TRAINING = [p for p in EXAMPLES if "eval" not in p.name]


def parse(path):
    from pymic.util.parse_config import parse_config, synchronize_config
    with contextlib.redirect_stdout(io.StringIO()):
        return coerce_numeric_strings(synchronize_config(parse_config(
            argparse.Namespace(cfg=str(path)))))


def test_examples_exist():
    names = {p.name for p in EXAMPLES}
    assert {"demo_fullsup.cfg", "demo_stage1.cfg", "demo_scm.cfg", "vs_stage1.cfg",
            "vs_scm.cfg", "brats_stage1.cfg", "brats_scm.cfg"} <= names


@pytest.mark.parametrize("path", TRAINING, ids=lambda p: p.name)
def test_training_config_is_valid(path):
    pymic_paseg.register()
    config = parse(path)
    check_names(config, "train")
    check_names(config, "test")
    LoopSettings.from_config(config)
    assert path.read_text().startswith("#"), "each example starts with a comment header"
    sup = config["dataset"].get("supervise_type", "fully_sup")
    if sup == "weak_sup":
        from pymic_paseg.agents.stage1 import KEYS
        Section.of(config, "weakly_supervised_learning").check_keys(KEYS)
    if sup == "noisy_label":
        from pymic_paseg.agents.scm import KEYS
        Section.of(config, "noisy_label_learning").check_keys(KEYS)
        assert "network_auxiliary" in config
    for loss in ("MultiViewCRFLoss", "VarianceMinimizationLoss"):
        cls = getattr(__import__("pymic_paseg.losses", fromlist=[loss]), loss)
        cls(config["training"])  # construction validates the loss keys


def test_ablation_rows_differ_only_in_their_terms():
    rows = {p.stem.split("vs_stage1_")[1]: parse(p) for p in EXAMPLES if "ablation" in p.parts}
    weights = {k: (c["weakly_supervised_learning"]["alpha"],
                   c["weakly_supervised_learning"]["beta"]) for k, c in rows.items()}
    assert weights == {"psup": (0.0, 0.0), "axial_crf": (1.0, 0.0), "mcrf": (1.0, 0.0),
                       "vm": (0.0, 0.1), "mcrf_vm": (1.0, 0.1)}
    assert rows["axial_crf"]["training"]["multiviewcrfloss_views"] == ["axial"]
