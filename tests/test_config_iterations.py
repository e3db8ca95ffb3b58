"""`--iterations N` (`pymic_paseg.config_iterations`): what demo writes into its configs."""
import configparser

import pytest

from pymic_paseg.demo.pipeline import CONFIG_NAMES, copy_configs


def _read(path):
    parser = configparser.ConfigParser(inline_comment_prefixes=("#",))
    parser.read(path)
    return parser


@pytest.mark.parametrize("iterations", [50, 2])
def test_iterations_scale_the_regularisers_ramp_with_iter_max(tmp_path, iterations):
    defaults = {name: _read(path) for name, path in
                ((n, copy_configs(tmp_path / "a") / f"{n}.cfg") for n in CONFIG_NAMES)}
    target = copy_configs(tmp_path / "b", iterations=iterations)
    ramps = 0
    for name in CONFIG_NAMES:
        before, after = defaults[name], _read(target / f"{name}.cfg")
        assert after["training"].getint("iter_max") == iterations
        if not before.has_section("weakly_supervised_learning"):
            continue
        old_max = before["training"].getint("iter_max")
        for key in ("rampup_start", "rampup_end"):
            if key in before["weakly_supervised_learning"]:
                old = before["weakly_supervised_learning"].getint(key)
                new = after["weakly_supervised_learning"].getint(key)
                # same fraction of the run, so the CRF and VM terms still switch on
                assert abs(new - old * iterations / old_max) <= 0.5, (name, key)
                assert new <= iterations
                ramps += 1
    assert ramps >= 4          # stage 1, primary and auxiliary: start and end each
