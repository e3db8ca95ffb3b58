"""Choosing the torch device for training and inference.

PyMIC 0.6.2 hard-codes ``torch.device("cuda:N")`` from ``gpus``, so its agents
fail on machines without CUDA. Here the device comes from two keys of the
``[training]`` (or ``[testing]``) section:

``device`` (our key)
    ``auto`` (default), ``cpu``, ``cuda`` or ``cuda:N``.
``gpus`` (PyMIC's key)
    list of GPU ids, e.g. ``[0]`` or ``[0, 1]``; ``[]`` means CPU.

Rules: ``device = cpu`` or ``gpus = []`` -> CPU. ``auto`` -> the first listed GPU
when CUDA is available, else CPU (with a warning). More than one GPU id ->
``nn.DataParallel`` over them, as PyMIC does. Asking for CUDA explicitly on a
machine without it is a :class:`~pymic_paseg.config.ConfigError`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import List, Mapping

import torch

from pymic_paseg.config import ConfigError, Section

logger = logging.getLogger(__name__)

DEVICE_CHOICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class DevicePlan:
    device: torch.device
    gpu_ids: List[int]

    @property
    def data_parallel(self) -> bool:
        return self.device.type == "cuda" and len(self.gpu_ids) > 1


def _gpu_ids(section: Section) -> List[int]:
    if not section.has("gpus"):
        return [0]
    return section.int_list("gpus", low=0)


def resolve_device(config: Mapping, section_name: str = "training") -> DevicePlan:
    """Work out where to run from ``[section_name] device`` and ``gpus``."""
    section = Section.of(config, section_name)
    requested = str(section.raw("device", "auto")).strip().lower()
    gpu_ids = _gpu_ids(section)
    index = None
    if requested.startswith("cuda:"):
        try:
            index = int(requested.split(":", 1)[1])
        except ValueError:
            raise section.fail("device", requested, "must be auto, cpu, cuda or cuda:N") from None
        requested = "cuda"
    if requested not in DEVICE_CHOICES:
        raise section.fail("device", requested, "must be auto, cpu, cuda or cuda:N")
    if requested == "cpu" or (requested == "auto" and not gpu_ids):
        return DevicePlan(torch.device("cpu"), [])
    if not torch.cuda.is_available():
        if requested == "cuda":
            raise ConfigError(f"[{section_name}] device = {section.raw('device')}: "
                              "CUDA was requested but torch finds no CUDA device here")
        logger.warning("No CUDA device found: running on CPU ([%s] gpus = %s ignored). "
                       "Set `device = cpu` to silence this.", section_name, gpu_ids)
        return DevicePlan(torch.device("cpu"), [])
    if index is not None:
        gpu_ids = [index]
    gpu_ids = gpu_ids or [0]
    available = torch.cuda.device_count()
    bad = [g for g in gpu_ids if g >= available]
    if bad:
        raise ConfigError(f"[{section_name}] gpus = {gpu_ids}: GPU id(s) {bad} do not exist; "
                          f"this machine has {available} CUDA device(s)")
    return DevicePlan(torch.device(f"cuda:{gpu_ids[0]}"), gpu_ids)
