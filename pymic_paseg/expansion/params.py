"""Seed-expansion settings, their defaults, and how they are read from a config section.

Config keys (in the section PyMIC hands to the transform or runner, e.g. ``[dataset]``;
configparser lower-cases them, matching is case-insensitive):

=========================================== ============ =====================================
key                                         default      rule
=========================================== ============ =====================================
``SeedExpansion_rule``                      adaptive     paper or adaptive (see below)
``SeedExpansion_epsilon``                   0.2          number in [0, 1] (eq. 2's epsilon)
``SeedExpansion_lambda``                    0.5          number in [0, 1] (spatial/intensity mix)
``SeedExpansion_iterations``                4            integer >= 1 (raster-scan iterations)
``SeedExpansion_backend``                   torch        torch, geodistk or fastgeodis (installed)
``SeedExpansion_cost``                      geodistk     geos, geodistk or fastgeodis
``SeedExpansion_intensity_normalization``   none         none or zscore
``SeedExpansion_mask_threshold``            (absent)     number: Omega_M = image > threshold
=========================================== ============ =====================================

``SeedExpansion_rule = paper`` is PA-Seg's eq. 2, and the other defaults reproduce
the PA-Seg code for it (``generate_geodesic_labels.py``: GeodisTK raster scan on
the raw image, weight 0.5, threshold 0.2 as in its README, 4 iterations). The
default rule, ``adaptive`` (:mod:`pymic_paseg.expansion.adaptive`), uses all seven
clicks and chooses its cost and thresholds per object; of the keys above it reads
only ``backend``, ``iterations`` and ``mask_threshold``. It was more precise on
real anatomy and on the demo lesions (``benchmarks/expansion.py``, docs/annotation.md).
``SeedExpansion_mask_threshold`` is only used when no mask file is
given; the PA-Seg BraTS script used "image > its minimum", i.e. 0 for
skull-stripped images.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Dict, Optional

from pymic_paseg.config import ConfigError, Section, look_up_option
from pymic_paseg.expansion.intensity import INTENSITY_NORMALIZATIONS
from pymic_paseg.geodesic import BACKENDS, COSTS
from pymic_paseg.geodesic.backends import BackendUnavailableError, get_backend, resolve_cost

__all__ = ["DEFAULT_PREFIX", "DEFAULT_RULE", "PAPER_RULE", "RULES", "ExpansionParams"]

DEFAULT_PREFIX = "SeedExpansion_"

#: the expansion rules: ``paper`` (eq. 2, one click) and ``adaptive`` (all seven clicks).
PAPER_RULE = "paper"
RULES = (PAPER_RULE, "adaptive")
DEFAULT_RULE = "adaptive"

DEFAULT_EPSILON = 0.2
DEFAULT_LAMBDA = 0.5
DEFAULT_ITERATIONS = 4
DEFAULT_BACKEND = "torch"
DEFAULT_COST = "geodistk"
DEFAULT_NORMALIZATION = "none"

#: key suffix -> dataclass field
_KEYS = {
    "rule": "rule",
    "epsilon": "epsilon",
    "lambda": "lamb",
    "iterations": "iterations",
    "backend": "backend",
    "cost": "cost",
    "intensity_normalization": "intensity_normalization",
    "mask_threshold": "mask_threshold",
}


@dataclass(frozen=True)
class ExpansionParams:
    """Parameters of :func:`pymic_paseg.expansion.expand_seeds` (see the module table)."""

    epsilon: float = DEFAULT_EPSILON
    rule: str = DEFAULT_RULE
    lamb: float = DEFAULT_LAMBDA
    iterations: int = DEFAULT_ITERATIONS
    backend: str = DEFAULT_BACKEND
    cost: str = DEFAULT_COST
    intensity_normalization: str = DEFAULT_NORMALIZATION
    mask_threshold: Optional[float] = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.epsilon <= 1.0:
            raise ValueError(f"epsilon must be in [0, 1]. Got: {self.epsilon}")
        if not 0.0 <= self.lamb <= 1.0:
            raise ValueError(f"lamb must be in [0, 1]. Got: {self.lamb}")
        if isinstance(self.iterations, bool) or int(self.iterations) != self.iterations \
                or self.iterations < 1:
            raise ValueError(f"iterations must be an integer >= 1. Got: {self.iterations}")
        look_up_option(self.rule, RULES, where="rule")
        look_up_option(self.backend, BACKENDS, where="backend")
        look_up_option(self.cost, COSTS, where="cost")
        look_up_option(self.intensity_normalization, INTENSITY_NORMALIZATIONS,
                       where="intensity_normalization")

    @classmethod
    def from_section(cls, section: Section, prefix: str = DEFAULT_PREFIX) -> "ExpansionParams":
        """Read ``<prefix>*`` keys from ``section``; unknown ``<prefix>*`` keys are an error.

        Raises:
            ConfigError: a value is malformed or out of range, a key is misspelled, the
                backend is not installed or does not implement the cost. The message
                names the section, the key and the value.
        """
        section.check_known_keys(prefix, [prefix + suffix for suffix in _KEYS])
        key = {suffix: prefix + suffix for suffix in _KEYS}
        threshold_key = key["mask_threshold"]
        params = cls(
            rule=section.choice(key["rule"], list(RULES), DEFAULT_RULE),
            epsilon=section.float(key["epsilon"], DEFAULT_EPSILON, low=0.0, high=1.0),
            lamb=section.float(key["lambda"], DEFAULT_LAMBDA, low=0.0, high=1.0),
            iterations=section.int(key["iterations"], DEFAULT_ITERATIONS, low=1),
            backend=section.choice(key["backend"], list(BACKENDS), DEFAULT_BACKEND),
            cost=section.choice(key["cost"], list(COSTS), DEFAULT_COST),
            intensity_normalization=section.choice(
                key["intensity_normalization"], INTENSITY_NORMALIZATIONS, DEFAULT_NORMALIZATION),
            mask_threshold=(section.float(threshold_key) if section.has(threshold_key)
                            else None),
        )
        params._check_backend(section, key["backend"], key["cost"])
        return params

    def _check_backend(self, section: Section, backend_key: str, cost_key: str) -> None:
        try:
            backend = get_backend(self.backend)
        except BackendUnavailableError as err:
            raise section.fail(backend_key, self.backend, str(err)) from None
        try:
            resolve_cost(backend, self.cost)
        except ConfigError as err:
            raise section.fail(cost_key, self.cost, str(err)) from None

    def expansion_kwargs(self) -> Dict[str, Any]:
        """Keyword arguments for :func:`~pymic_paseg.expansion.expand_seeds`."""
        kwargs = asdict(self)
        del kwargs["mask_threshold"]
        return kwargs
