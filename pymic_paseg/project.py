"""A PA-Seg project folder: what ``pymic_run prepare`` writes and ``pymic_run pipeline`` runs.

``PROJECT/project.json`` is the one description of a project. Every path in it is
relative to the project folder, and every step runs with the project folder as its
working directory, so a project can be moved or copied as a whole. It is written by
``pymic_run prepare`` (a user's own data) and by ``pymic_run demo`` (the demo data),
and read by ``pymic_run pipeline`` and ``pymic_run report``.

Fields (``version`` 1):

* ``classes``: ``{"1": "tumour", "2": "oedema"}``: the foreground classes, numbered from 1;
  the networks are trained with ``class_num = len(classes) + 1``.
* ``expand``: the arguments of ``pymic_run expand`` (without the word ``expand``), or ``[]``
  when the partial labels were given; ``partial_csv`` is the CSV it writes (its presence
  means the expansion is done).
* ``trainings``: in order, each ``{"key", "title", "config", "evaluate"}``: a model trained
  with ``pymic_run train CONFIG``; ``evaluate`` says whether it is run on the test cases
  and scored. Checkpoint folder, prefix and prediction folder are read from the config.
* ``test_csv``: the images to infer (PyMIC's CSV, ``image`` column, optionally ``label``);
  ``eval_pairs_csv``: PyMIC's evaluation pairs (``ground_truth``, ``segmentation``), paths
  relative to ``ground_truth_folder``; both may be ``null`` when there is no test set.
* ``created_by``: ``"prepare"`` or ``"demo"``; free-form ``notes`` for the user.

This module is torch-free and PyMIC-free.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Union

from pymic_paseg.io_atomic import atomic_write_text

PROJECT_FILE = "project.json"
VERSION = 1


class ProjectError(ValueError):
    """A project.json that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Training:
    """One model of the project, trained with ``pymic_run train CONFIG``."""

    key: str
    title: str
    config: str
    evaluate: bool = True


@dataclass
class Project:
    root: Path
    classes: Dict[int, str]
    trainings: List[Training]
    expand: List[str] = field(default_factory=list)
    partial_csv: Optional[str] = None
    test_csv: Optional[str] = None
    eval_pairs_csv: Optional[str] = None
    ground_truth_folder: str = "."
    created_by: str = "prepare"
    notes: str = ""

    @property
    def class_num(self) -> int:
        """PyMIC's ``class_num``: the foreground classes plus background."""
        return len(self.classes) + 1

    def path(self, relative: str) -> Path:
        return self.root / relative

    def to_json(self) -> str:
        data = asdict(self)
        data.pop("root")
        data["classes"] = {str(k): v for k, v in self.classes.items()}
        return json.dumps({"version": VERSION, **data}, indent=2) + "\n"


def save_project(project: Project) -> Path:
    """Write ``project.json`` atomically into ``project.root``; returns its path."""
    project.root.mkdir(parents=True, exist_ok=True)
    path = project.root / PROJECT_FILE
    atomic_write_text(path, project.to_json())
    return path


def _require(data: dict, key: str, kind, where: Path):
    if key not in data:
        raise ProjectError(f"{where}: missing key {key!r}")
    value = data[key]
    if not isinstance(value, kind):
        raise ProjectError(f"{where}: {key!r} must be {kind.__name__}, got {value!r}")
    return value


def _optional_str(data: dict, key: str, where: Path) -> Optional[str]:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise ProjectError(f"{where}: {key!r} must be a string or null, got {value!r}")
    return value


def _classes(raw: dict, where: Path) -> Dict[int, str]:
    classes: Dict[int, str] = {}
    for key, name in raw.items():
        try:
            index = int(key)
        except ValueError:
            raise ProjectError(f"{where}: 'classes' key {key!r} is not a class number") from None
        if not isinstance(name, str) or not name:
            raise ProjectError(f"{where}: class {key} needs a name, got {name!r}")
        classes[index] = name
    if sorted(classes) != list(range(1, len(classes) + 1)):
        raise ProjectError(f"{where}: 'classes' must be numbered 1..K without gaps, "
                           f"got {sorted(classes)}")
    return classes


def _trainings(raw: list, where: Path) -> List[Training]:
    trainings: List[Training] = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise ProjectError(f"{where}: trainings[{index}] must be an object, got {item!r}")
        label = f"trainings[{index}]"
        trainings.append(Training(
            key=_require(item, "key", str, Path(f"{where} {label}")),
            title=str(item.get("title", item.get("key"))),
            config=_require(item, "config", str, Path(f"{where} {label}")),
            evaluate=bool(item.get("evaluate", True))))
    keys = [t.key for t in trainings]
    if len(set(keys)) != len(keys):
        raise ProjectError(f"{where}: training keys repeat: {keys}")
    return trainings


def load_project(root: Union[str, Path]) -> Project:
    """Read ``ROOT/project.json``; a missing or malformed file raises :class:`ProjectError`."""
    root = Path(root).resolve()
    where = root / PROJECT_FILE
    if not where.is_file():
        raise ProjectError(f"{where}: not found; is {root} a project folder made by "
                           "`pymic_run prepare` or `pymic_run demo`?")
    try:
        data = json.loads(where.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ProjectError(f"{where}: cannot be read as JSON: {error}") from None
    if not isinstance(data, dict):
        raise ProjectError(f"{where}: must hold a JSON object")
    version = data.get("version")
    if version != VERSION:
        raise ProjectError(f"{where}: version {version!r} is not supported (expected {VERSION})")
    expand = data.get("expand", [])
    if not isinstance(expand, list) or not all(isinstance(a, str) for a in expand):
        raise ProjectError(f"{where}: 'expand' must be a list of strings, got {expand!r}")
    return Project(
        root=root,
        classes=_classes(_require(data, "classes", dict, where), where),
        trainings=_trainings(_require(data, "trainings", list, where), where),
        expand=list(expand),
        partial_csv=_optional_str(data, "partial_csv", where),
        test_csv=_optional_str(data, "test_csv", where),
        eval_pairs_csv=_optional_str(data, "eval_pairs_csv", where),
        ground_truth_folder=_optional_str(data, "ground_truth_folder", where) or ".",
        created_by=str(data.get("created_by", "prepare")),
        notes=str(data.get("notes", "")))
