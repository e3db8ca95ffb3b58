"""PyMIC's supervision types: which config section names the method, and which registry holds it.

One table, torch-free, read by the config checks (:mod:`pymic_paseg.preflight`,
:mod:`pymic_paseg.checkup`) and by the routing of PyMIC's entry points
(:mod:`pymic_paseg.agents.routing`). PyMIC 0.6.2's ``pymic.net_run.train`` reads
``[dataset] supervise_type``; for the three types below it looks
``[<section>] method_name`` up in ``<registry>``.
"""
from __future__ import annotations

from typing import Dict, Optional, Tuple

__all__ = ["SUPERVISE_TYPES", "DEFAULT_SUPERVISE_TYPE", "METHOD_TABLE", "METHOD_SECTIONS",
           "METHOD_REGISTRIES", "method_of"]

#: every ``[dataset] supervise_type`` PyMIC 0.6.2 accepts.
SUPERVISE_TYPES: Tuple[str, ...] = ("fully_sup", "semi_sup", "self_sup", "weak_sup",
                                    "noisy_label")
DEFAULT_SUPERVISE_TYPE = "fully_sup"

#: supervise_type -> (section holding ``method_name``, PyMIC registry of the methods).
METHOD_TABLE: Dict[str, Tuple[str, str]] = {
    "weak_sup": ("weakly_supervised_learning", "WSLMethodDict"),
    "noisy_label": ("noisy_label_learning", "NLLMethodDict"),
    "semi_sup": ("semi_supervised_learning", "SSLMethodDict"),
}
#: the method sections, in the table's order.
METHOD_SECTIONS: Tuple[str, ...] = tuple(section for section, _ in METHOD_TABLE.values())
#: the method registries, in the table's order.
METHOD_REGISTRIES: Tuple[str, ...] = tuple(registry for _, registry in METHOD_TABLE.values())


def method_of(supervise_type: str) -> Optional[Tuple[str, str]]:
    """``(section, registry)`` for a supervision type that names a method, else ``None``."""
    return METHOD_TABLE.get(supervise_type)
