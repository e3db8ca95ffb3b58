"""Benchmark of the PA-Seg losses (prints figures; not a test).

1. Multi-view CRF loss, forward + backward, at full patch resolution: our windowed
   O(voxels)-memory implementation against the original code's approach (``F.unfold``
   of the (2r+1)^2 window in each view, kernel-weighted sum through autograd). Each
   variant runs in its own subprocess; peak memory is ``ru_maxrss`` after the steps
   minus ``ru_maxrss`` once the inputs exist (CPU), or ``torch.cuda.max_memory_allocated``
   minus the memory allocated for the inputs (GPU).
2. One stage-1 training iteration (PyMIC UNet2D5 forward + backward) with
   ``L_psup + alpha L_mcrf + beta L_vm`` against ``L_psup`` only (both computed by the
   agent's ``Stage1Objective``), alternating the two in one process; the medians after
   warm-up are compared.

Figures on a shared CPU depend on its load (printed). With more runnable threads than
cores, OpenMP's default spin-waiting makes every parallel op wait for descheduled
threads; the CRF loss runs ~2000 element-wise ops per call and suffers most. Compare
with ``OMP_WAIT_POLICY=PASSIVE`` or ``--threads 1`` there.

Usage::

    python benchmarks/losses.py                         # both parts, default sizes
    python benchmarks/losses.py --part crf --shape 1 2 64 64 48 --repeats 5
    python benchmarks/losses.py --part stage1 --stage1-shape 1 1 48 128 128
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from typing import Callable, Dict, List

import torch
import torch.nn.functional as F

from pymic_paseg.losses import multiview_crf_loss
from pymic_paseg.losses._window_energy import VIEW_AXES
from pymic_paseg.objectives.stage1 import Stage1Objective, Stage1Settings


# --------------------------------------------------------------------- baseline
def unfold_crf_loss(probs: torch.Tensor, image: torch.Tensor, radius: int,
                    spatial_sigma: float, intensity_sigma: float) -> torch.Tensor:
    """The original code's approach, per view: unfold features and probabilities.

    Like HiLab-git/PA-Seg ``ModelLossSemsegGatedCRF3D22D`` (which does this on a
    64 x 64 x 48 downsampled volume), except that the row sum uses in-image
    neighbours only (``sum_c B_c`` for softmax input), so that its value equals ours.
    """
    n, c, d, h, w = probs.shape
    k = 2 * radius + 1
    total = 0.0
    for a, b in VIEW_AXES.values():
        normal = 3 - a - b
        perm = [0, 2 + normal, 1, 2 + a, 2 + b]
        p = probs.permute(perm).reshape(-1, c, probs.shape[2 + a], probs.shape[2 + b])
        x = image.permute(perm).reshape(-1, image.shape[1], p.shape[2], p.shape[3])
        ga, gb = torch.meshgrid(torch.arange(p.shape[2], dtype=p.dtype),
                                torch.arange(p.shape[3], dtype=p.dtype), indexing="ij")
        mesh = torch.stack([ga, gb]).to(p.device).expand(p.shape[0], 2, -1, -1)
        feats = torch.cat([mesh / spatial_sigma, x / intensity_sigma], dim=1)
        unf = F.unfold(feats, k, padding=radius).view(p.shape[0], feats.shape[1], k * k, -1)
        centre = (k * k) // 2
        kern = (-0.5 * (unf - unf[:, :, centre:centre + 1]) ** 2).sum(1, keepdim=True).exp()
        kern = kern * (torch.arange(k * k, device=p.device) != centre).view(1, 1, -1, 1)
        p_unf = F.unfold(p, k, padding=radius).view(p.shape[0], c, k * k, -1)
        filt = (kern * p_unf).sum(2)                                   # B = K p
        flat = p.reshape(p.shape[0], c, -1)
        total = total + (flat * (filt.sum(1, keepdim=True) - filt)).sum() / (n * d * h * w)
    return total / 3.0


# ----------------------------------------------------------------- measurement
def crf_worker(args: argparse.Namespace) -> None:
    """Runs in a subprocess: time and peak memory of one variant; prints one JSON line."""
    torch.manual_seed(0)
    device = torch.device(args.device)
    logits = torch.randn(args.shape, device=device, requires_grad=True)
    image = torch.randn((args.shape[0], 1) + tuple(args.shape[2:]), device=device)

    def step() -> float:
        probs = torch.softmax(logits, 1)
        if args.worker == "ours":
            loss = multiview_crf_loss(probs, image, radius=args.radius,
                                      spatial_sigma=args.spatial_sigma,
                                      intensity_sigma=args.intensity_sigma,
                                      cpu_threads=args.crf_cpu_threads)
        else:
            loss = unfold_crf_loss(probs, image, args.radius, args.spatial_sigma,
                                   args.intensity_sigma)
        loss.backward()
        logits.grad = None
        return loss.item()

    base = _memory(device, reset=True)
    warm = args.warmup if args.worker == "ours" else args.baseline_warmup
    runs = args.repeats if args.worker == "ours" else args.baseline_repeats
    for _ in range(warm):
        step()
    times, value = [], float("nan")
    for _ in range(runs):
        start = time.perf_counter()
        value = step()
        _sync(device)
        times.append(time.perf_counter() - start)
    peak = _memory(device) - base
    print(json.dumps({"variant": args.worker, "median_s": statistics.median(times),
                      "times_s": times, "peak_mib": peak / 2 ** 20, "loss": value}))


def _memory(device: torch.device, reset: bool = False) -> float:
    if device.type == "cuda":
        if reset:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            return float(torch.cuda.memory_allocated())
        return float(torch.cuda.max_memory_allocated())
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss       # KiB on Linux
    return float(rss) * 1024.0


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def run_crf(args: argparse.Namespace) -> None:
    print(f"\n== Multi-view CRF loss, forward + backward, N x C x D x H x W = "
          f"{'x'.join(map(str, args.shape))}, r = {args.radius}, 3 views ==")
    results: Dict[str, dict] = {}
    variants = ["ours"] + ([] if args.skip_baseline else ["unfold"])
    for variant in variants:
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", variant,
               *_forward_args(args)]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            print(f"{variant}: failed (exit {out.returncode}): {out.stderr.strip()[-500:]}")
            continue
        results[variant] = json.loads(out.stdout.strip().splitlines()[-1])
    for name, res in results.items():
        label = "ours (windowed, O(voxels))" if name == "ours" else "unfold (original approach)"
        print(f"{label:30s} median {res['median_s']:8.3f} s/step over {len(res['times_s'])}"
              f" step(s)  peak +{res['peak_mib']:9.1f} MiB  loss {res['loss']:.6f}")
    if len(results) == 2:
        ours, base = results["ours"], results["unfold"]
        print(f"speed-up {base['median_s'] / ours['median_s']:.1f}x, memory "
              f"{base['peak_mib'] / max(ours['peak_mib'], 1e-9):.1f}x less, loss rel. diff "
              f"{abs(ours['loss'] - base['loss']) / abs(base['loss']):.2e}")


def _forward_args(args: argparse.Namespace) -> List[str]:
    return ["--shape", *map(str, args.shape), "--radius", str(args.radius),
            "--repeats", str(args.repeats), "--warmup", str(args.warmup),
            "--baseline-repeats", str(args.baseline_repeats),
            "--baseline-warmup", str(args.baseline_warmup), "--device", args.device,
            "--spatial-sigma", str(args.spatial_sigma),
            "--intensity-sigma", str(args.intensity_sigma), "--threads", str(args.threads),
            "--crf-cpu-threads", str(args.crf_cpu_threads)]


# ---------------------------------------------------------------------- stage 1
def run_stage1(args: argparse.Namespace) -> None:
    from pymic.net.net3d.unet2d5 import UNet2D5

    shape = tuple(args.stage1_shape)
    print(f"\n== Stage-1 iteration, UNet2D5 forward + backward, input "
          f"{'x'.join(map(str, shape))}, alpha = {args.alpha}, beta = {args.beta}, "
          f"CRF cpu_threads = {args.crf_cpu_threads} ==")
    device = torch.device(args.device)
    torch.manual_seed(0)
    with contextlib.redirect_stdout(io.StringIO()):          # UNet2D5 prints its params
        net = UNet2D5({"in_chns": shape[1], "class_num": 2,
                       "feature_chns": [16, 32, 64, 128, 256],
                       "dropout": [0.0, 0.0, 0.2, 0.3, 0.4], "conv_dims": [2, 2, 3, 3, 3]})
    net.to(device).train()
    image = torch.randn(shape, device=device)
    label = torch.full((shape[0],) + shape[2:], 2, device=device)     # 2 = unlabeled
    d, h, w = shape[2:]
    label[:, :, :h // 8] = 0                                          # background band
    label[:, d // 3: 2 * d // 3, 3 * h // 8: 5 * h // 8, 3 * w // 8: 5 * w // 8] = 1
    target = F.one_hot(label, 3)[..., :2].movedim(-1, 1).float()
    weight = (label < 2).float().unsqueeze(1)

    batch = {"image": image, "label_prob": target, "pixel_weight": weight}
    training = {"MultiViewCRFLoss_radius": args.radius,
                "MultiViewCRFLoss_spatial_sigma": args.spatial_sigma,
                "MultiViewCRFLoss_intensity_sigma": args.intensity_sigma,
                "MultiViewCRFLoss_cpu_threads": args.crf_cpu_threads}
    # the agent's objective after the ramp (r = 1): L_psup alone, and eq. 11
    objectives = {"psup": Stage1Objective(Stage1Settings(alpha=0.0, beta=0.0), training),
                  "all": Stage1Objective(Stage1Settings(alpha=args.alpha, beta=args.beta),
                                         training)}

    def psup(logits):
        return objectives["psup"](batch, logits, iteration=0)["loss"]

    def full(logits):
        return objectives["all"](batch, logits, iteration=0)["loss"]

    def step(loss_fn: Callable) -> float:
        start = time.perf_counter()
        net.zero_grad(set_to_none=True)
        loss_fn(net(image)).backward()
        _sync(device)
        return time.perf_counter() - start

    times = {"psup": [], "all": []}
    for i in range(args.warmup + args.stage1_repeats):
        for name, fn in (("psup", psup), ("all", full)) if i % 2 == 0 else \
                (("all", full), ("psup", psup)):
            t = step(fn)
            if i >= args.warmup:
                times[name].append(t)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"L_psup only             median {med['psup']:7.3f} s  (steps: "
          f"{', '.join(f'{t:.2f}' for t in times['psup'])})")
    print(f"L_psup + mCRF + VM      median {med['all']:7.3f} s  (steps: "
          f"{', '.join(f'{t:.2f}' for t in times['all'])})")
    best = {k: min(v) for k, v in times.items()}
    print(f"ratio of medians {med['all'] / med['psup']:.3f}x (target <= 1.25x); ratio of "
          f"fastest steps {best['all'] / best['psup']:.3f}x (less sensitive to other load)")


# ------------------------------------------------------------------------ main
def machine() -> str:
    cpu = platform.processor() or "?"
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")),
                       cpu)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return (f"CPU {cpu}, {os.cpu_count()} cores, torch {torch.__version__} "
            f"({torch.get_num_threads()} threads), GPU {gpu}, Python "
            f"{platform.python_version()}, load average {load}, OMP_WAIT_POLICY="
            f"{os.environ.get('OMP_WAIT_POLICY', 'unset')}")


def parse(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", choices=("crf", "stage1", "all"), default="all")
    ap.add_argument("--shape", type=int, nargs=5, default=[1, 2, 48, 128, 128],
                    metavar=("N", "C", "D", "H", "W"), help="CRF benchmark probabilities")
    ap.add_argument("--stage1-shape", type=int, nargs=5, default=[1, 1, 48, 128, 128],
                    metavar=("N", "Cin", "D", "H", "W"), help="stage-1 network input")
    ap.add_argument("--radius", type=int, default=5)
    ap.add_argument("--spatial-sigma", type=float, default=6.0)
    ap.add_argument("--intensity-sigma", type=float, default=0.1)
    ap.add_argument("--repeats", type=int, default=5, help="timed CRF steps (ours)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    ap.add_argument("--baseline-repeats", type=int, default=1)
    ap.add_argument("--baseline-warmup", type=int, default=0)
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument("--stage1-repeats", type=int, default=5)
    ap.add_argument("--alpha", type=float, default=1.0, help="weight of L_mcrf (paper: 1)")
    ap.add_argument("--beta", type=float, default=0.1, help="weight of L_vm (paper: 0.1)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    ap.add_argument("--crf-cpu-threads", type=int, default=0,
                    help="cpu_threads of multiview_crf_loss (0: torch's setting)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--worker", choices=("ours", "unfold"), help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def main(argv=None) -> None:
    args = parse(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    if args.worker:
        crf_worker(args)
        return
    print(machine())
    if args.part in ("crf", "all"):
        run_crf(args)
    if args.part in ("stage1", "all"):
        run_stage1(args)


if __name__ == "__main__":
    main()
