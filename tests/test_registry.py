"""register(): names present in PyMIC's dicts, never shadowing, idempotent."""
import pytest

import pymic_paseg
from pymic_paseg.registry import REGISTRIES, RegistrationError, pymic_registry


def test_every_component_lands_in_its_pymic_registry():
    components = pymic_paseg.register()
    for comp in components:
        assert comp.registry in REGISTRIES
        assert pymic_registry(comp.registry)[comp.name] is comp.obj


def test_register_is_idempotent():
    first = pymic_paseg.register()
    sizes = {name: len(pymic_registry(name)) for name in REGISTRIES}
    second = pymic_paseg.register()
    assert [c.name for c in first] == [c.name for c in second]
    assert sizes == {name: len(pymic_registry(name)) for name in REGISTRIES}


def test_no_component_reuses_a_name_pymic_ships(monkeypatch):
    import importlib
    fresh = {name: set(getattr(importlib.import_module(mod), attr))
             for name, (mod, attr) in REGISTRIES.items()}
    ours = {(c.registry, c.name) for c in pymic_paseg.registered_components()}
    for registry, name in ours:
        held = pymic_registry(registry).get(name)
        assert held is not None and held.__module__.startswith("pymic_paseg"), (registry, name)
    assert fresh  # the registries import


def test_refuses_to_overwrite_a_pymic_name(monkeypatch):
    import pymic_paseg.registry as reg
    from pymic.loss.seg.ce import CrossEntropyLoss

    class Impostor:
        pass

    fake = reg.Component("CrossEntropyLoss", "SegLossDict", Impostor)
    monkeypatch.setattr(reg, "registered_components", lambda: [fake])
    with pytest.raises(RegistrationError) as err:
        reg.register()
    text = str(err.value)
    assert "SegLossDict['CrossEntropyLoss']" in text
    assert "pymic.loss.seg.ce.CrossEntropyLoss" in text
    assert pymic_registry("SegLossDict")["CrossEntropyLoss"] is CrossEntropyLoss
