"""ExpansionParams.from_section: defaults, coercion, and errors that name the key."""
import pytest

from pymic_paseg.config import ConfigError, Section
from pymic_paseg.expansion import ExpansionParams
from pymic_paseg.geodesic import BACKENDS, available_backends


def _section(**values):
    return Section("dataset", {k.lower(): v for k, v in values.items()})


def test_defaults_follow_the_pa_seg_code():
    params = ExpansionParams.from_section(_section(other_key=1))
    assert params == ExpansionParams(epsilon=0.2, lamb=0.5, iterations=4, backend="torch",
                                     cost="geodistk", intensity_normalization="none",
                                     mask_threshold=None)


def test_values_are_coerced_from_strings():
    params = ExpansionParams.from_section(_section(
        SeedExpansion_epsilon="1.5e-1", SeedExpansion_lambda="1", SeedExpansion_iterations="6",
        SeedExpansion_cost="geos", SeedExpansion_intensity_normalization="zscore",
        SeedExpansion_mask_threshold="-0.5", SeedExpansion_rule="paper"))
    assert (params.epsilon, params.lamb, params.iterations) == (0.15, 1.0, 6)
    assert (params.cost, params.intensity_normalization, params.mask_threshold) == (
        "geos", "zscore", -0.5)
    assert params.expansion_kwargs() == dict(
        epsilon=0.15, lamb=1.0, iterations=6, backend="torch", cost="geos",
        intensity_normalization="zscore", rule="paper")


def test_custom_prefix():
    params = ExpansionParams.from_section(_section(Geo_epsilon=0.3), prefix="Geo_")
    assert params.epsilon == 0.3


@pytest.mark.parametrize("key, value, message", [
    ("SeedExpansion_epsilon", "1.2", r"\[dataset\] SeedExpansion_epsilon = 1.2: must be a "
                                     r"number >= 0 and <= 1"),
    ("SeedExpansion_lambda", "-0.1", r"SeedExpansion_lambda = -0.1: must be a number >= 0"),
    ("SeedExpansion_iterations", "0", r"SeedExpansion_iterations = 0: must be an integer >= 1"),
    ("SeedExpansion_iterations", "2.5", r"SeedExpansion_iterations = 2.5: must be an integer"),
    ("SeedExpansion_backend", "troch", r"SeedExpansion_backend = 'troch': unknown name. "
                                       r"Did you mean 'torch'\?"),
    ("SeedExpansion_cost", "geo", r"SeedExpansion_cost = 'geo': unknown name"),
    ("SeedExpansion_intensity_normalization", "minmax", r"unknown name.*none, zscore"),
    ("SeedExpansion_mask_threshold", "low", r"SeedExpansion_mask_threshold = low: must be a "
                                            r"number"),
    ("SeedExpansion_epsilom", "0.1", r"seedexpansion_epsilom: unknown key. Did you mean "
                                     r"'seedexpansion_epsilon'\?"),
])
def test_bad_values_name_the_key(key, value, message):
    with pytest.raises(ConfigError, match=message):
        ExpansionParams.from_section(_section(**{key: value}))


@pytest.mark.parametrize("name", [n for n in BACKENDS if n not in available_backends()])
def test_uninstalled_backend_fails_at_config_time(name):
    with pytest.raises(ConfigError, match=rf"SeedExpansion_backend = {name}: .*pip install"):
        ExpansionParams.from_section(_section(SeedExpansion_backend=name,
                                              SeedExpansion_cost=name))


def test_cost_the_backend_lacks_fails_at_config_time(monkeypatch):
    from pymic_paseg.geodesic import backends
    monkeypatch.setattr(backends, "_imports", lambda module: True)
    with pytest.raises(ConfigError, match=r"SeedExpansion_cost = geos: .*implements only"):
        ExpansionParams.from_section(_section(SeedExpansion_backend="fastgeodis",
                                              SeedExpansion_cost="geos"))


def test_direct_construction_is_checked():
    with pytest.raises(ValueError, match=r"epsilon must be in \[0, 1\]"):
        ExpansionParams(epsilon=2.0)
    with pytest.raises(ConfigError, match=r"backend = 'gpu': unknown name"):
        ExpansionParams(backend="gpu")
