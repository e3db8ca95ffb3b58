"""Set the number of classes of a PyMIC / pymic_paseg INI config by editing its keys.

A task with ``K`` foreground classes trains with ``class_num = K + 1`` and is evaluated
on labels ``1 .. K``. :func:`with_class_count` rewrites, in the config's text (comments
and layout kept), every key that holds that number:

=========================== ======================================================
key                         new value
=========================== ======================================================
``[network] class_num``     ``K + 1``
``[network_auxiliary]``     ``class_num = K + 1`` (SCM's second network)
``[dataset] *_class_num``   ``K + 1`` (``PartialLabelToProbability_class_num``,
                            ``LabelToProbability_class_num``; PyMIC fills them from
                            ``[network]`` when absent)
``[evaluation] label_list`` ``[1, ..., K]``
=========================== ======================================================

A config with none of these keys, or with a key that depends on the class count but
cannot be rewritten (``[training] class_weight``, ``loss_class_weight``), raises
:class:`~pymic_paseg.config.ConfigError` naming the file and the key.
"""
from __future__ import annotations

from pathlib import Path
from typing import Union

from pymic_paseg.config import ConfigError
from pymic_paseg.ini_edit import IniEditor
from pymic_paseg.io_atomic import atomic_write_text

__all__ = ["with_class_count", "write_with_class_count"]

_CLASS_NUM_SECTIONS = ("network", "network_auxiliary")
_DATASET_KEYS = ("partiallabeltoprobability_class_num", "labeltoprobability_class_num")
#: keys whose value has one entry per class; refused rather than guessed.
_PER_CLASS_KEYS = ("class_weight", "loss_class_weight")


def with_class_count(text: str, n_classes: int, source: str = "<config>") -> str:
    """``text`` with every class-count key set for ``n_classes`` foreground classes."""
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 1:
        raise ValueError(f"n_classes must be an integer >= 1. Got: {n_classes!r}")
    editor = IniEditor(text, source)
    changed = 0
    for section, key in editor.entries():
        value = _new_value(section, key.lower(), n_classes, source)
        if value is not None:
            editor.set(section, key, value)
            changed += 1
    if not changed:
        raise ConfigError(f"{source}: no key holds the class count ([network] class_num or "
                          "[evaluation] label_list); cannot set it to "
                          f"{n_classes} class(es)")
    return editor.text()


def _new_value(section: str, key: str, n_classes: int, source: str) -> Union[str, None]:
    if key in _PER_CLASS_KEYS:
        raise ConfigError(f"{source}: [{section}] {key} has one entry per class; set it by "
                          f"hand for class_num = {n_classes + 1}")
    if (section in _CLASS_NUM_SECTIONS and key == "class_num") or \
            (section == "dataset" and key in _DATASET_KEYS):
        return str(n_classes + 1)
    if section == "evaluation" and key == "label_list":
        return "[" + ", ".join(str(k) for k in range(1, n_classes + 1)) + "]"
    return None


def write_with_class_count(source: Union[str, Path], target: Union[str, Path],
                           n_classes: int) -> None:
    """Copy the config ``source`` to ``target`` (atomically) for ``n_classes`` classes."""
    text = Path(source).read_text(encoding="utf-8")
    atomic_write_text(target, with_class_count(text, n_classes, str(source)))
