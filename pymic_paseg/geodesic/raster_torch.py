"""Pure-PyTorch raster-scan geodesic distance (the default ``"torch"`` backend).

The algorithm is the parallel raster scan of Criminisi et al. ("Interactive
geodesic segmentation of n-dimensional medical images on the graphics
processor", 2009), the one FastGeodis implements in C++/CUDA. One *iteration*
sweeps the volume six times: along z forward and backward, then along y, then
along x. A sweep visits the planes orthogonal to its axis one after the other.
Each plane update is vectorised over the plane::

    D[i](y, x) = min(D[i](y, x),  min_{dy, dx in {-1,0,1}} D[i -/+ 1](y + dy, x + dx) + c)

where ``c`` is the local edge cost of :mod:`pymic_paseg.geodesic.costs`. Over the
three axes this relaxes every edge of the 26-neighbourhood, so with enough
iterations the result is the exact shortest-path distance on that graph.

Implementation notes (for speed on CPU, where each torch call costs a few
microseconds and 48x128x128 needs about 2,400 plane updates for 4 iterations):

* All edge costs are computed once, vectorised over the volume, and stored per
  sweep axis as ``(L, 9, A, B)`` (the 9 neighbours in the previous plane). That is
  27 floats per voxel in all.
* Distances live in one padded buffer per axis layout (``+inf`` border), so the
  3x3 neighbours of a plane are a zero-copy ``as_strided`` view. The layout is
  transposed between axes so that every plane is contiguous.
* A forward plane update "pulls" the 9 neighbours; a backward one "pushes" the
  next plane through the stored costs into a padded scratch buffer (written
  through a strided view, each neighbour shifted by its offset) and takes the
  minimum over its interior, so both directions share one cost array.
  Each plane update is three torch calls writing into preallocated buffers.

Runs on whatever device the input tensors are on (CPU or CUDA). Memory: about
31 floats per voxel (27 for the costs, 3 distance layouts, scratch), i.e. ~95 MiB
for 48x128x128 and ~1.1 GiB for a whole 155x240x240 BraTS volume; seed expansion
only works on the objects' boxes.
"""
from __future__ import annotations

from typing import List, Sequence, Tuple

import torch

from pymic_paseg.geodesic.costs import edge_cost, spatial_length

__all__ = ["raster_scan_torch"]

#: Array-axis order of the distance layout used while sweeping along z, y and x.
_LAYOUTS: Tuple[Tuple[int, int, int], ...] = ((0, 1, 2), (1, 0, 2), (2, 0, 1))
#: Permutation from the layout of sweep ``k`` to the layout of sweep ``k + 1`` (cyclic).
_NEXT_LAYOUT: Tuple[Tuple[int, int, int], ...] = ((1, 0, 2), (2, 1, 0), (1, 2, 0))
_KERNEL = 3  # a 3x3 neighbourhood in the previous plane
_NEIGHBOURS = _KERNEL * _KERNEL


def _neighbour_slices(step: int, size: int) -> Tuple[slice, slice]:
    """Slices of the voxels whose neighbour at ``+step`` is inside, and of those neighbours."""
    own = slice(max(0, -step), size - max(0, step))
    other = slice(max(0, step), size + min(0, step))
    return own, other


def _plane_costs(image: torch.Tensor, layout: Sequence[int], spacing: Sequence[float],
                 lamb: float, cost: str) -> torch.Tensor:
    """Edge costs for a sweep along the first axis of ``layout``.

    Returns ``c`` of shape ``(L, 9, A, B)`` where ``c[i, 3 * (dy + 1) + (dx + 1), y, x]`` is
    the cost of the edge between voxel ``(i, y, x)`` and voxel ``(i - 1, y + dy, x + dx)``
    of the permuted volume; ``+inf`` where that neighbour is outside (and for ``i = 0``).
    """
    permuted = image.permute(0, *(axis + 1 for axis in layout)).contiguous()
    length, size_a, size_b = permuted.shape[1:]
    steps = [spacing[axis] for axis in layout]
    out = torch.empty((length, _NEIGHBOURS, size_a, size_b), dtype=image.dtype,
                      device=image.device)
    out[0] = float("inf")
    for k in range(_NEIGHBOURS):
        dy, dx = k // _KERNEL - 1, k % _KERNEL - 1
        own_y, other_y = _neighbour_slices(dy, size_a)
        own_x, other_x = _neighbour_slices(dx, size_b)
        delta = permuted[:, 1:, own_y, own_x] - permuted[:, :-1, other_y, other_x]
        d = spatial_length((1, dy, dx), steps)
        edge_cost(cost, delta, d, lamb, out=out[1:, k, own_y, own_x])
        # neighbours outside the volume: the row / column the slices left out
        if dy:
            out[1:, k, -1 if dy > 0 else 0, :] = float("inf")
        if dx:
            out[1:, k, :, -1 if dx > 0 else 0] = float("inf")
    return out


