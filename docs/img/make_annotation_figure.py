"""Draw docs/img/annotation_protocol.png: the seven-click protocol and the regions it implies.

Run from the repository root::

    python docs/img/make_annotation_figure.py

A synthetic 3D volume (a lobed "lesion" inside an elliptical "head" with zeros
around it) is annotated by the package's own click simulator, then shown as:

1. an axial slice through the foreground click, with the four in-plane
   background clicks (left/right, anterior/posterior) and the box;
2. a coronal slice with the inferior/superior clicks;
3. the regions: Omega_B = outside the box, plus the invalid region Omega - Omega_M,
   Omega_F = expanded foreground, Omega_U = the rest (unlabelled). The
   expansion here is *schematic*: a 2D geodesic distance on the shown slice
   (Dijkstra on the 8-neighbour pixel graph, step cost
   ``sqrt(d_mm^2 + (GAMMA * dI)^2)``), thresholded at ``EPSILON`` times its
   maximum over Omega - Omega_B, where PA-Seg uses a 3D geodesic distance.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Patch, Rectangle  # noqa: E402
from scipy import ndimage, sparse  # noqa: E402
from scipy.sparse.csgraph import dijkstra  # noqa: E402

from pymic_paseg.annotation import simulate_clicks  # noqa: E402

OUT = Path(__file__).with_name("annotation_protocol.png")
SHAPE = (40, 120, 120)
SPACING = (2.0, 1.0, 1.0)
SEED = 4
EPSILON = 0.2           # schematic expansion threshold (fraction of the max distance)
GAMMA = 40.0            # intensity weight of the schematic geodesic step cost
NOISE_SD = 0.06
DPI = 110


def synthetic_volume() -> tuple:
    """(image, lesion mask, valid mask Omega_M) on SHAPE."""
    z, y, x = np.indices(SHAPE).astype(float)
    head = ((z - 20) / 19) ** 2 + ((y - 60) / 55) ** 2 + ((x - 60) / 48) ** 2 <= 1
    lobe1 = ((z - 20) * 2 / 14) ** 2 + ((y - 55) / 16) ** 2 + ((x - 52) / 12) ** 2 <= 1
    lobe2 = ((z - 22) * 2 / 10) ** 2 + ((y - 68) / 10) ** 2 + ((x - 66) / 11) ** 2 <= 1
    lesion = lobe1 | lobe2
    rng = np.random.default_rng(0)
    image = 0.35 * head + 0.45 * lesion + NOISE_SD * rng.standard_normal(SHAPE) * head
    return ndimage.gaussian_filter(image, 0.8), lesion.astype(np.uint8), head


def geodesic_2d(image: np.ndarray, seed: tuple, spacing: tuple) -> np.ndarray:
    """Geodesic distance from ``seed`` on a 2D image (8-neighbour Dijkstra)."""
    rows, cols = image.shape
    index = np.arange(rows * cols).reshape(rows, cols)
    heads, tails, costs = [], [], []
    for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
        r0, r1 = 0, rows - dr
        c0, c1 = max(0, -dc), cols - max(0, dc)
        a = index[r0:r1, c0:c1]
        b = index[r0 + dr:r1 + dr, c0 + dc:c1 + dc]
        d_int = image[r0 + dr:r1 + dr, c0 + dc:c1 + dc] - image[r0:r1, c0:c1]
        step = np.hypot(dr * spacing[0], dc * spacing[1])
        heads.append(a.ravel())
        tails.append(b.ravel())
        costs.append(np.sqrt(step ** 2 + (GAMMA * d_int.ravel()) ** 2))
    graph = sparse.coo_matrix((np.concatenate(costs), (np.concatenate(heads),
                                                       np.concatenate(tails))),
                              shape=(rows * cols, rows * cols)).tocsr()
    dist = dijkstra(graph, directed=False, indices=int(index[seed]))
    return dist.reshape(rows, cols)


def regions(image: np.ndarray, box, fg, valid: np.ndarray) -> np.ndarray:
    """Axial slice through ``fg``: 0 = Omega_U, 1 = Omega_B, 2 = Omega_F (schematic)."""
    (lo, hi) = box
    inside = np.zeros(image.shape, bool)
    inside[lo[1]:hi[1] + 1, lo[2]:hi[2] + 1] = lo[0] <= fg[0] <= hi[0]
    background = ~inside | ~valid
    dist = geodesic_2d(image, fg[1:], SPACING[1:])
    d_max = dist[~background].max()
    out = np.where(background, 1, 0)
    out[(dist < EPSILON * d_max) & ~background] = 2
    return out


def draw_clicks(ax, obj, view_axes, slice_axis, slice_index):
    """Background clicks on this view; hollow when they lie on another slice."""
    for click in obj.background:
        side = click.source.split()[-1]
        if side[0] == "zyx"[slice_axis]:
            continue
        on_slice = click.voxel[slice_axis] == slice_index
        r, c = click.voxel[view_axes[0]], click.voxel[view_axes[1]]
        ax.plot(c, r, "o", ms=8, mec="lime", mfc="lime" if on_slice else "none", mew=2)
        ax.annotate(side, (c, r), xytext=(5, 5), textcoords="offset points", color="lime",
                    fontsize=8)
    fg = obj.foreground.voxel
    ax.plot(fg[view_axes[1]], fg[view_axes[0]], "*", ms=14, color="red", mec="white")


def draw_box(ax, box, view_axes):
    (lo, hi) = box
    r0, c0 = lo[view_axes[0]], lo[view_axes[1]]
    r1, c1 = hi[view_axes[0]], hi[view_axes[1]]
    ax.add_patch(Rectangle((c0, r0), c1 - c0, r1 - r0, fill=False, ls="--", lw=1.5,
                           ec="yellow"))


def main() -> None:
    image, lesion, valid = synthetic_volume()
    case = simulate_clicks(lesion, SPACING, seed=SEED, margin_mm=(4.0, 10.0))
    obj = case.objects[0]
    fg, box = obj.foreground.voxel, obj.box()
    fig, axes = plt.subplots(1, 3, figsize=(15, 5.2))

    ax = axes[0]
    ax.imshow(image[fg[0]], cmap="gray")
    ax.contour(lesion[fg[0]], levels=[0.5], colors="orange", linewidths=1)
    draw_box(ax, box, (1, 2))
    draw_clicks(ax, obj, (1, 2), 0, fg[0])
    ax.set_title("axial slice: 1 foreground + 4 in-plane\nbackground clicks (hollow: other slice)")

    ax = axes[1]
    ax.imshow(image[:, fg[1]], cmap="gray", aspect=SPACING[0] / SPACING[2])
    ax.contour(lesion[:, fg[1]], levels=[0.5], colors="orange", linewidths=1)
    draw_box(ax, box, (0, 2))
    draw_clicks(ax, obj, (0, 2), 1, fg[1])
    ax.set_title("coronal slice: inferior/superior (z-/z+)\nclicks bound the object in z")

    ax = axes[2]
    labels = regions(image[fg[0]], box, fg, valid[fg[0]])
    colours = np.array([[0.0, 0.0, 0.0, 0.0], [0.2, 0.7, 0.3, 0.45], [0.9, 0.15, 0.15, 0.6]])
    ax.imshow(image[fg[0]], cmap="gray")
    ax.imshow(colours[labels])
    ax.contour(lesion[fg[0]], levels=[0.5], colors="orange", linewidths=1)
    draw_box(ax, box, (1, 2))
    ax.legend(handles=[Patch(color=colours[1], label="Ω_B: outside box ∪ (Ω − Ω_M)"),
                       Patch(color=colours[2], label="Ω_F: expanded foreground"),
                       Patch(fc="none", ec="gray", label="Ω_U: unlabelled (no tint)")],
              loc="lower left", fontsize=8, framealpha=0.9)
    ax.set_title("regions for stage-1 training (Ω_F schematic:\n2D geodesic on this slice, "
                 "ε=%.2f)" % EPSILON)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("PA-Seg seven-click protocol (orange: object outline, yellow: box of the "
                 "background clicks, red star: foreground click)", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    fig.savefig(OUT, dpi=DPI)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
