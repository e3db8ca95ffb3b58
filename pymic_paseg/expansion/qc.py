"""Quality-control overlays of an expanded partial label, in the style of PA-Seg Fig. 3.

One PNG per case: axial, coronal and sagittal slices through the (first)
foreground click, showing the image in grey, Omega_F in red, Omega_B in green
(both translucent; unlabeled voxels show the bare image), the ground-truth
contour in yellow when it is known, and the click as a cross. Slices are drawn
with the voxel spacing as aspect ratio, in array orientation (row 0 at the top).
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np

from pymic_paseg.io_atomic import atomic_path

__all__ = ["draw_overlay", "COLORS"]

#: RGBA of the overlays.
COLORS = {"foreground": (1.0, 0.0, 0.0, 0.45), "background": (0.0, 0.8, 0.0, 0.25),
          "truth": "yellow", "click": "cyan"}
#: (title, axis cut, the two in-plane axes (rows, columns)) per view.
_VIEWS = (("axial", 0, (1, 2)), ("coronal", 1, (0, 2)), ("sagittal", 2, (0, 1)))
_PANEL_INCHES = 3.2
_DPI = 110
_CONTOUR_WIDTH = 1.2
_PERCENTILES = (1.0, 99.5)


def _rgba(mask: np.ndarray, color: Tuple[float, float, float, float]) -> np.ndarray:
    out = np.zeros(mask.shape + (4,), np.float32)
    out[mask] = color
    return out


def _take(volume: np.ndarray, axis: int, index: int) -> np.ndarray:
    return np.take(volume, index, axis=axis)


def draw_overlay(path: str, image: np.ndarray, partial: np.ndarray, click_zyx: Sequence[int],
                 spacing_zyx: Sequence[float], class_num: int,
                 ground_truth: Optional[np.ndarray] = None, title: str = "") -> None:
    """Write the three-view overlay PNG of one case (see module docstring).

    Args:
        path: the PNG file (written atomically).
        image: ``(D, H, W)`` or ``(C, D, H, W)`` intensities (channel 0 is shown).
        partial: ``(D, H, W)`` partial label (0 background, ``class_num`` unlabeled).
        click_zyx: the voxel the three slices go through.
        spacing_zyx: voxel spacing, for the aspect ratio.
        class_num: the unlabeled value of ``partial``.
        ground_truth: optional dense label; its boundary is drawn.
        title: figure title.
    """
    from matplotlib.figure import Figure  # no pyplot: renders with Agg, no global state

    image = np.asarray(image, np.float32)
    image = image[0] if image.ndim == partial.ndim + 1 else image
    low, high = np.percentile(image, _PERCENTILES)
    foreground = (partial > 0) & (partial < class_num)
    background = partial == 0
    figure = Figure(figsize=(_PANEL_INCHES * len(_VIEWS), _PANEL_INCHES + 0.4),
                    layout="constrained")
    for axes, (name, axis, (rows, cols)) in zip(figure.subplots(1, len(_VIEWS)), _VIEWS):
        index = int(click_zyx[axis])
        aspect = spacing_zyx[rows] / spacing_zyx[cols]
        axes.imshow(_take(image, axis, index), cmap="gray", vmin=low, vmax=high,
                    aspect=aspect, interpolation="nearest")
        for mask, key in ((background, "background"), (foreground, "foreground")):
            axes.imshow(_rgba(_take(mask, axis, index), COLORS[key]), aspect=aspect,
                        interpolation="nearest")
        if ground_truth is not None:
            truth = _take(np.asarray(ground_truth) != 0, axis, index)
            if truth.any() and not truth.all():
                axes.contour(truth.astype(np.float32), levels=[0.5], colors=COLORS["truth"],
                             linewidths=_CONTOUR_WIDTH)
        axes.plot([click_zyx[cols]], [click_zyx[rows]], marker="+", color=COLORS["click"],
                  markersize=8)
        axes.set_title(f"{name} {'zyx'[axis]}={index}")
        axes.set_axis_off()
    figure.suptitle(title or "seed expansion: red = foreground, green = background, "
                    "yellow = ground truth")
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=_DPI)
