"""Named demo-dataset presets: the easy demo and a harder benchmark.

``demo`` is :class:`~pymic_paseg.data.demo_config.DemoConfig`'s defaults: one round-ish,
bright, rim-enhancing lesion per case, well inside the brain.

``hard`` is harder in the ways real targets are (issue 10):

* heterogeneous, with a low-contrast part: a bright core (1.5-1.9 x white matter)
  inside a faint rim (1.05-1.36 x white matter) that is still lesion
  (``lesion_core_brighter``, contrast 1.35-1.55, heterogeneity 0.25-0.45);
* small: radii 3.5-9 mm instead of 6-12 mm;
* touching another bright structure: in 60% of the cases an unlabelled bright blob
  (radius 3-6 mm, contrast 1.4-1.7) touches the lesion;
* noisier (1.5-4% of white matter) with a stronger bias field (0.25).

``two_class`` has two lesion classes per case (issue 12): the demo's bright lesion
(class 1, label value 1) and, a 3-10 mm gap away in the same crop, a smaller dark lesion
(class 2, value 2: radius 5-9 mm, 0.4-0.55 x white matter, darker than white matter
and about as dark as grey matter's darker parts). Train it with ``class_num = 3``.

All use the same template, splits and seeding, so ``--seed S`` gives a different
dataset for each preset and seed.
"""
from __future__ import annotations

from typing import Any, Dict

from pymic_paseg.config import look_up_option
from pymic_paseg.data.demo_config import DemoConfig

__all__ = ["PRESETS", "demo_config"]

PRESETS: Dict[str, Dict[str, Any]] = {
    "demo": {},
    "hard": {
        "lesion_radius_mm": (3.5, 9.0),
        "lesion_contrast": (1.35, 1.55),
        "lesion_heterogeneity": (0.25, 0.45),
        "lesion_core_brighter": True,
        "distractor_probability": 0.6,
        "distractor_radius_mm": (3.0, 6.0),
        "distractor_contrast": (1.4, 1.7),
        "noise_std": (0.015, 0.04),
        "bias_strength": 0.25,
    },
    "two_class": {"n_classes": 2},
}


def demo_config(preset: str = "demo", **settings: Any) -> DemoConfig:
    """A :class:`DemoConfig` from the named preset, ``settings`` overriding it."""
    name = look_up_option(preset, PRESETS, where="demo dataset preset")
    return DemoConfig(**{**PRESETS[name], **settings})
