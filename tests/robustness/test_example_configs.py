"""Every example config passes the pre-training validation and builds its transforms."""
import argparse
import contextlib
import io
from pathlib import Path

import pytest

import pymic_paseg
from helpers import replaced
from pymic_paseg.config_check import config_faults

EXAMPLES = sorted(p for p in (Path(__file__).parents[2] / "config_examples").rglob("*.cfg")
                  if not p.name.startswith("demo_eval"))  # pymic_eval_seg configs


def _parse(path):
    from pymic.util.parse_config import parse_config
    with contextlib.redirect_stdout(io.StringIO()):
        return parse_config(argparse.Namespace(cfg=str(path)))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_config_validates_and_builds_its_transforms(path):
    pymic_paseg.register()
    from pymic.transform.trans_dict import TransformDict
    from pymic.util.parse_config import synchronize_config
    config = _parse(path)
    for stage in ("train", "test"):
        assert config_faults(config, stage, check_files=False) == []
    params = dict(synchronize_config(_parse(path))["dataset"])  # as PyMIC passes them
    params["task"] = params["task_type"]
    for key in ("train_transform", "valid_transform", "test_transform"):
        for name in config["dataset"].get(key) or []:
            TransformDict[name](params)  # a bad key value raises ConfigError here


def test_inline_comment_is_a_fault(tmp_path):
    text = EXAMPLES[0].read_text()
    cfg = tmp_path / "c.cfg"
    cfg.write_text(replaced(text, "[dataset]\n", "[dataset]\nSomeTransform_threshold = 0  "
                            "# outside the brain\n", 1))
    faults = config_faults(_parse(cfg), "train", check_files=False)
    assert faults == ["[dataset] sometransform_threshold = 0  # outside the brain: PyMIC keeps an "
                      "inline comment in the value; put the comment on its own line"]
