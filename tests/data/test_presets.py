"""The hard benchmark preset: its settings, the bright-core profile and the touching distractor."""
import numpy as np
import pytest

from pymic_paseg.config import ConfigError
from pymic_paseg.data import DemoConfig, demo_config
from pymic_paseg.data.case import _add_distractor
from pymic_paseg.data.lesion import lesion_intensity

SPACING = (1.0, 1.0, 1.0)


def test_demo_preset_is_the_default_config_and_hard_changes_it():
    assert demo_config("demo") == DemoConfig()
    hard = demo_config("hard", seed=3)
    assert hard.seed == 3 and hard.lesion_core_brighter and hard.distractor_probability > 0
    assert hard.lesion_radius_mm[0] < DemoConfig().lesion_radius_mm[0]
    assert hard.lesion_contrast[1] < DemoConfig().lesion_contrast[1]
    with pytest.raises(ConfigError, match="Did you mean 'hard'"):
        demo_config("hrad")
    with pytest.raises(ConfigError, match="distractor_probability"):
        DemoConfig(distractor_probability=1.5)


def test_core_brighter_reverses_the_radial_profile():
    mask = np.zeros((15, 15, 15), bool)
    mask[2:13, 2:13, 2:13] = True
    rng = np.random.default_rng(0)
    rim_bright = lesion_intensity(rng, mask, 1.2, 0.6, 0.0, SPACING)
    core_bright = lesion_intensity(rng, mask, 1.2, 0.6, 0.0, SPACING, core_brighter=True)
    centre, rim = (7, 7, 7), (2, 7, 7)
    assert rim_bright[rim] > rim_bright[centre]
    assert core_bright[centre] > core_bright[rim]
    # h = 0.6, depth 6 voxels at the centre, 1 on the rim: factor 1 + h (d / 6 - 1/2)
    assert core_bright[centre] == pytest.approx(1.2 * (1 + 0.6 * 0.5), rel=1e-5)
    assert core_bright[rim] == pytest.approx(1.2 * (1 + 0.6 * (1 / 6 - 0.5)), rel=1e-5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_distractor_touches_the_lesion_without_covering_it(seed):
    region = np.full((40, 40, 40), 100.0, np.float32)
    label = np.zeros(region.shape, bool)
    label[15:25, 15:25, 15:25] = True
    before = region.copy()
    config = DemoConfig(distractor_radius_mm=(3.0, 4.0), distractor_contrast=(1.5, 1.6))
    _add_distractor(np.random.default_rng(seed), region, label, config, SPACING, 100.0)
    assert np.array_equal(region[label], before[label]), "the lesion keeps its intensity"
    bright = (region > 130.0) & ~label
    assert bright.sum() > 20, "a bright blob was added outside the lesion"
    from scipy import ndimage
    touching = bright & ndimage.binary_dilation(label, iterations=1)
    assert touching.any(), "the blob abuts the lesion"