class _AxisSweep:
    """Distances in one layout, with the views a forward and a backward sweep need."""

    def __init__(self, costs: torch.Tensor):
        length, _, size_a, size_b = costs.shape
        pad_a, pad_b = size_a + 2, size_b + 2
        kw = dict(dtype=costs.dtype, device=costs.device)
        self.length = length
        self.buffer = torch.full((length + 2, pad_a, pad_b), float("inf"), **kw)
        self.interior = self.buffer[1:-1, 1:-1, 1:-1]
        self.planes: List[torch.Tensor] = [self.buffer[i + 1, 1:-1, 1:-1] for i in range(length)]
        s_plane, s_row, _ = self.buffer.stride()
        # windows[i][a, b, y, x] = D[i](y + a - 1, x + b - 1)  (zero copy, border = inf)
        self.windows = [self.buffer.as_strided((_KERNEL, _KERNEL, size_a, size_b),
                                               (s_row, 1, s_row, 1), (i + 1) * s_plane)
                        for i in range(length)]
        self.costs = [costs[i].view(_KERNEL, _KERNEL, size_a, size_b) for i in range(length)]
        self.scratch = torch.empty((_KERNEL, _KERNEL, size_a, size_b), **kw)
        self.scratch_flat = self.scratch.view(_NEIGHBOURS, size_a, size_b)
        self.best = torch.empty((size_a, size_b), **kw)
        # Backward sweeps push plane i + 1 through c[i + 1] (edges towards plane i):
        # pushed[k, y + dy + 1, x + dx + 1] = D[i + 1](y, x) + c[i + 1, k, y, x], which is
        # the candidate of voxel (i, y + dy, x + dx). Cells never written stay inf.
        self.pushed = torch.full((_NEIGHBOURS, pad_a, pad_b), float("inf"), **kw)
        s_k = pad_a * pad_b
        self.push_target = self.pushed.as_strided(
            (_KERNEL, _KERNEL, size_a, size_b), (_KERNEL * s_k + pad_b, s_k + 1, pad_b, 1), 0)
        self.pushed_interior = self.pushed[:, 1:-1, 1:-1]

    def forward(self) -> None:
        """Sweep towards increasing plane index: pull from the 3x3 neighbours in plane i - 1."""
        planes, windows, costs, scratch, flat, best = (
            self.planes, self.windows, self.costs, self.scratch, self.scratch_flat, self.best)
        for i in range(1, self.length):
            torch.add(windows[i - 1], costs[i], out=scratch)
            torch.amin(flat, dim=0, out=best)
            torch.minimum(planes[i], best, out=planes[i])

    def backward(self) -> None:
        """Sweep towards decreasing plane index: push plane i + 1 into plane i."""
        planes, costs, target, pushed, best = (
            self.planes, self.costs, self.push_target, self.pushed_interior, self.best)
        for i in range(self.length - 2, -1, -1):
            torch.add(planes[i + 1], costs[i + 1], out=target)
            torch.amin(pushed, dim=0, out=best)
            torch.minimum(planes[i], best, out=planes[i])


def raster_scan_torch(image: torch.Tensor, seeds: torch.Tensor, spacing: Sequence[float],
                      lamb: float, iterations: int, cost: str) -> torch.Tensor:
    """Geodesic distance of every voxel to the nearest seed, by parallel raster scan.

    Args:
        image: ``(C, D, H, W)`` floating tensor (CPU or CUDA).
        seeds: ``(D, H, W)`` bool tensor on the same device, ``True`` at the seeds.
        spacing: voxel size along ``(D, H, W)``.
        lamb: weight of the intensity term in ``[0, 1]``.
        iterations: number of raster-scan iterations (six sweeps each).
        cost: local edge cost name, see :data:`pymic_paseg.geodesic.costs.COSTS`.

    Returns:
        ``(D, H, W)`` distances, same dtype and device as ``image``; 0 at the seeds.
    """
    sweeps = [_AxisSweep(_plane_costs(image, layout, spacing, lamb, cost))
              for layout in _LAYOUTS]
    inf = torch.tensor(float("inf"), dtype=image.dtype, device=image.device)
    sweeps[0].interior.copy_(torch.where(seeds, torch.zeros_like(inf), inf))
    for _ in range(iterations):
        for k, sweep in enumerate(sweeps):
            sweep.forward()
            sweep.backward()
            nxt = sweeps[(k + 1) % len(sweeps)]
            nxt.interior.copy_(sweep.interior.permute(*_NEXT_LAYOUT[k]))
    return sweeps[0].interior.clone()
