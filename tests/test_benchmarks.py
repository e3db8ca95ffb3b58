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


@pytest.mark.slow  # a subprocess, like the others
def test_boundary_errors_script_on_a_demo_folder(tmp_path):
    import numpy as np
    import SimpleITK as sitk
    folder = tmp_path / "demo0"
    (folder / "demo_data" / "labels").mkdir(parents=True)
    (folder / "demo_data" / "test_eval_pairs.csv").write_text(
        "ground_truth,segmentation\nlabels/case_1.nii.gz,case_1.nii.gz\n")
    truth = np.zeros((6, 8, 8), np.uint8)
    truth[2:4, 2:6, 2:6] = 1
    sitk.WriteImage(sitk.GetImageFromArray(truth), str(folder / "demo_data/labels/case_1.nii.gz"))
    prediction = folder / "runs" / "demo_stage1" / "prediction"
    prediction.mkdir(parents=True)
    seg = truth.copy()
    seg[2, 2, 2] = 0      # a false negative on the surface
    seg[0, 7, 7] = 1      # a false positive far from the object
    sitk.WriteImage(sitk.GetImageFromArray(seg), str(prediction / "case_1.nii.gz"))
    script = BENCHMARKS / "boundary_errors.py"
    result = subprocess.run([sys.executable, str(script), str(folder)], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    row = [line for line in result.stdout.splitlines() if "demo_stage1" in line]
    assert row and row[0].split()[2:] == ["1", "32", "1", "0.0", "%", "1", "100.0", "%"], \
        result.stdout
    bad = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True,
                         text=True, timeout=300)
    assert bad.returncode == 1 and "test_eval_pairs.csv" in bad.stderr
