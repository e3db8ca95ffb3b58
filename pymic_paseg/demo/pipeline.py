"""``pymic_run demo``: the whole PA-Seg pipeline on the built-in demo dataset.

Steps (each one a ``pymic_run`` sub-command run in ``OUT``, logged to
``OUT/logs/<step>.log``; a finished step is skipped when the demo is rerun, and an
interrupted training resumes):

1. build the demo dataset (``demo-data``);
2. simulate seven-click annotations for the training cases (``clicks``);
3. expand the seeds (``expand``);
4. train stage 1 for the primary (UNet2D5) and the auxiliary (attention U-Net);
5. run SCM;
6. infer on the held-out test cases (and, with ``--with-full``, train and test the
   fully supervised reference);
7. evaluate with PyMIC's own Dice and ASSD and write the report
   (:mod:`pymic_paseg.demo.report`).

The configs are the package's ``demo/configs/*.cfg`` (also in ``config_examples/``);
they are copied to ``OUT/configs`` so the run can be inspected and repeated by hand.
"""
from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from pymic_paseg.agents.pointers import read_pointer

logger = logging.getLogger(__name__)

CONFIG_NAMES = ("demo_fullsup", "demo_stage1", "demo_stage1_aux", "demo_scm")


class DemoStepError(RuntimeError):
    """A pipeline step failed; the message names the step and its log file."""


@dataclass(frozen=True)
class Method:
    """A trained model the demo evaluates."""

    key: str
    title: str
    config: str
    ckpt_dir: str
    prefix: str
    prediction_dir: str


METHODS = {
    "fullsup": Method("fullsup", "full supervision (UNet2D5, dense labels)", "demo_fullsup",
                      "runs/demo_fullsup/model", "unet2d5", "runs/demo_fullsup/prediction"),
    "stage1": Method("stage1", "PA-Seg stage 1 (UNet2D5, 7 clicks)", "demo_stage1",
                     "runs/demo_stage1/model", "unet2d5", "runs/demo_stage1/prediction"),
    "stage1_aux": Method("stage1_aux", "PA-Seg stage 1, auxiliary (attention U-Net)",
                         "demo_stage1_aux", "runs/demo_stage1_aux/model", "attention_unet",
                         "runs/demo_stage1_aux/prediction"),
    "scm": Method("scm", "PA-Seg stage 2, SCM anchored recipe (primary UNet2D5)", "demo_scm",
                  "runs/demo_scm/model", "unet2d5", "runs/demo_scm/prediction"),
}


@dataclass
class DemoOptions:
    out: Path
    cases: int = 40
    seed: int = 0
    with_full: bool = False
    iterations: Optional[int] = None   # override iter_max of every training (quick runs)
    device: Optional[str] = None
    preset: str = "demo"
    timings: Dict[str, float] = field(default_factory=dict)


def preset_classes(preset: str) -> int:
    """The number of lesion classes of a demo dataset preset."""
    from pymic_paseg.data.presets import PRESETS
    return int(PRESETS.get(preset, {}).get("n_classes", 1))


def copy_configs(out: Path, n_classes: int = 1) -> Path:
    """The demo configs into ``out/configs``; with several classes, their class-count
    keys set by :func:`pymic_paseg.config_classes.with_class_count` (class_num = K + 1)."""
    from pymic_paseg.config_classes import write_with_class_count
    target = out / "configs"
    target.mkdir(parents=True, exist_ok=True)
    source = resources.files("pymic_paseg.demo") / "configs"
    for name in CONFIG_NAMES:
        with resources.as_file(source / f"{name}.cfg") as path:
            if n_classes == 1:
                shutil.copyfile(path, target / f"{name}.cfg")
            else:
                write_with_class_count(path, target / f"{name}.cfg", n_classes)
    return target


