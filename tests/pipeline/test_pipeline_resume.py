"""`pymic_run pipeline` stopped mid-training by a real SIGINT, then rerun: the training goes
on to its config's iter_max (the demo bug: any checkpoint counted as finished), its curves
stay in one CSV, and the report scores the final model."""
import csv
import io
import os
import signal

import pytest

from pipeline_helpers import tiny_project
from pymic_paseg.agents.tracking import listen_progress
from pymic_paseg.errors import Interrupted
from pymic_paseg.pipeline import Pipeline
from pymic_paseg.pipeline.plan import plan_trainings
from pymic_paseg.project import load_project

ITER_MAX, ITER_VALID = 12, 3


def _interrupt_at(iteration):
    def listener(done, total):
        if done >= iteration and not listener.sent:
            listener.sent = True
            os.kill(os.getpid(), signal.SIGINT)  # the package's StopSignals catches it
    listener.sent = False
    return listener


@pytest.mark.slow  # two tiny trainings and one inference in this process: ~30 s on 2 cores
def test_interrupted_pipeline_resumes_to_iter_max_and_reports(tmp_path):
    project = tiny_project(tmp_path / "project", ITER_MAX, ITER_VALID)
    console = io.StringIO()
    with listen_progress(_interrupt_at(4)), pytest.raises(Interrupted) as stop:
        Pipeline(project, console=console).run()
    assert stop.value.exit_code == 130
    (plan,) = plan_trainings(load_project(project.root))
    assert plan.latest is not None and ITER_VALID <= plan.latest < ITER_MAX
    assert not plan.finished, "a checkpoint before iter_max is not a finished training"
    stopped = plan.latest

    console = io.StringIO()
    report = Pipeline(load_project(project.root), console=console).run()
    out = console.getvalue()
    assert f"resuming at iteration {stopped} of {ITER_MAX}" in out
    assert "already trained" not in out
    (plan,) = plan_trainings(load_project(project.root))
    assert plan.latest == ITER_MAX and plan.finished
    curves = list(plan.ckpt_dir.glob(f"{plan.prefix}_training_curves*.csv"))
    assert len(curves) == 1, curves
    with open(curves[0], newline="") as handle:
        iterations = [int(float(r["iteration"])) for r in csv.DictReader(handle)]
    assert iterations == list(range(ITER_VALID, ITER_MAX + 1, ITER_VALID))
    assert f"resuming from iteration {stopped}" in \
        (project.root / "logs" / "train_net.log").read_text()
    with open(report / "per_case.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["case"] for r in rows] == ["case3_img", "case4_img"]
    assert all(0.0 <= float(r["dice"]) <= 1.0 for r in rows)
    for name in ("summary.md", "training_curves.png", "boxplot_dice.png"):
        assert (report / name).stat().st_size > 100, name
    assert len(list(report.glob("overlay_*.png"))) == 2

    console = io.StringIO()
    Pipeline(load_project(project.root), console=console).run()
    assert "already trained" in console.getvalue() and "done before: net" in console.getvalue()
