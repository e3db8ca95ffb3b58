"""Routing PyMIC's entry points to device-aware agents, without touching PyMIC's registries."""
import pymic.net_run.predict as predict
import pymic.net_run.train as train
import pytest
from pymic.net_run.weak_sup import WSLMethodDict

import pymic_paseg.agents.fullsup as fullsup
from pymic_paseg.agents import routing
from pymic_paseg.agents.loop import DeviceAwareLoop


class Ours(DeviceAwareLoop):
    def __init__(self, config, stage):  # no networks: only who was built matters here
        self.built = (config, stage)


class Theirs:
    def __init__(self, config, stage):
        self.built = (config, stage)


class Full:
    def __init__(self, config, stage):
        self.built = (config, stage)


def test_a_pymic_method_is_wrapped_once_and_ours_is_kept():
    pymic_cls = WSLMethodDict["EntropyMinimization"]
    wrapped = routing.device_aware(pymic_cls)
    assert wrapped.__name__ == f"DeviceAware{pymic_cls.__name__}"
    assert wrapped.__bases__ == (DeviceAwareLoop, pymic_cls)  # our loop first
    mro = wrapped.__mro__
    assert mro.index(DeviceAwareLoop) < mro.index(pymic_cls)
    assert routing.device_aware(pymic_cls) is wrapped
    assert routing.device_aware(Ours) is Ours


def test_install_routing_points_the_entry_modules_only(monkeypatch):
    for name in ("SegmentationAgent", *routing.METHOD_REGISTRIES):
        monkeypatch.setattr(train, name, getattr(train, name))  # restored after the test
    monkeypatch.setattr(predict, "SegmentationAgent", predict.SegmentationAgent)
    before = dict(WSLMethodDict)
    routing.install_routing()
    assert train.SegmentationAgent is fullsup.FullySupervisedAgent
    assert predict.SegmentationAgent is routing.test_agent
    assert set(train.WSLMethodDict) == set(before)
    assert all(issubclass(cls, DeviceAwareLoop) for cls in train.WSLMethodDict.values())
    assert dict(WSLMethodDict) == before, "PyMIC's own registry is untouched"


@pytest.mark.parametrize("dataset, sections, expected", [
    ({"supervise_type": "weak_sup"}, {"weakly_supervised_learning": {"method_name": "Ours"}},
     Ours),
    ({"supervise_type": "weak_sup"}, {"weakly_supervised_learning": {"method_name": "Theirs"}},
     Full),
    ({"supervise_type": "semi_sup"}, {"semi_supervised_learning": {"method_name": "Ours"}},
     Ours),
    ({"supervise_type": "noisy_label"}, {}, Full),       # no method section
    ({"supervise_type": "fully_sup"}, {"weakly_supervised_learning": {"method_name": "Ours"}},
     Full),
    ({}, {}, Full),                                       # PyMIC's default, fully_sup
])
def test_inference_uses_the_methods_own_agent_only_when_it_is_ours(monkeypatch, dataset,
                                                                   sections, expected):
    tables = {name: {"Ours": Ours, "Theirs": Theirs} for name in routing.METHOD_REGISTRIES}
    monkeypatch.setattr(routing, "_method_dicts", lambda: tables)
    monkeypatch.setattr(fullsup, "FullySupervisedAgent", Full)
    config = {"dataset": dataset, **sections}
    agent = routing.test_agent(config, "test")
    assert type(agent) is expected and agent.built == (config, "test")
