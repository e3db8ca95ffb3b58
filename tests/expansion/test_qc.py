"""QC overlays: a PNG of three views whose colours show Omega_F, Omega_B and the truth."""
import numpy as np
import pytest

from expansion_helpers import SHAPE, cube_case
from pymic_paseg.expansion.qc import draw_overlay

mpimg = pytest.importorskip("matplotlib.image")


def _pixels(path):
    rgba = mpimg.imread(str(path))
    return rgba[..., :3]


# over a black image: red at alpha 0.45 is about (0.45, 0, 0), green at 0.25 about (0, 0.2, 0)
def _reddish(rgb):
    return int(np.count_nonzero((rgb[..., 0] > 0.3) & (rgb[..., 1] < 0.1) & (rgb[..., 2] < 0.1)))


def _greenish(rgb):
    return int(np.count_nonzero((rgb[..., 1] > 0.12) & (rgb[..., 0] < 0.05) & (rgb[..., 2] < 0.05)))


def test_overlay_is_a_png_of_three_panels_left_without_temp_files(tmp_path):
    image, truth, click, _ = cube_case()
    partial = np.full(SHAPE, 2, np.uint8)
    partial[truth] = 1
    path = tmp_path / "case.png"
    draw_overlay(str(path), image[None], partial, click, (2.0, 1.0, 1.0), 2, truth, "cube")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["case.png"]
    height, width = _pixels(path).shape[:2]
    assert width == pytest.approx(3 * 3.2 * 110, abs=2)
    assert height == pytest.approx((3.2 + 0.4) * 110, abs=2)


def test_foreground_is_red_background_green_and_unlabeled_neither(tmp_path):
    image, truth, click, _ = cube_case()
    image = np.zeros_like(image)  # grey = black: only the overlays have colour
    only_fg = np.full(SHAPE, 2, np.uint8)
    only_fg[truth] = 1
    only_bg = np.full(SHAPE, 2, np.uint8)
    only_bg[~truth] = 0
    nothing = np.full(SHAPE, 2, np.uint8)
    counts = {}
    for name, partial in (("fg", only_fg), ("bg", only_bg), ("none", nothing)):
        path = tmp_path / f"{name}.png"
        draw_overlay(str(path), image, partial, click, (1.0, 1.0, 1.0), 2)
        rgb = _pixels(path)
        counts[name] = (_reddish(rgb), _greenish(rgb))
    assert counts["fg"][0] > 500 and counts["fg"][1] == 0
    assert counts["bg"][1] > 500 and counts["bg"][0] == 0
    assert counts["none"] == (0, 0)
