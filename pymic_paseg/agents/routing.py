"""Routing PyMIC's dispatch to device-aware agents.

PyMIC's entry points (``pymic.net_run.train`` / ``predict``) instantiate
``SegmentationAgent`` or a class from ``WSLMethodDict`` / ``NLLMethodDict`` /
``SSLMethodDict``. :func:`install_routing` points those module globals of the
*entry-point modules* at device-aware equivalents, so PyMIC's own ``main()``
runs unchanged but on our loop. PyMIC's registries themselves are not touched:
a PyMIC method class ``C`` is wrapped as ``DeviceAware<C>`` (our outer loop,
its own inner ``training()``).
"""
from __future__ import annotations

import functools
import logging
from typing import Any, Dict, Mapping

from pymic_paseg.agents.loop import DeviceAwareLoop

logger = logging.getLogger(__name__)

#: entry-point module -> names of the method dicts it looks up.
_DICT_NAMES = ("WSLMethodDict", "NLLMethodDict", "SSLMethodDict")
#: config section holding ``method_name`` for each supervise_type.
METHOD_SECTIONS = {"weak_sup": "weakly_supervised_learning",
                   "noisy_label": "noisy_label_learning",
                   "semi_sup": "semi_supervised_learning"}
_SECTION_TO_DICT = {"weakly_supervised_learning": "WSLMethodDict",
                    "noisy_label_learning": "NLLMethodDict",
                    "semi_supervised_learning": "SSLMethodDict"}


@functools.lru_cache(maxsize=None)
def device_aware(cls: type) -> type:
    """``cls`` itself if it already runs our loop, else a subclass that does."""
    if issubclass(cls, DeviceAwareLoop):
        return cls
    return type(f"DeviceAware{cls.__name__}", (DeviceAwareLoop, cls),
                {"__module__": __name__,
                 "__doc__": f"{cls.__module__}.{cls.__qualname__} on pymic_paseg's loop."})


def _method_dicts() -> Dict[str, dict]:
    from pymic_paseg.registry import pymic_registry
    return {name: pymic_registry(name) for name in _DICT_NAMES}


def test_agent(config: Mapping[str, Any], stage: str = "test"):
    """Agent PyMIC's ``predict.main`` gets: the method's own class if it is ours, else fullsup."""
    from pymic_paseg.agents.fullsup import FullySupervisedAgent
    sup = config["dataset"].get("supervise_type", "fully_sup")
    section = METHOD_SECTIONS.get(sup)
    if section and section in config:
        cls = _method_dicts()[_SECTION_TO_DICT[section]].get(config[section].get("method_name"))
        if cls is not None and issubclass(cls, DeviceAwareLoop):
            return cls(config, stage)
    return FullySupervisedAgent(config, stage)


def install_routing() -> None:
    """Point PyMIC's train/predict entry modules at device-aware agents."""
    import pymic.net_run.predict as predict
    import pymic.net_run.train as train
    from pymic_paseg.agents.fullsup import FullySupervisedAgent
    train.SegmentationAgent = FullySupervisedAgent
    for name, table in _method_dicts().items():
        setattr(train, name, {key: device_aware(cls) for key, cls in table.items()})
    predict.SegmentationAgent = test_agent
