"""Benchmark the geodesic distance backends: speed, peak memory, accuracy.

For every available backend (and device: CPU, plus CUDA when present) it prints

* the median wall time (and process CPU time) of ``geodesic_distance`` over
  ``--repeats`` runs after one warm-up, on a ``--shape`` volume (default
  48x128x128, the PA-Seg VS patch) with ``--iterations`` raster-scan
  iterations (default 4);
* the peak memory of one call: on CPU the growth of the peak resident set size
  (VmHWM, i.e. ``ru_maxrss``, reset first) during a first call in a fresh child
  process (Linux only); on CUDA ``torch.cuda.max_memory_allocated``;
* the mean and max relative deviation from the exact Dijkstra distance on a
  smaller ``--accuracy-shape`` volume, for each local cost the backend implements.

Usage::

    python benchmarks/geodesic.py [--threads 1 2] [--repeats 5]

The machine's load average is printed with each timing: on a shared 2-core
machine, OpenMP threads competing with other processes slow torch down a lot.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import statistics
import time
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch

from pymic_paseg.geodesic import BACKENDS, available_backends, geodesic_distance
from pymic_paseg.geodesic.dijkstra import dijkstra_distance

#: VS-like anisotropic voxel size (z, y, x) in mm
SPACING = (1.5, 0.5, 0.5)
LAMBDA = 0.5
ACCURACY_LAMBDAS = (0.5, 1.0)
BLOBS = 6
NOISE = 0.05
SEED = 0
KIB = 1024
#: writing this to /proc/self/clear_refs resets the peak resident set size (Linux >= 4.0)
_RESET_PEAK_RSS = "5"


def phantom(shape: Sequence[int], seed: int = SEED) -> Tuple[np.ndarray, np.ndarray]:
    """A smooth image of Gaussian blobs plus noise, about [0, 1], and one seed at the centre.

    Built from separable float32 factors so that making it barely raises the
    process' peak memory (which the CPU memory figure is measured against).
    """
    rng = np.random.default_rng(seed)
    axes = [np.linspace(0.0, 1.0, n, dtype=np.float32) for n in shape]
    image = np.zeros(shape, np.float32)
    for _ in range(BLOBS):
        centre, width = rng.random(3), rng.uniform(0.1, 0.3)
        z, y, x = (np.exp(-(a - c) ** 2 / (2 * width ** 2)) for a, c in zip(axes, centre))
        image += z[:, None, None] * y[None, :, None] * x[None, None, :]
    image /= image.max()
    image += NOISE * rng.standard_normal(shape, dtype=np.float32)
    seeds = np.zeros(shape, bool)
    seeds[tuple(n // 2 for n in shape)] = True
    return image, seeds


def machine(device: str) -> str:
    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as handle:
            model = next(line.split(":", 1)[1].strip() for line in handle
                         if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    lines = [f"CPU: {model}, {os.cpu_count()} cores",
             f"torch {torch.__version__}, numpy {np.__version__}, device(s): {device}",
             f"load average before the run: {', '.join(f'{v:.2f}' for v in os.getloadavg())}"]
    if torch.cuda.is_available():
        lines.append(f"GPU: {torch.cuda.get_device_name(0)}")
    return "\n".join(lines)


def _inputs(shape, device):
    image, seeds = phantom(shape)
    return torch.from_numpy(image).to(device), torch.from_numpy(seeds).to(device)


def time_backend(backend: str, device: str, shape, iterations: int,
                 repeats: int) -> Tuple[float, float]:
    """Median wall and process-CPU seconds of one call, after one warm-up call.

    With one thread on a machine shared with other jobs, the CPU time is the better
    estimate of the wall time the call would take on an idle machine.
    """
    image, seeds = _inputs(shape, device)
    walls, cpus = [], []
    for run in range(repeats + 1):
        if device == "cuda":
            torch.cuda.synchronize()
        start, start_cpu = time.perf_counter(), time.process_time()
        geodesic_distance(image, seeds, SPACING, LAMBDA, iterations, backend=backend)
        if device == "cuda":
            torch.cuda.synchronize()
        if run:
            walls.append(time.perf_counter() - start)
            cpus.append(time.process_time() - start_cpu)
    return statistics.median(walls), statistics.median(cpus)


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith(field + ":"))


def _cpu_peak_child(backend, shape, iterations, threads, queue) -> None:
    """In a fresh process: peak resident memory added by one call, in bytes.

    Linux keeps a process' high-water mark (VmHWM, which ru_maxrss reports) across
    fork and exec, so it is reset first through /proc/self/clear_refs.
    """
    torch.set_num_threads(threads)
    image, seeds = _inputs(shape, "cpu")
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write(_RESET_PEAK_RSS)
    before = _status_kib("VmRSS")
    geodesic_distance(image, seeds, SPACING, LAMBDA, iterations, backend=backend)
    queue.put((_status_kib("VmHWM") - before) * KIB)


def peak_memory(backend: str, device: str, shape, iterations: int) -> int:
    """Bytes: CUDA peak allocation, or the max-RSS growth of a first call in a fresh process."""
    if device == "cuda":
        image, seeds = _inputs(shape, device)
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        geodesic_distance(image, seeds, SPACING, LAMBDA, iterations, backend=backend)
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - base
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_cpu_peak_child,
                            args=(backend, shape, iterations, torch.get_num_threads(), queue))
    child.start()
    peak = queue.get()
    child.join()
    return peak


def accuracy(backend: str, cost: str, shape, iterations: int, lamb: float) -> Tuple[float, float]:
    """Mean and max relative deviation from Dijkstra over the non-seed voxels."""
    image, seeds = phantom(shape)
    exact = dijkstra_distance(image[None], seeds, SPACING, lamb, cost)
    result = geodesic_distance(image, seeds, SPACING, lamb, iterations, backend, cost=cost)
    inside = exact > 0
    rel = np.abs(result[inside] - exact[inside]) / exact[inside]
    return float(rel.mean()), float(rel.max())


def report_speed(shape, iterations: int, repeats: int, thread_counts: Sequence[int]) -> None:
    print(f"\nspeed and memory: shape {shape}, spacing {SPACING}, lambda {LAMBDA}, "
          f"{iterations} iterations, median of {repeats} after a warm-up")
    runs = [("cpu", n) for n in thread_counts]
    if torch.cuda.is_available():
        runs.append(("cuda", torch.get_num_threads()))
    for backend in available_backends():
        for device, threads in runs:
            if device == "cuda" and backend == "geodistk":
                continue  # CPU only
            torch.set_num_threads(threads)
            wall, cpu = time_backend(backend, device, shape, iterations, repeats)
            peak = peak_memory(backend, device, shape, iterations)
            print(f"  {backend:10s} {device:4s} threads {threads}  median {wall:7.4f} s "
                  f"(CPU time {cpu:7.4f} s)  peak memory {peak / KIB ** 2:6.1f} MiB  "
                  f"(load {os.getloadavg()[0]:.2f})")


def report_accuracy(shape, iterations: int) -> None:
    print(f"\naccuracy vs Dijkstra: shape {shape}, {iterations} iterations")
    for backend in available_backends():
        for cost in BACKENDS[backend].costs:
            for lamb in ACCURACY_LAMBDAS:
                mean, worst = accuracy(backend, cost, shape, iterations, lamb)
                print(f"  {backend:10s} cost {cost:10s} lambda {lamb:3.1f}: "
                      f"mean rel. dev. {mean:.2e}, max {worst:.2e}")


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", type=int, nargs=3, default=[48, 128, 128])
    parser.add_argument("--accuracy-shape", type=int, nargs=3, default=[24, 48, 48])
    parser.add_argument("--iterations", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, os.cpu_count() or 1],
                        help="torch CPU thread counts to time (default: 1 and all cores)")
    args = parser.parse_args(argv)
    print(machine("cpu, cuda" if torch.cuda.is_available() else "cpu"))
    report_speed(tuple(args.shape), args.iterations, args.repeats, args.threads)
    report_accuracy(tuple(args.accuracy_shape), args.iterations)


if __name__ == "__main__":
    main()
