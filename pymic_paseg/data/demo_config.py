"""Every setting of the demo dataset builder, with defaults and checks.

:class:`DemoConfig` is re-exported by :mod:`pymic_paseg.data.demo` and
:mod:`pymic_paseg.data`; it lives here so the case synthesiser and the builder
can both import it.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, fields
from typing import Tuple, Union

from pymic_paseg.config import ConfigError
from pymic_paseg.data.lesion import LesionSpec

__all__ = ["DemoConfig", "SplitSize"]

#: a split size: an int is a number of cases, a float in [0, 1) a fraction of ``n_cases``.
SplitSize = Union[int, float]
_PAIR = 2
#: settings of the class-2 lesion (``n_classes = 2``).
_CLASS2_FIELDS = ("n_classes", "class2_radius_mm", "class2_contrast", "class2_gap_mm")
#: the (low, high) range settings.
_RANGES = ("lesion_radius_mm", "lesion_contrast", "lesion_heterogeneity", "noise_std",
           "distractor_radius_mm", "distractor_contrast", "class2_radius_mm", "class2_contrast",
           "class2_gap_mm")


def _fail(name: str, value: object, rule: str) -> None:
    raise ConfigError(f"DemoConfig.{name} = {value!r}: {rule}")


def _split_count(name: str, value: SplitSize, n_cases: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        _fail(name, value, "must be a count (int) or a fraction (float in [0, 1))")
    if isinstance(value, numbers.Integral):
        if value < 0:
            _fail(name, value, "a count must be >= 0")
        return int(value)
    if not 0.0 <= float(value) < 1.0:
        _fail(name, value, "a fraction must be in [0, 1); give an int for a count")
    return int(round(float(value) * n_cases))


@dataclass
class DemoConfig:
    """Settings of :func:`pymic_paseg.data.build_demo_dataset`.

    Geometry is ``(z, y, x)`` = ``(D, H, W)``; lengths are in mm unless named ``_vox``.

    Attributes:
        n_cases: number of cases (>= 1).
        seed: base seed; case ``i`` uses ``np.random.default_rng([seed, i])``.
        crop_size: crop shape ``(D, H, W)`` in voxels.
        n_valid, n_test: split sizes, counts (int) or fractions of ``n_cases``
            (float in [0, 1)); the rest is training. Cases are assigned in index
            order: train, then valid, then test.
        lesion_radius_mm: range of the lesion's nominal (envelope) radius.
        lesion_contrast: range of mean lesion intensity / white-matter intensity.
        lesion_heterogeneity: range of the rim-to-core intensity difference.
        lesion_elongation, lesion_irregularity, lesion_warp, lesion_texture:
            shape and texture settings, see :class:`pymic_paseg.data.lesion.LesionSpec`.
        min_tissue_probability: the lesion centre lies where GM + WM probability
            is at least this (so not in CSF or ventricles).
        brain_margin_mm: least distance from the lesion to the brain's edge.
        border_margin_vox: least distance from the lesion to the crop border,
            after the deformation.
        deform_max_mm, deform_sigma_mm: per-case smooth deformation: peak
            displacement and correlation length.
        bias_strength, bias_sigma_mm: multiplicative bias ``exp(b s(x))``,
            ``|b| <= bias_strength``, correlation length ``bias_sigma_mm``.
        noise_std: range of the noise standard deviation, as a fraction of the
            white-matter intensity.
        rician_noise: Rician (True) or Gaussian (False) noise.
        max_lesion_attempts: lesions are redrawn until one fits the crop and the
            brain; the build fails after this many draws for one case.
        lesion_core_brighter: reverse the lesion's radial profile: a bright core
            inside a fainter rim that is still lesion.
        distractor_probability: chance that a case gets a second, unlabelled bright
            blob touching the lesion (a non-target structure next to the target).
        distractor_radius_mm, distractor_contrast: ranges of the distractor's radius
            and of its intensity relative to white matter.
        n_classes: lesion classes per case, 1 or 2. With 2, each case also gets a
            lesion of class 2 (label value 2) near the class-1 lesion, in the same crop.
        class2_radius_mm, class2_contrast: ranges of the class-2 lesion's radius and of
            its intensity relative to white matter (below 1: darker than white matter).
        class2_gap_mm: range of the gap between the two lesions' bounding spheres.
    """

    n_cases: int = 40
    seed: int = 0
    crop_size: Tuple[int, int, int] = (48, 64, 64)
    n_valid: SplitSize = 4
    n_test: SplitSize = 8
    lesion_radius_mm: Tuple[float, float] = (6.0, 12.0)
    lesion_contrast: Tuple[float, float] = (1.3, 1.6)
    lesion_heterogeneity: Tuple[float, float] = (0.1, 0.4)
    lesion_elongation: float = 0.3
    lesion_irregularity: float = 0.6
    lesion_warp: float = 0.25
    lesion_texture: float = 0.05
    min_tissue_probability: float = 0.5
    brain_margin_mm: float = 2.0
    border_margin_vox: int = 2
    deform_max_mm: float = 3.0
    deform_sigma_mm: float = 12.0
    bias_strength: float = 0.15
    bias_sigma_mm: float = 40.0
    noise_std: Tuple[float, float] = (0.01, 0.03)
    rician_noise: bool = True
    max_lesion_attempts: int = 25
    lesion_core_brighter: bool = False
    distractor_probability: float = 0.0
    distractor_radius_mm: Tuple[float, float] = (3.0, 6.0)
    distractor_contrast: Tuple[float, float] = (1.4, 1.7)
    n_classes: int = 1
    class2_radius_mm: Tuple[float, float] = (5.0, 9.0)
    class2_contrast: Tuple[float, float] = (0.4, 0.55)
    class2_gap_mm: Tuple[float, float] = (3.0, 10.0)

    def __post_init__(self) -> None:
        self.crop_size = tuple(self.crop_size)  # type: ignore[assignment]
        for name in _RANGES:
            setattr(self, name, tuple(getattr(self, name)))
        self._check_counts()
        self._check_ranges()
        self.split_counts()

    def _check_counts(self) -> None:
        for name in ("n_cases", "seed", "border_margin_vox", "max_lesion_attempts"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                _fail(name, value, "must be an integer")
        if self.n_cases < 1:
            _fail("n_cases", self.n_cases, "must be >= 1")
        if self.seed < 0:
            _fail("seed", self.seed, "must be >= 0 (numpy seeds are non-negative)")
        if self.border_margin_vox < 0 or self.max_lesion_attempts < 1:
            _fail("border_margin_vox/max_lesion_attempts",
                  (self.border_margin_vox, self.max_lesion_attempts), "must be >= 0 and >= 1")
        crop = self.crop_size
        if len(crop) != 3 or any(isinstance(c, bool) or not isinstance(c, numbers.Integral)
                                 or c < 1 for c in crop):
            _fail("crop_size", crop, "must be three positive integers (D, H, W)")

    def _check_ranges(self) -> None:
        for name in _RANGES:
            low_high = getattr(self, name)
            if len(low_high) != _PAIR or not 0 <= low_high[0] <= low_high[1]:
                _fail(name, low_high, "must be a range (low, high) with 0 <= low <= high")
        if self.n_classes not in (1, 2):
            _fail("n_classes", self.n_classes, "must be 1 or 2 (lesion classes per case)")
        for name in ("lesion_radius_mm", "distractor_radius_mm", "class2_radius_mm"):
            if getattr(self, name)[0] <= 0:
                _fail(name, getattr(self, name), "radii must be > 0")
        if not 0.0 <= self.distractor_probability <= 1.0:
            _fail("distractor_probability", self.distractor_probability, "must be in [0, 1]")
        for name in ("lesion_elongation", "lesion_irregularity", "min_tissue_probability"):
            if not 0.0 <= getattr(self, name) < 1.0:
                _fail(name, getattr(self, name), "must be in [0, 1)")
        for name in ("lesion_warp", "lesion_texture", "brain_margin_mm", "deform_max_mm",
                     "bias_strength"):
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) >= 0):
                _fail(name, getattr(self, name), "must be a finite number >= 0")
        for name in ("deform_sigma_mm", "bias_sigma_mm"):
            if not getattr(self, name) > 0:
                _fail(name, getattr(self, name), "must be > 0")

    def split_counts(self) -> Tuple[int, int, int]:
        """``(n_train, n_valid, n_test)``; raises if valid + test exceed ``n_cases``."""
        n_valid = _split_count("n_valid", self.n_valid, self.n_cases)
        n_test = _split_count("n_test", self.n_test, self.n_cases)
        if n_valid + n_test > self.n_cases:
            _fail("n_valid + n_test", n_valid + n_test,
                  f"exceeds n_cases = {self.n_cases}; set smaller counts or fractions, "
                  f"e.g. n_valid=0.1, n_test=0.2")
        return self.n_cases - n_valid - n_test, n_valid, n_test

    def lesion_spec(self) -> LesionSpec:
        """The lesion settings as a :class:`LesionSpec`."""
        return LesionSpec(
            radius_mm=self.lesion_radius_mm, elongation=self.lesion_elongation,
            irregularity=self.lesion_irregularity, warp=self.lesion_warp,
            contrast=self.lesion_contrast, heterogeneity=self.lesion_heterogeneity,
            texture=self.lesion_texture, core_brighter=bool(self.lesion_core_brighter))

    def distractor_spec(self) -> LesionSpec:
        """The distractor blob's settings: a smaller, bright, homogeneous lesion shape."""
        return LesionSpec(
            radius_mm=self.distractor_radius_mm, elongation=self.lesion_elongation,
            irregularity=self.lesion_irregularity, warp=self.lesion_warp,
            contrast=self.distractor_contrast, heterogeneity=(0.0, 0.1),
            texture=self.lesion_texture)

    def class2_spec(self) -> LesionSpec:
        """The class-2 lesion's settings: its own radius and contrast, a mild profile."""
        return LesionSpec(
            radius_mm=self.class2_radius_mm, elongation=self.lesion_elongation,
            irregularity=self.lesion_irregularity, warp=self.lesion_warp,
            contrast=self.class2_contrast, heterogeneity=(0.0, 0.2),
            texture=self.lesion_texture)

    def to_dict(self) -> dict:
        """JSON-ready settings (tuples become lists); the class-2 settings only when used,
        so a one-class dataset's manifest is what it was before classes existed."""
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v)
                for f in fields(self)
                if self.n_classes > 1 or f.name not in _CLASS2_FIELDS}
