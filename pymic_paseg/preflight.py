"""Checks of a whole PyMIC config, run before any data is read or any iteration starts.

PyMIC reports an unknown name as ``KeyError: 'GatedCRf'`` deep inside a run.
Here every name that is looked up in a registry (method, loss, transform,
network, supervision type) is checked first, and a misspelling gets the list of
valid names and the closest match.
"""
from __future__ import annotations

from typing import Any, Mapping

from pymic_paseg.config import ConfigError, Section, look_up_option
from pymic_paseg.registry import pymic_registry
from pymic_paseg.supervision import DEFAULT_SUPERVISE_TYPE, SUPERVISE_TYPES, method_of

__all__ = ["check_names", "SUPERVISE_TYPES"]


def _names(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def check_names(config: Mapping[str, Any], stage: str = "train") -> None:
    """Raise :class:`ConfigError` for any unknown registry name in ``config``."""
    if "dataset" not in config:
        raise ConfigError("[dataset] section is missing from the config file")
    dataset = Section.of(config, "dataset")
    method = method_of(dataset.choice("supervise_type", SUPERVISE_TYPES, DEFAULT_SUPERVISE_TYPE))
    if stage == "train" and method is not None:
        section_name, registry = method
        section = Section.of(config, section_name, required=True)
        look_up_option(section.raw("method_name"), pymic_registry(registry),
                       where=f"[{section_name}] method_name")
    transforms = pymic_registry("TransformDict")
    for key in ("transform", "train_transform", "valid_transform", "test_transform"):
        for name in _names(config["dataset"].get(key)):
            look_up_option(name, transforms, where=f"[dataset] {key} item")
    if "network" in config:
        for name in _names(config["network"].get("net_type")):
            look_up_option(name, pymic_registry("SegNetDict"), where="[network] net_type")
    if stage == "train" and "training" in config:
        for name in _names(config["training"].get("loss_type")):
            look_up_option(name, pymic_registry("SegLossDict"), where="[training] loss_type item")
