"""``pymic_run pipeline PROJECT``: a project's steps in order, in one process, resumable.

Steps (each skipped when already done, so a rerun continues where a run stopped):

1. ``expand``: the seed expansion, when ``project.expand`` is set and ``partial_csv`` is
   missing (stage 1 only);
2. ``train_<key>``: each training of the selected stages in ``project.trainings`` order,
   with ``--resume``; done when its latest checkpoint reached ``iter_max``
   (:mod:`pymic_paseg.pipeline.plan`);
3. ``test_<key>``: inference on ``project.test_csv`` for each training with
   ``evaluate``; done when ``logs/test_<key>.done`` names the checkpoint iteration in use;
4. the report (:mod:`pymic_paseg.pipeline.report`): PyMIC's Dice and ASSD per class on
   ``eval_pairs_csv``, curves, overlays and a box plot in ``PROJECT/report``.

Each step's output is in ``PROJECT/logs/<step>.log`` (:mod:`pymic_paseg.pipeline.steps`).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, TextIO, Tuple

from pymic_paseg.io_atomic import atomic_write_text
from pymic_paseg.pipeline.plan import STAGES, TrainingPlan, plan_trainings, read_config
from pymic_paseg.pipeline.progress import format_seconds
from pymic_paseg.pipeline.steps import StepRunner
from pymic_paseg.project import Project

__all__ = ["PipelineOptions", "Pipeline", "parse_stages"]


def parse_stages(text: str) -> Tuple[int, ...]:
    """``"1,2"`` -> ``(1, 2)``; raises ValueError naming the valid stages."""
    try:
        stages = tuple(sorted({int(t) for t in text.split(",") if t.strip()}))
    except ValueError:
        stages = ()
    if not stages or any(s not in STAGES for s in stages):
        raise ValueError(f"--stages {text!r}: a comma-separated subset of "
                         f"{','.join(map(str, STAGES))}")
    return stages


@dataclass
class PipelineOptions:
    device: Optional[str] = None
    stages: Tuple[int, ...] = STAGES
    report: bool = True


class Pipeline:
    def __init__(self, project: Project, options: Optional[PipelineOptions] = None,
                 runner: Optional[StepRunner] = None, console: Optional[TextIO] = None):
        self.project = project
        self.opt = options or PipelineOptions()
        self.runner = runner or StepRunner(project.root, console)
        self.root = project.root

    # ------------------------------------------------------------ steps
    def _device(self) -> List[str]:
        return ["--device", self.opt.device] if self.opt.device else []

    def expand(self) -> None:
        project = self.project
        if not project.expand:
            self.runner.say("      partial labels given: no expansion")
            return
        if project.partial_csv and project.path(project.partial_csv).is_file():
            self.runner.say(f"      done before: {project.partial_csv}")
            return
        self.runner.command("expand", ["expand", *project.expand])

    def train(self, plan: TrainingPlan) -> None:
        if plan.finished:
            self.runner.say(f"      already trained: {plan.ckpt_dir.relative_to(self.root)} "
                            f"(iteration {plan.latest} of {plan.iter_max})")
            return
        if plan.latest is not None:
            self.runner.say(f"      resuming at iteration {plan.latest} of {plan.iter_max}")
        self.runner.command(plan.log_step, ["train", plan.training.config, "--resume",
                                            *self._device()])
        done = plan_trainings(self.project, (plan.stage,))
        latest = next(p.latest for p in done if p.training.key == plan.training.key)
        atomic_write_text(plan.done_marker, f"{latest}\n")

    def _tested(self, plan: TrainingPlan) -> bool:
        marker = plan.test_marker
        if not marker.is_file() or marker.read_text().strip() != str(plan.latest):
            return False
        if self.project.eval_pairs_csv and plan.prediction_dir is not None:
            from pymic_paseg.pipeline.evaluation import read_pairs
            pairs = read_pairs(self.project.path(self.project.eval_pairs_csv))
            return all((plan.prediction_dir / p["segmentation"]).is_file() for p in pairs)
        return True

    def test(self, plan: TrainingPlan) -> None:
        if self._tested(plan):
            self.runner.say(f"      done before: {plan.training.key}")
            return
        args = ["test", plan.training.config, *self._device()]
        if self.project.test_csv:
            args += ["--test_csv", self.project.test_csv]
        self.runner.command(f"test_{plan.training.key}", args)
        atomic_write_text(plan.test_marker, f"{plan.latest}\n")

    # ------------------------------------------------------------ whole run
    def _say(self, index: int, total: int, text: str) -> None:
        self.runner.say(f"[{index}/{total}] {text}")

    def run(self) -> Optional[Path]:
        """Every step not yet done; returns the report folder (None with ``report=False``)."""
        plans = plan_trainings(self.project, self.opt.stages)
        evaluated = [p for p in plans if p.training.evaluate and p.prediction_dir is not None]
        total = (1 in self.opt.stages) + len(plans) + bool(evaluated and self.project.test_csv) \
            + self.opt.report
        index = 0
        if 1 in self.opt.stages:
            index += 1
            self._say(index, total, "seed expansion -> partial labels")
            self.expand()
        for plan in plans:
            index += 1
            self._say(index, total, f"training (stage {plan.stage}): {plan.training.title}")
            self.train(plan)
        plans = plan_trainings(self.project, self.opt.stages)  # with their new checkpoints
        if evaluated and self.project.test_csv:
            index += 1
            self._say(index, total, "inference on the test cases")
            for plan in plans:
                if plan.training.evaluate and plan.prediction_dir is not None:
                    self.test(plan)
        if not self.opt.report:
            return None
        self._say(index + 1, total, "evaluation (PyMIC's Dice and ASSD) and report")
        return self.report()

    def report(self) -> Path:
        from pymic_paseg.pipeline.report import write_report
        with self.runner.timed("report"):
            items, inputs = project_report_inputs(self.project)
            timings = {k: v for k, v in self.runner.timings.items() if k != "report"}
            path = write_report(self.root, items, inputs, timings,
                                title=f"PA-Seg run: {self.root.name}",
                                console=self.runner.console)
        total = sum(self.runner.timings.values())
        self.runner.say(f"steps of this run: {format_seconds(total)}; report: {path}")
        return path


def _test_images(project: Project, plans: Sequence[TrainingPlan]) -> Dict[str, Path]:
    """Case name -> image of ``test_csv``, paths under the first config's ``root_dir``."""
    from pymic_paseg.pipeline.evaluation import case_name
    if not project.test_csv or not plans or not project.path(project.test_csv).is_file():
        return {}
    config = read_config(plans[0].config)
    root = project.path(config.get("dataset", "root_dir", fallback=".").strip() or ".")
    with open(project.path(project.test_csv), newline="", encoding="utf-8") as handle:
        return {case_name(r["image"]): root / r["image"] for r in csv.DictReader(handle)
                if r.get("image")}


def project_report_inputs(project: Project):
    """The report's items (every training; scored when tested) and its test-case inputs."""
    from pymic_paseg.pipeline.report import ReportInputs, ReportItem
    plans = plan_trainings(project)
    items = []
    for plan in plans:
        scored = plan.training.evaluate and plan.prediction_dir is not None \
            and plan.test_marker.is_file()
        items.append(ReportItem(plan.training.key, plan.training.title, plan.ckpt_dir,
                                plan.prefix, plan.prediction_dir if scored else None))
    pairs = project.path(project.eval_pairs_csv) if project.eval_pairs_csv else None
    inputs = ReportInputs(pairs_csv=pairs,
                          ground_truth_folder=project.path(project.ground_truth_folder),
                          classes=project.classes, images=_test_images(project, plans))
    return items, inputs
