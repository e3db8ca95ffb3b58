"""Shorten (or lengthen) a training config: ``--iterations N`` of ``demo`` and ``prepare``.

:func:`set_iterations` edits a config's text in place (:class:`~pymic_paseg.ini_edit.IniEditor`):

* ``[training] iter_max = N``; ``iter_valid`` and ``iter_save`` = ``min(50, N)``;
* ``[noisy_label_learning] monitor_interval`` = ``min(50, N)`` (SCM's refresh period);
* ``[weakly_supervised_learning] rampup_start`` / ``rampup_end`` scaled by ``N / iter_max``,
  so the stage-1 regularisers still ramp in over the same fraction of the run (a 100-300
  ramp in a 50-iteration run would never switch the CRF and VM terms on).
"""
from __future__ import annotations

from pymic_paseg.ini_edit import IniEditor

__all__ = ["set_iterations", "RAMP_KEYS"]

#: stage-1 keys holding iteration counts that scale with ``iter_max``
RAMP_KEYS = ("rampup_start", "rampup_end")
#: the validation, checkpoint and monitor period of a short run, at most
MAX_PERIOD = 50


def set_iterations(ini: IniEditor, iterations: int) -> None:
    """Set a training config's length to ``iterations`` (see the module docstring)."""
    old = int(ini.get("training", "iter_max"))
    every = max(1, min(MAX_PERIOD, iterations))
    ini.set("training", "iter_max", iterations)
    ini.set("training", "iter_valid", every)
    ini.set("training", "iter_save", every)
    for name in RAMP_KEYS:
        if ini.has("weakly_supervised_learning", name):
            value = int(ini.get("weakly_supervised_learning", name))
            ini.set("weakly_supervised_learning", name, round(value * iterations / old))
    if ini.has("noisy_label_learning", "monitor_interval"):
        ini.set("noisy_label_learning", "monitor_interval", every)
