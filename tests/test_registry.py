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


def test_no_component_reuses_a_name_pymic_ships():
    pymic_paseg.register()  # this test's own precondition, whatever ran before it
    ours = {(c.registry, c.name) for c in pymic_paseg.registered_components()}
    # what PyMIC ships: every entry of its dicts that is not one of our objects
    shipped = {(registry, name) for registry in REGISTRIES
               for name, obj in pymic_registry(registry).items()
               if not getattr(obj, "__module__", "").startswith("pymic_paseg")}
    assert {("SegLossDict", "CrossEntropyLoss"), ("TransformDict", "RandomCrop"),
            ("WSLMethodDict", "EntropyMinimization"), ("SegNetDict", "UNet2D5")} <= shipped
    assert not ours & shipped, sorted(ours & shipped)
    for registry, name in ours:
        held = pymic_registry(registry).get(name)
        assert held is not None and held.__module__.startswith("pymic_paseg"), (registry, name)


def test_refuses_to_overwrite_a_pymic_name(monkeypatch):
    import pymic_paseg.registry as reg
    from pymic.loss.seg.ce import CrossEntropyLoss

    class Impostor:
        pass

    fake = reg.Component("CrossEntropyLoss", "SegLossDict", Impostor)
    monkeypatch.setattr(reg, "_REGISTERED", None)  # as in a fresh process
    monkeypatch.setattr(reg, "registered_components", lambda: [fake])
    with pytest.raises(RegistrationError) as err:
        reg.register()
    text = str(err.value)
    assert "SegLossDict['CrossEntropyLoss']" in text
    assert "pymic.loss.seg.ce.CrossEntropyLoss" in text
    assert pymic_registry("SegLossDict")["CrossEntropyLoss"] is CrossEntropyLoss


def test_registers_once_per_process_and_repairs_a_lost_entry(monkeypatch):
    import pymic_paseg.registry as reg
    first = reg.register()
    calls = []
    real = reg.registered_components
    monkeypatch.setattr(reg, "registered_components", lambda: calls.append(1) or real())
    assert [c.name for c in reg.register()] == [c.name for c in first]
    assert calls == []  # the second call did not collect (or import) anything
    comp = first[0]
    monkeypatch.delitem(pymic_registry(comp.registry), comp.name)
    reg.register()
    assert calls == [1] and pymic_registry(comp.registry)[comp.name] is comp.obj


def test_string_targets_resolve_and_bad_ones_are_named():
    import pymic_paseg.registry as reg
    from pymic_paseg.agents.stage1 import PASegStage1Agent
    comp = reg.Component("PASegStage1", "WSLMethodDict",
                         "pymic_paseg.agents.stage1:PASegStage1Agent")
    assert comp.obj is PASegStage1Agent
    assert comp.target == "pymic_paseg.agents.stage1.PASegStage1Agent"
    with pytest.raises(RegistrationError, match="is not 'package.module:Attribute'"):
        reg.resolve("pymic_paseg.agents.stage1.PASegStage1Agent")
    with pytest.raises(RegistrationError, match="has no attribute 'Nope'"):
        reg.resolve("pymic_paseg.agents.stage1:Nope")
