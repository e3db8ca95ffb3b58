"""The benchmark scripts still run (tiny sizes, one repeat): they reach into agents and
losses, so a refactor can break them silently. Their figures are not checked here."""
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"

CASES = {
    "ddp_overhead.py": (["--shape", "8", "16", "16", "--repeats", "1", "--warmup", "0",
                         "--device", "cpu"],
                        ["plain loop step", "DDP 1 rank step", "DDP overhead"]),
    "expansion.py": (["--variants", "1", "--lesions", "1", "--kinds", "caudate"],
                     ["Omega_F / Omega_B precision", "paper     caudate", "adaptive  lesion"]),
    "expansion_frontier.py": (["--variants", "1", "--lesions", "1", "--kinds", "caudate",
                               "--per-object"],
                              ["Oracle thresholds", "caudate_left_0", "lesion (mean)"]),
    "geodesic.py": (["--shape", "8", "16", "16", "--accuracy-shape", "6", "8", "8",
                     "--repeats", "1", "--threads", "1"],
                    ["speed and memory", "accuracy vs Dijkstra", "mean rel. dev."]),
    "losses.py": (["--shape", "1", "2", "8", "16", "16", "--stage1-shape", "1", "1", "16", "32",
                   "32", "--repeats", "1", "--stage1-repeats", "1", "--radius", "2",
                   "--device", "cpu"],
                  ["speed-up", "loss rel. diff", "ratio of medians"]),
    "scm.py": (["--shape", "16", "32", "32", "--repeats", "1", "--warmup", "0",
                "--device", "cpu"],
               ["stage-1 iteration", "SCM iteration", "ratio SCM / stage 1"]),
}


@pytest.mark.slow  # each benchmark script in a subprocess
@pytest.mark.parametrize("script", sorted(CASES))
def test_benchmark_script_runs_and_prints_its_figures(script):
    args, expected = CASES[script]
    result = subprocess.run([sys.executable, str(BENCHMARKS / script), *args],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    for text in expected:
        assert text in result.stdout, (text, result.stdout[-2000:])
