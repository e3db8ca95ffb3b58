"""A tiny project folder (one fully supervised training) for the pipeline tests."""
from __future__ import annotations

from pathlib import Path

from helpers import fullsup_config, make_dataset
from pymic_paseg.project import Project, Training, save_project


def tiny_project(root: Path, iter_max: int = 12, iter_valid: int = 3,
                 extra_training: str = "") -> Project:
    """``root/project.json`` with training ``net`` (UNet2D5), tested on the valid cases."""
    data = make_dataset(root / "data", n_train=3, n_valid=2)
    (root / "configs").mkdir(parents=True, exist_ok=True)
    config = fullsup_config(Path("data"), Path("runs/net/model"), Path("runs/net/prediction"),
                            iter_max=iter_max, iter_valid=iter_valid,
                            extra_training=extra_training)
    (root / "configs" / "net.cfg").write_text(config)
    pairs = ["ground_truth,segmentation"] + [
        f"case{i}_lab.nii.gz,case{i}_img.nii.gz" for i in (3, 4)]
    (data / "eval_pairs.csv").write_text("\n".join(pairs) + "\n")
    project = Project(root=root.resolve(), classes={1: "box"},
                      trainings=[Training("net", "tiny UNet2D5", "configs/net.cfg")],
                      test_csv="data/valid.csv", eval_pairs_csv="data/eval_pairs.csv",
                      ground_truth_folder="data")
    save_project(project)
    return project
