"""``pymic_run demo``: the whole PA-Seg pipeline on the built-in demo dataset, one process.

1. build the demo dataset (``demo-data``) and simulate seven-click annotations for the
   training cases (``clicks``), as ``pymic_run`` commands run in this process;
2. write ``OUT/project.json`` (``created_by: "demo"``) with the package's demo configs
   copied to ``OUT/configs`` (``--iterations`` is written into those copies);
3. run the project with :class:`pymic_paseg.pipeline.Pipeline`: seed expansion, stage 1
   (primary UNet2D5 and auxiliary attention U-Net), SCM, with ``--with-full`` the fully
   supervised reference, inference on the held-out test cases, PyMIC's Dice and ASSD and
   the report in ``OUT/report``.

Every step logs to ``OUT/logs/<step>.log``. A rerun skips what is done and resumes an
interrupted training up to its config's ``iter_max``; ``pymic_run pipeline OUT`` does
the same for steps 3 on.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Dict, Optional, Sequence

from pymic_paseg.config_iterations import set_iterations
from pymic_paseg.ini_edit import IniEditor
from pymic_paseg.io_atomic import atomic_write_text
from pymic_paseg.pipeline.runner import Pipeline, PipelineOptions
from pymic_paseg.pipeline.steps import PipelineStepError, StepRunner
from pymic_paseg.project import Project, Training, save_project

CONFIG_NAMES = ("demo_fullsup", "demo_stage1", "demo_stage1_aux", "demo_scm")
DATA = "demo_data"

#: ``pymic_run demo``'s name for a failed step (the pipeline's error).
DemoStepError = PipelineStepError


#: the models the demo trains, as the project's trainings (configs copied to ``configs/``).
TRAININGS = {
    "fullsup": Training("fullsup", "full supervision (UNet2D5, dense labels)",
                        "configs/demo_fullsup.cfg"),
    "stage1": Training("stage1", "PA-Seg stage 1 (UNet2D5, 7 clicks)", "configs/demo_stage1.cfg"),
    "stage1_aux": Training("stage1_aux", "PA-Seg stage 1, auxiliary (attention U-Net)",
                           "configs/demo_stage1_aux.cfg", evaluate=False),
    "scm": Training("scm", "PA-Seg stage 2, SCM anchored recipe (primary UNet2D5)",
                    "configs/demo_scm.cfg"),
}

EXPAND_ARGS = ["demo_data", "--csv", "demo_data/train.csv", "--clicks", "demo_data/clicks",
               "--out", "demo_data/partial", "--out-csv", "demo_data/train_partial.csv",
               "--metrics", "demo_data/expansion_metrics.csv"]


@dataclass
class DemoOptions:
    out: Path
    cases: int = 40
    seed: int = 0
    with_full: bool = False
    iterations: Optional[int] = None   # written as iter_max into every copied config
    device: Optional[str] = None
    preset: str = "demo"
    timings: Dict[str, float] = field(default_factory=dict)


def preset_classes(preset: str) -> int:
    """The number of lesion classes of a demo dataset preset."""
    from pymic_paseg.data.presets import PRESETS
    return int(PRESETS.get(preset, {}).get("n_classes", 1))


def dataset_classes(data: Path, n_classes: int = 1) -> Dict[int, str]:
    """The foreground classes of a demo dataset (its manifest's ``labels``; else numbered)."""
    manifest = data / "dataset.json"
    labels = json.loads(manifest.read_text(encoding="utf-8")).get("labels") \
        if manifest.is_file() else None
    if not labels:
        return {1: "lesion"} if n_classes == 1 else {k: f"class_{k}"
                                                     for k in range(1, n_classes + 1)}
    return {int(k): v for k, v in labels.items() if int(k) != 0}


def copy_configs(out: Path, n_classes: int = 1, iterations: Optional[int] = None) -> Path:
    """The demo configs into ``OUT/configs``: with several classes, their class-count keys
    set by :func:`pymic_paseg.config_classes.with_class_count` (class_num = K + 1);
    ``iterations``: their new ``iter_max``."""
    from pymic_paseg.config_classes import with_class_count
    target = out / "configs"
    target.mkdir(parents=True, exist_ok=True)
    source = resources.files("pymic_paseg.demo") / "configs"
    for name in CONFIG_NAMES:
        text = (source / f"{name}.cfg").read_text(encoding="utf-8")
        if n_classes != 1:
            text = with_class_count(text, n_classes, f"{name}.cfg")
        if iterations is not None:
            editor = IniEditor(text, f"{name}.cfg")
            set_iterations(editor, iterations)
            text = editor.text()
        atomic_write_text(target / f"{name}.cfg", text)
    return target


def demo_project(out: Path, with_full: bool, n_classes: int = 1) -> Project:
    keys = (["fullsup"] if with_full else []) + ["stage1", "stage1_aux", "scm"]
    trainings = [TRAININGS[k] for k in keys]
    expand = list(EXPAND_ARGS) + ["--class-num", str(n_classes + 1)]
    return Project(root=out, classes=dataset_classes(out / DATA, n_classes),
                   trainings=trainings, expand=expand, partial_csv=f"{DATA}/train_partial.csv",
                   test_csv=f"{DATA}/test.csv", eval_pairs_csv=f"{DATA}/test_eval_pairs.csv",
                   ground_truth_folder=DATA, created_by="demo",
                   notes="written by `pymic_run demo`; rerun `pymic_run pipeline` on this "
                         "folder to continue it")


class DemoPipeline:
    """Builds the demo data, then runs the demo project's pipeline, in ``options.out``."""

    def __init__(self, options: DemoOptions, console=None):
        self.opt = options
        self.out = Path(options.out).resolve()
        self.out.mkdir(parents=True, exist_ok=True)
        self.runner = StepRunner(self.out, console)
        self.opt.timings = self.runner.timings
        self.n_classes = preset_classes(options.preset)
        copy_configs(self.out, self.n_classes, options.iterations)
        #: built by :meth:`build_data`, once the dataset's manifest names the classes
        self.project: Optional[Project] = None

    def run_cli(self, step: str, args: Sequence[str]) -> None:
        """``pymic_run ARGS`` in this process, in ``OUT``, logged to ``logs/STEP.log``."""
        self.runner.command(step, args)

    def build_data(self) -> None:
        """The dataset and the simulated clicks (skipped when present)."""
        data = self.out / DATA
        self.runner.say(f"[demo 1/2] demo dataset ({self.opt.cases} cases) in {data}")
        if not (data / "dataset.json").is_file():
            self.run_cli("data", ["demo-data", DATA, "--cases", str(self.opt.cases),
                                  "--seed", str(self.opt.seed), "--preset", self.opt.preset,
                                  "--quiet"])
        self.runner.say("[demo 2/2] simulating seven-click annotations for the training cases")
        if not (data / "clicks" / "clicks.csv").is_file():
            self.run_cli("clicks", ["clicks", DATA, "--csv", f"{DATA}/train.csv",
                                    "--out", f"{DATA}/clicks", "--seed", str(self.opt.seed)])
        self.project = demo_project(self.out, self.opt.with_full, self.n_classes)

    def prepare_data(self) -> None:
        """Dataset, clicks and expanded partial labels (what ``reproduce`` needs first)."""
        self.build_data()
        Pipeline(self.project, runner=self.runner).expand()

    def run(self) -> Path:
        self.build_data()
        save_project(self.project)
        pipeline = Pipeline(self.project, PipelineOptions(device=self.opt.device),
                            runner=self.runner)
        return pipeline.run()
