"""What a project's steps read from their configs, and which steps are already done.

Torch-free and PyMIC-free: ``pymic_run pipeline`` plans with it before importing PyMIC,
and tests call it directly. A training is *finished* only when its latest checkpoint
(``{prefix}_latest.txt`` in ``ckpt_dir``) has reached the config's ``[training] iter_max``;
an early-stopped training also counts once the pipeline saw it end normally (the
``logs/train_<key>.done`` marker holds the iteration it ended at).
"""
from __future__ import annotations

import configparser
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence

from pymic_paseg.agents.pointers import read_pointer
from pymic_paseg.cli_common import read_ini
from pymic_paseg.project import Project, ProjectError, Training

__all__ = ["TrainingPlan", "plan_training", "plan_trainings", "read_config", "STAGES"]

STAGES = (1, 2)


def read_config(path: Path) -> configparser.ConfigParser:
    """The INI file as configparser reads it (keys lower-case, as PyMIC's parser); any
    problem is a :class:`ProjectError` naming the file (:func:`~pymic_paseg.cli_common.read_ini`)."""
    return read_ini(str(path), ProjectError)


def _get(parser: configparser.ConfigParser, path: Path, section: str, key: str,
         default: Optional[str] = None) -> str:
    value = parser.get(section, key, fallback=default)
    if value is None or not value.strip():
        raise ProjectError(f"{path}: [{section}] {key} is missing")
    return value.split("#")[0].strip()


@dataclass(frozen=True)
class TrainingPlan:
    """A training of the project with what its config says; paths absolute."""

    training: Training
    config: Path
    stage: int
    ckpt_dir: Path
    prefix: str
    iter_max: int
    prediction_dir: Optional[Path]
    latest: Optional[int]
    #: ``logs/train_<key>.done`` (the iteration where the training returned)
    done_marker: Path
    #: ``logs/test_<key>.done`` (the checkpoint iteration the predictions come from)
    test_marker: Path

    @property
    def finished(self) -> bool:
        if self.latest is None:
            return False
        if self.latest >= self.iter_max:
            return True
        try:  # an early stop: the pipeline saw the training return at this iteration
            return int(self.done_marker.read_text().strip()) == self.latest
        except (OSError, ValueError):
            return False

    @property
    def log_step(self) -> str:
        return f"train_{self.training.key}"


def plan_training(project: Project, training: Training) -> TrainingPlan:
    path = project.path(training.config)
    parser = read_config(path)
    ckpt_dir = project.root / _get(parser, path, "training", "ckpt_dir")
    prefix = parser.get("training", "ckpt_prefix", fallback="").strip() or ckpt_dir.name
    text = _get(parser, path, "training", "iter_max")
    try:
        iter_max = int(text)
    except ValueError:
        raise ProjectError(f"{path}: [training] iter_max = {text}: must be an integer") from None
    output = parser.get("testing", "output_dir", fallback="").strip()
    # stage 2 (SCM) learns from stage 1's networks: PyMIC's noisy-label supervision
    noisy = parser.get("dataset", "supervise_type", fallback="").strip() == "noisy_label"
    return TrainingPlan(training=training, config=path, stage=2 if noisy else 1,
                        ckpt_dir=ckpt_dir, prefix=prefix, iter_max=iter_max,
                        prediction_dir=project.root / output if output else None,
                        latest=read_pointer(str(ckpt_dir), prefix, "latest"),
                        done_marker=project.root / "logs" / f"train_{training.key}.done",
                        test_marker=project.root / "logs" / f"test_{training.key}.done")


def plan_trainings(project: Project, stages: Sequence[int] = STAGES) -> List[TrainingPlan]:
    """The project's trainings in order, those of ``stages`` only."""
    plans = [plan_training(project, t) for t in project.trainings]
    return [p for p in plans if p.stage in stages]
