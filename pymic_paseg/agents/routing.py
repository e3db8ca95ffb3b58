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
from pymic_paseg.supervision import DEFAULT_SUPERVISE_TYPE, METHOD_REGISTRIES, method_of

logger = logging.getLogger(__name__)


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
    return {name: pymic_registry(name) for name in METHOD_REGISTRIES}


def test_agent(config: Mapping[str, Any], stage: str = "test"):
    """Agent PyMIC's ``predict.main`` gets: the method's own class if it is ours, else fullsup."""
    from pymic_paseg.agents.fullsup import FullySupervisedAgent
    method = method_of(config["dataset"].get("supervise_type", DEFAULT_SUPERVISE_TYPE))
    if method is not None and method[0] in config:
        section, registry = method
        cls = _method_dicts()[registry].get(config[section].get("method_name"))
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
