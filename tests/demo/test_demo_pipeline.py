"""`pymic_run demo` end to end with a tiny preset: every step runs, the report is written,
and a rerun skips what is done."""
import csv
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_tiny_demo_runs_end_to_end_and_rerun_skips_steps(tmp_path):
    out = tmp_path / "demo"
    cmd = [sys.executable, "-m", "pymic_paseg.cli", "demo", "--out", str(out), "--cases", "6",
           "--iterations", "2", "--with-full", "--device", "cpu"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = out / "report"
    with open(report / "per_case.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    methods = {r["method"] for r in rows}
    assert methods == {"fullsup", "stage1", "scm"}
    assert all(0.0 <= float(r["dice"]) <= 1.0 for r in rows)
    assert (report / "summary.md").read_text().count("|") > 10
    assert (report / "training_curves.png").stat().st_size > 1000
    assert list(report.glob("overlay_*.png"))
    assert "full supervision" in result.stdout and "SCM" in result.stdout

    again = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
    assert again.returncode == 0
    assert again.stdout.count("already trained") == 4
