"""Training-loop settings read from ``[training]``, checked before iteration 1."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any, List, Mapping, MutableMapping, Optional

from pymic_paseg.agents.checkpoint import checkpoint_location
from pymic_paseg.agents.guards import NONFINITE_ACTIONS
from pymic_paseg.config import ConfigError, Section

__all__ = ["LoopSettings", "coerce_numeric_strings"]

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _coerce(value: Any) -> Any:
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        number = float(value)
        return int(number) if number.is_integer() and "." not in value and "e" not in value.lower() \
            else number
    if isinstance(value, list):
        return [_coerce(v) for v in value]
    return value


def coerce_numeric_strings(config: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Turn numbers PyMIC's parser left as text (``1.5e-4``, ``-0.5``) into numbers, in place.

    PyMIC's ``parse_value_from_string`` only recognises ``a.b`` and ``aeb``, so
    ``learning_rate = 1.5e-4`` reaches ``torch.optim.SGD`` as a string.
    """
    for section in config.values():
        if isinstance(section, dict):
            for key, value in list(section.items()):
                section[key] = _coerce(value)
    return config


@dataclass(frozen=True)
class LoopSettings:
    """What the shared loop needs from ``[training]``.

    Keys (PyMIC's unless marked *ours*): ``ckpt_dir``, ``ckpt_prefix``,
    ``iter_max``, ``iter_valid``, ``iter_save`` (int period, list, or unset =
    only at the end), ``early_stop_patience``, ``ckpt_init_name`` and
    ``ckpt_init_mode`` (0 = initialise weights, 1 = also resume iteration and
    optimizer), ``resume`` (*ours*, bool: continue from ``{prefix}_latest.txt``
    if it exists), ``progress`` (*ours*, bool: show a progress bar) and
    ``nonfinite_gradients`` (*ours*, ``stop`` (default) or ``skip``: what the gradient
    guard of :mod:`pymic_paseg.agents.guards` does with NaN/inf gradients).
    """

    ckpt_dir: str
    prefix: str
    iter_max: int
    iter_valid: int
    iter_save: List[int]
    early_stop: Optional[int]
    resume: bool
    init_name: Optional[str]
    init_mode: int
    progress: bool
    nonfinite_gradients: str = "stop"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "LoopSettings":
        sec = Section.of(config, "training", required=True)
        ckpt_dir, prefix = checkpoint_location(config)
        iter_max = sec.int("iter_max", low=1)
        iter_valid = sec.int("iter_valid", min(iter_max, 100), low=1)
        if iter_valid > iter_max:
            raise sec.fail("iter_valid", iter_valid, f"must be <= iter_max ({iter_max})")
        raw_save = sec.raw("iter_save", None)
        if raw_save is None:
            iter_save = [iter_max]
        elif isinstance(raw_save, (list, tuple)):
            iter_save = sec.int_list("iter_save", low=1)
        else:
            period = sec.int("iter_save", low=1)
            iter_save = list(range(period, iter_max + 1, period))
        init_mode = sec.int("ckpt_init_mode", 0, low=0, high=1)
        return cls(ckpt_dir=ckpt_dir, prefix=prefix, iter_max=iter_max, iter_valid=iter_valid,
                   iter_save=sorted(set(iter_save) | {iter_max}),
                   early_stop=sec.int("early_stop_patience", None, low=1),
                   resume=sec.bool("resume", False),
                   init_name=sec.str("ckpt_init_name", None), init_mode=init_mode,
                   progress=sec.bool("progress", True),
                   nonfinite_gradients=sec.choice("nonfinite_gradients", NONFINITE_ACTIONS,
                                                  "stop"))

    def init_path(self) -> Optional[str]:
        """PyMIC resolves ``ckpt_init_name`` inside ``ckpt_dir``; we also accept a path."""
        if self.init_name is None:
            return None
        if os.path.isfile(self.init_name):
            return self.init_name
        candidate = os.path.join(self.ckpt_dir, self.init_name)
        if not os.path.isfile(candidate):
            raise ConfigError(f"[training] ckpt_init_name = {self.init_name}: file not found "
                              f"(looked for {self.init_name} and {candidate})")
        return candidate