class DemoPipeline:
    """Runs the steps in order, in ``options.out``; skips what is already done."""

    def __init__(self, options: DemoOptions):
        self.opt = options
        self.out = Path(options.out).resolve()
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "logs").mkdir(exist_ok=True)
        self.n_classes = preset_classes(options.preset)
        copy_configs(self.out, self.n_classes)

    # ------------------------------------------------------------ running
    def run_cli(self, step: str, args: Sequence[str]) -> None:
        """Run ``pymic_run ARGS`` in the working folder, logging to ``logs/STEP.log``; timed."""
        log = self.out / "logs" / f"{step}.log"
        start = time.time()
        with open(log, "w", encoding="utf-8") as handle:
            code = subprocess.call([sys.executable, "-m", "pymic_paseg.cli", *args],
                                   cwd=self.out, stdout=handle, stderr=subprocess.STDOUT)
        self.opt.timings[step] = self.opt.timings.get(step, 0.0) + time.time() - start
        if code != 0:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
            raise DemoStepError(f"step {step!r} failed (exit {code}); log: {log}\n{tail}")

    def _say(self, index: int, total: int, text: str) -> None:
        print(f"[{index}/{total}] {text}", flush=True)

    def _trained(self, method: Method) -> bool:
        it = read_pointer(str(self.out / method.ckpt_dir), method.prefix, "latest")
        target = self.opt.iterations
        return it is not None and (target is None or it >= target)

    def _train(self, method: Method) -> None:
        if self._trained(method):
            print(f"      already trained: {method.ckpt_dir}")
            return
        args = ["train", f"configs/{method.config}.cfg", "--resume"]
        if self.opt.iterations is not None:
            valid = max(1, min(50, self.opt.iterations))
            args += ["--set", f"training.iter_max={self.opt.iterations}",
                     "--set", f"training.iter_valid={valid}",
                     "--set", f"training.iter_save={valid}"]
            if method.key == "scm":
                args += ["--set", f"noisy_label_learning.monitor_interval={valid}"]
        if self.opt.device:
            args += ["--device", self.opt.device]
        self.run_cli(f"train_{method.key}", args)

    def _test(self, method: Method) -> None:
        args = ["test", f"configs/{method.config}.cfg"]
        if self.opt.device:
            args += ["--device", self.opt.device]
        self.run_cli(f"test_{method.key}", args)

    def methods(self) -> List[Method]:
        keys = (["fullsup"] if self.opt.with_full else []) + ["stage1", "scm"]
        return [METHODS[k] for k in keys]

    def prepare_data(self, first: int = 1, total: int = 3) -> None:
        """Steps 1-3: the dataset, simulated clicks and expanded partial labels."""
        data = self.out / "demo_data"
        self._say(first, total, f"demo dataset ({self.opt.cases} cases) in {data}")
        if not (data / "dataset.json").is_file():
            self.run_cli("data", ["demo-data", "demo_data", "--cases", str(self.opt.cases),
                                  "--seed", str(self.opt.seed), "--preset", self.opt.preset,
                                  "--quiet"])
        self._say(first + 1, total, "simulating seven-click annotations for the training cases")
        if not (data / "clicks" / "clicks.csv").is_file():
            self.run_cli("clicks", ["clicks", "demo_data", "--csv", "demo_data/train.csv",
                                    "--out", "demo_data/clicks", "--seed", str(self.opt.seed)])
        self._say(first + 2, total, "geodesic seed expansion -> partial labels")
        if not (data / "train_partial.csv").is_file():
            self.run_cli("expand", ["expand", "demo_data", "--csv", "demo_data/train.csv",
                                    "--clicks", "demo_data/clicks", "--out", "demo_data/partial",
                                    "--out-csv", "demo_data/train_partial.csv",
                                    "--metrics", "demo_data/expansion_metrics.csv",
                                    "--class-num", str(self.n_classes + 1)])

    def run(self) -> Path:
        from pymic_paseg.demo.report import write_report
        trained = (["fullsup"] if self.opt.with_full else []) + ["stage1", "stage1_aux", "scm"]
        total = 4 + len(trained) + 1
        self.prepare_data(1, total)
        for index, key in enumerate(trained, start=4):
            self._say(index, total, f"training: {METHODS[key].title}")
            self._train(METHODS[key])
        self._say(total - 1, total, "inference on the held-out test cases")
        for method in self.methods():
            self._test(method)
        self._say(total, total, "evaluation (PyMIC's Dice and ASSD) and report")
        return write_report(self.out, self.methods(), self.opt.timings)
