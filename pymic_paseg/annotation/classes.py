"""The class of an annotated object, and the table of classes of a project.

Each :class:`~pymic_paseg.annotation.model.ObjectAnnotation` carries an integer
``label``: its class in the partial label map (1..K; 0 is background). Where it
comes from depends on the click format:

* CSV: the ``label`` column (:mod:`~pymic_paseg.annotation.io_csv`);
* 3D Slicer (``.mrk.json``, ``.fcsv``): a token ``class=N`` (also ``class:N``,
  ``label=N``) in the ``description`` or the ``label`` of any point of the object
  (:func:`class_from_text`); all tokens of one object must agree; none means 1;
* NIfTI click maps: a table ``case,object,label`` given to ``pymic_run prepare
  --object-classes`` (the instance code of object ``k`` is ``2k+1``/``2k+2`` and its
  object id is ``k+1``, see :mod:`~pymic_paseg.annotation.io_nifti`).

Classes are numbered 1..K without gaps and named by the user (``--class-names
1=tumour,2=oedema``). A project with K classes trains with ``class_num = K + 1``.
"""
from __future__ import annotations

import re
from typing import Dict, Iterable, Mapping, Optional

from pymic_paseg.annotation.errors import AnnotationError
from pymic_paseg.annotation.model import CaseAnnotation

__all__ = ["DEFAULT_CLASS", "class_from_text", "parse_class_names", "class_table"]

DEFAULT_CLASS = 1
#: name of the single class when the user gives none.
DEFAULT_SINGLE_NAME = "foreground"
_CLASS_TOKEN = re.compile(r"(?<![A-Za-z0-9])(?:class|label)\s*[=:]\s*([^\s,;]+)", re.IGNORECASE)



def class_from_text(text: str, where: str = "") -> Optional[int]:
    """``'left kidney, class=2'`` -> 2; ``None`` when ``text`` has no class token.

    Raises:
        AnnotationError: the token's value is not an integer >= 1.
    """
    match = _CLASS_TOKEN.search(text or "")
    if match is None:
        return None
    value = match.group(1)
    if not value.isdigit() or int(value) < 1:
        raise AnnotationError(f"{where + ': ' if where else ''}class token {match.group(0)!r}: "
                              "the class must be an integer >= 1 (name classes with "
                              "--class-names 1=NAME,...)")
    return int(value)


def parse_class_names(text: Optional[str]) -> Dict[int, str]:
    """``'1=tumour,2=oedema'`` -> ``{1: 'tumour', 2: 'oedema'}``; ``ValueError`` if malformed."""
    names: Dict[int, str] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        number, sep, name = item.partition("=")
        if not sep or not number.strip().isdigit() or int(number) < 1 or not name.strip():
            raise ValueError(f"class names: {item.strip()!r} is not NUMBER=NAME (e.g. "
                             "1=tumour,2=oedema)")
        names[int(number)] = name.strip()
    return names


def class_table(cases: Iterable[CaseAnnotation],
                names: Optional[Mapping[int, str]] = None) -> Dict[int, str]:
    """``{1: name, ..., K: name}`` of the classes the objects of ``cases`` use.

    Raises:
        ValueError: the classes are not 1..K without gaps (naming the cases of each
            class), or ``names`` names a class no object has.
    """
    used: Dict[int, str] = {}
    for case in cases:
        for obj in case.objects:
            used.setdefault(int(obj.label), f"case {case.case_id!r} object {obj.object_id!r}")
    names = dict(names or {})
    if not used:
        used = {DEFAULT_CLASS: "(no object)"}
    expected = list(range(1, max(used) + 1))
    if sorted(used) != expected:
        missing = [k for k in expected if k not in used]
        raise ValueError(f"object classes must be numbered 1..K without gaps; found "
                         f"{sorted(used)} (no object of class {missing}); e.g. class "
                         f"{max(used)} first seen in {used[max(used)]}")
    unknown = [k for k in names if k not in used]
    if unknown:
        raise ValueError(f"--class-names names class(es) {unknown} that no object has "
                         f"(classes found: {sorted(used)})")
    if len(used) == 1:
        return {DEFAULT_CLASS: names.get(DEFAULT_CLASS, DEFAULT_SINGLE_NAME)}
    return {k: names.get(k, f"class_{k}") for k in expected}
