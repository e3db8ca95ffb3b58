"""`pymic_run demo` end to end with a tiny preset, run once: the demo data, its project.json,
every pipeline step in one process, the report; a rerun would skip every training."""
import csv
import json
import subprocess
import sys

import pytest

from pymic_paseg.pipeline.plan import plan_trainings
from pymic_paseg.project import load_project


@pytest.mark.slow  # one tiny demo (6 cases, 2 iterations per training): ~2 min on 2 cores
def test_tiny_demo_runs_end_to_end_in_one_process(tmp_path):
    out = tmp_path / "demo"
    cmd = [sys.executable, "-m", "pymic_paseg.cli", "demo", "--out", str(out), "--cases", "6",
           "--iterations", "2", "--with-full", "--device", "cpu"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = out / "report"
    with open(report / "per_case.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["method"] for r in rows} == {"fullsup", "stage1", "scm"}
    assert {r["class_name"] for r in rows} == {"lesion"}
    assert all(0.0 <= float(r["dice"]) <= 1.0 for r in rows)
    summary = (report / "summary.md").read_text()
    assert summary.count("|") > 10 and "train_scm" in summary
    for name in ("training_curves.png", "boxplot_dice.png"):
        assert (report / name).stat().st_size > 1000, name
    assert list(report.glob("overlay_*.png"))
    assert "full supervision" in result.stdout and "SCM" in result.stdout

    project = json.loads((out / "project.json").read_text())
    assert project["created_by"] == "demo"
    assert [t["key"] for t in project["trainings"]] == ["fullsup", "stage1", "stage1_aux", "scm"]
    plans = plan_trainings(load_project(out))
    assert all(p.iter_max == 2 and p.latest == 2 and p.finished for p in plans)
    logs = {p.name for p in (out / "logs").glob("*.log")}
    assert {"data.log", "clicks.log", "expand.log", "train_stage1.log", "train_scm.log",
            "test_scm.log"} <= logs
    assert "iteration" in (out / "logs" / "train_stage1.log").read_text()


@pytest.mark.slow  # one tiny two-class demo: ~1 min on 2 cores
def test_tiny_two_class_demo_reports_each_class(tmp_path):
    out = tmp_path / "demo2"
    cmd = [sys.executable, "-m", "pymic_paseg.cli", "demo", "--out", str(out), "--cases", "6",
           "--iterations", "2", "--preset", "two_class", "--device", "cpu"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    project = load_project(out)
    assert len(project.classes) == 2 and project.expand[-2:] == ["--class-num", "3"]
    with open(out / "report" / "per_case.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["method"], r["class"]) for r in rows} == {(m, c) for m in ("stage1", "scm")
                                                         for c in ("1", "2")}
    summary = (out / "report" / "summary.md").read_text()
    assert all(name in summary for name in project.classes.values())
