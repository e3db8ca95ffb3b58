"""Which cases train, validate and test.

* training cases need clicks; their dense labels, if any, are never used;
* validation cases need a dense label (PyMIC scores each validation against it);
* test cases are inferred; those with a dense label are also scored, the others get
  predictions only (e.g. the cases nobody has clicked yet).

With ``--split TRAIN,VALID,TEST`` (fractions of all cases), ``round(VALID x N)``
validation and ``round(TEST x N)`` test cases are drawn (seeded permutation) from the
cases with a dense label, those without clicks first, so clicks are not wasted; every
other case with clicks trains, and every case without clicks is a test case. With
``--valid-csv``/``--test-csv`` (a CSV with a ``case`` or ``image`` column) the lists are
taken as given and the rest is split the same way.
"""
from __future__ import annotations

import csv
import logging
import math
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

import numpy as np

from pymic_paseg.annotation.model import case_id_from_path

__all__ = ["TRAIN", "VALID", "TEST", "parse_split", "read_case_list", "assign_splits"]

logger = logging.getLogger(__name__)
TRAIN, VALID, TEST = "train", "valid", "test"


def parse_split(text: str) -> Tuple[float, float, float]:
    """``'0.7,0.1,0.2'`` -> fractions summing to 1; ``ValueError`` otherwise."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if (len(values) != 3 or not all(0.0 <= v <= 1.0 for v in values)
            or not math.isclose(sum(values), 1.0, abs_tol=1e-6)):
        raise ValueError(f"--split {text!r}: expected three fractions TRAIN,VALID,TEST in "
                         "[0, 1] summing to 1, e.g. 0.7,0.1,0.2")
    return values  # type: ignore[return-value]


def read_case_list(path: str, known: Iterable[str]) -> List[str]:
    """Case names of a CSV with a ``case`` or an ``image`` column; each must be known."""
    known = set(known)
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = {(h or "").strip().lower(): h for h in reader.fieldnames or []}
        if "case" not in header and "image" not in header:
            raise ValueError(f"{path}: needs a 'case' or an 'image' column")
        cases = [(row[header["case"]] or "").strip() if "case" in header
                 else case_id_from_path((row[header["image"]] or "").strip()) for row in reader]
    unknown = [c for c in cases if c not in known]
    if unknown:
        raise ValueError(f"{path}: case(s) {unknown} have no image")
    return cases


def _draw(order: Sequence[str], labelled: Set[str], clicked: Set[str], count: int,
          taken: Set[str]) -> List[str]:
    pool = [c for c in order if c in labelled and c not in taken]
    pool = [c for c in pool if c not in clicked] + [c for c in pool if c in clicked]
    return pool[:count]


def assign_splits(cases: Sequence[str], clicked: Set[str], labelled: Set[str], *,
                  fractions: Tuple[float, float, float] = (0.7, 0.1, 0.2), seed: int = 0,
                  valid: Optional[Sequence[str]] = None,
                  test: Optional[Sequence[str]] = None) -> Dict[str, str]:
    """``case -> split`` (see the module docstring).

    Raises:
        ValueError: a listed validation case without a dense label, or a case in both lists.
    """
    order = [cases[i] for i in np.random.default_rng(seed).permutation(len(cases))]
    n = len(cases)
    valid_cases = list(valid) if valid is not None else \
        _draw(order, labelled, clicked, round(fractions[1] * n), set())
    test_cases = list(test) if test is not None else \
        _draw(order, labelled, clicked, round(fractions[2] * n), set(valid_cases))
    both = sorted(set(valid_cases) & set(test_cases))
    if both:
        raise ValueError(f"case(s) {both} are listed for both validation and test")
    unlabelled = [c for c in valid_cases if c not in labelled]
    if unlabelled:
        raise ValueError(f"validation case(s) {unlabelled} have no dense label (--labels)")
    if valid is None and len(valid_cases) < round(fractions[1] * n):
        logger.warning("only %d labelled case(s) for %d validation case(s)", len(valid_cases),
                       round(fractions[1] * n))
    out = {c: VALID for c in valid_cases}
    out.update({c: TEST for c in test_cases})
    for case in cases:
        out.setdefault(case, TRAIN if case in clicked else TEST)
    return {c: out[c] for c in cases}
