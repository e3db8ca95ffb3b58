"""``pymic_run check CFG`` and ``pymic_run train CFG --dry-run``: every fault, no training.

1. :func:`~pymic_paseg.config_check.config_faults`: sections, names, keys, ranges, the
   CSV files and every file they list (and, with ``[dataset] image_check = full``,
   every image read completely and checked for NaN/inf);
2. if that found nothing, build what the run would build, each fault named:
   every transform of the stage, the agent PyMIC's dispatch picks (ours or
   PyMIC's), its network(s) and its loss;
3. open every checkpoint the config names (``ckpt_init_name``, ``*_checkpoint`` keys
   of the method sections, and for the test stage the one ``ckpt_mode`` selects).

No data loader is created and no iteration is run, so it takes seconds.
"""
from __future__ import annotations

import contextlib
import copy
import io
import logging
import os
from typing import Any, Callable, Dict, List, Mapping

from pymic_paseg.config_check import config_faults
from pymic_paseg.supervision import DEFAULT_SUPERVISE_TYPE, METHOD_SECTIONS

__all__ = ["dry_run_faults"]

logger = logging.getLogger(__name__)

_STAGE_TRANSFORMS = {"train": ("train_transform", "valid_transform"),
                     "test": ("test_transform",)}


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err.args[0] if isinstance(err, KeyError) and err.args else err).split())
    return text if isinstance(err, ValueError) else f"{type(err).__name__}: {text}"


def _attempt(faults: List[str], where: str, build: Callable[[], Any]) -> Any:
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # PyMIC prints what it builds
            return build()
    except Exception as err:  # noqa: BLE001 - every fault is reported, named by `where`
        logger.debug("dry run: %s failed", where, exc_info=True)
        faults.append(f"{where}: {_one_line(err)}")
        return None


def _transform_faults(config: Dict[str, Any], stage: str, faults: List[str]) -> None:
    from pymic.transform.trans_dict import TransformDict
    params = dict(config["dataset"])
    params["task"] = params.get("task_type")
    for key in _STAGE_TRANSFORMS[stage]:
        for name in config["dataset"].get(key) or []:
            _attempt(faults, f"[dataset] {key} item {name}", lambda n=name: TransformDict[n](params))


def _agent_faults(config: Dict[str, Any], stage: str, faults: List[str]) -> None:
    from pymic_paseg.agents.routing import install_routing, test_agent
    install_routing()
    if stage == "train":
        import pymic.net_run.train as train
        sup = config["dataset"].get("supervise_type", DEFAULT_SUPERVISE_TYPE)
        agent = _attempt(faults, f"agent ({sup})",
                         lambda: train.get_seg_rec_agent(config, sup))
    else:
        agent = _attempt(faults, "agent (test)", lambda: test_agent(config, "test"))
    if agent is None:
        return
    _attempt(faults, "[network]", agent.create_network)
    if stage == "train":
        _attempt(faults, "[training] loss_type", agent.create_loss_calculator)


def _checkpoint_faults(config: Mapping[str, Any], stage: str, faults: List[str]) -> None:
    from pymic_paseg.agents import checkpoint as ckpt
    from pymic_paseg.config import Section
    paths: Dict[str, str] = {}
    for section in METHOD_SECTIONS:
        for key, value in (config.get(section) or {}).items():
            if key.endswith("_checkpoint") and value:
                paths[f"[{section}] {key}"] = str(value)
    training = config.get("training") or {}
    if stage == "train" and training.get("ckpt_init_name"):
        name = str(training["ckpt_init_name"])
        in_dir = os.path.join(str(training.get("ckpt_dir", ".")), name)
        paths["[training] ckpt_init_name"] = name if os.path.isfile(name) else in_dir
    if stage == "test":
        testing = Section.of(config, "testing")
        name = testing.str("ckpt_name", None)
        if name:
            paths["[testing] ckpt_name"] = name
        else:
            found = _attempt(faults, "[testing] ckpt_mode", lambda: ckpt.find_checkpoint(
                *ckpt.checkpoint_location(config), testing.int("ckpt_mode", 0, low=0, high=1)))
            if found is not None:
                paths["[testing] ckpt_mode"] = str(found)
    for where, path in paths.items():
        _attempt(faults, where, lambda p=path: ckpt.load_checkpoint(p))


def dry_run_faults(config: Dict[str, Any], stage: str = "train") -> List[str]:
    """Every fault of ``config`` (as PyMIC parsed it, ``--set`` applied) for ``stage``."""
    from pymic.util.parse_config import synchronize_config

    import pymic_paseg
    pymic_paseg.register()
    faults = config_faults(config, stage)
    if faults:  # names or files are wrong: building would only repeat them
        return faults
    synced = synchronize_config(copy.deepcopy(config))
    _transform_faults(synced, stage, faults)
    _agent_faults(synced, stage, faults)
    _checkpoint_faults(synced, stage, faults)
    return faults
