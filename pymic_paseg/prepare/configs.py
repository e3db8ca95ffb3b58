"""The project's PyMIC configs, written from the demo templates (``pymic_paseg/demo/configs``).

Each config is the template with the project's values set in place
(:class:`~pymic_paseg.ini_edit.IniEditor`; every key set must exist in the
template, every key added must not), so the method's settings (networks, losses,
learning rates, SCM recipe) stay those of the demo and ``vs_*.cfg``. Paths are
relative to the project folder, where every step runs:

=================  ===================  =====================================
training key       template             writes
=================  ===================  =====================================
``stage1``         demo_stage1.cfg      ``runs/stage1/{model,prediction}``
``stage1_aux``     demo_stage1_aux.cfg  ``runs/stage1_aux/{model,prediction}``
``scm``            demo_scm.cfg         ``runs/scm/{model,prediction}``
=================  ===================  =====================================

and ``eval_stage1.cfg``/``eval_scm.cfg`` from ``demo_eval.cfg`` for ``pymic_eval_seg``.
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Dict, List, Optional

from pymic_paseg.config_iterations import set_iterations
from pymic_paseg.ini_edit import IniEditor
from pymic_paseg.io_atomic import atomic_write_text
from pymic_paseg.project import Training

__all__ = ["ConfigPlan", "write_configs", "TRAININGS", "DATA_DIR"]

DATA_DIR = "data"
CONFIG_DIR = "configs"
#: (key, title, template, evaluate)
TRAININGS = (
    ("stage1", "PA-Seg stage 1 (UNet2D5, 7 clicks)", "demo_stage1", True),
    ("stage1_aux", "PA-Seg stage 1, auxiliary (attention U-Net)", "demo_stage1_aux", False),
    ("scm", "PA-Seg stage 2, SCM anchored recipe (primary UNet2D5)", "demo_scm", True),
)
EVAL_TEMPLATE = "demo_eval"


@dataclass(frozen=True)
class ConfigPlan:
    """The project's values for the templates."""

    class_num: int
    patch_size: List[int]
    spacing_zyx: List[float]
    valid_threshold: Optional[float]   # None: the whole image is Omega_M
    has_valid: bool
    iterations: Optional[int] = None   # overrides iter_max (quick runs)


def template(name: str) -> IniEditor:
    source = resources.files("pymic_paseg.demo") / "configs" / f"{name}.cfg"
    return IniEditor(source.read_text(encoding="utf-8"), f"template {name}.cfg")


def run_dir(key: str) -> str:
    return f"runs/{key}"


def _dataset(ini: IniEditor, plan: ConfigPlan) -> None:
    ini.set("dataset", "root_dir", DATA_DIR)
    ini.set("dataset", "train_dir", DATA_DIR)
    ini.set("dataset", "train_csv", f"{DATA_DIR}/train_partial.csv")
    if plan.has_valid:
        ini.set("dataset", "valid_csv", f"{DATA_DIR}/valid.csv")
    else:
        ini.remove("dataset", "valid_csv")
    ini.set("dataset", "test_csv", f"{DATA_DIR}/test.csv")
    ini.set("dataset", "patch_size", plan.patch_size)
    if plan.valid_threshold is None:  # whole image valid: no Omega_M channel, global stats
        transforms = [t.strip() for t in ini.get("dataset", "train_transform").strip("[]")
                      .split(",") if t.strip() != "ValidRegionMask"]
        ini.set("dataset", "train_transform", transforms)
        ini.remove("dataset", "ValidRegionMask_threshold")
        ini.set("dataset", "NormalizeWithMeanStd_mask_threshold", None)
    else:
        ini.set("dataset", "ValidRegionMask_threshold", plan.valid_threshold)
        ini.set("dataset", "NormalizeWithMeanStd_mask_threshold", plan.valid_threshold)


def _training(ini: IniEditor, key: str, plan: ConfigPlan) -> None:
    ini.set("training", "ckpt_dir", f"{run_dir(key)}/model")
    sigma_voxels = float(ini.get("training", "MultiViewCRFLoss_spatial_sigma"))
    ini.set("training", "MultiViewCRFLoss_spatial_sigma",
            round(sigma_voxels * min(plan.spacing_zyx), 6))
    ini.add("training", "MultiViewCRFLoss_sigma_in_mm", True)
    ini.add("training", "MultiViewCRFLoss_spacing", plan.spacing_zyx)
    if plan.iterations is not None:
        set_iterations(ini, plan.iterations)
    ini.set("testing", "output_dir", f"{run_dir(key)}/prediction")
    ini.set("testing", "sliding_window_enable", True)
    ini.add("testing", "sliding_window_size", plan.patch_size)
    ini.add("testing", "sliding_window_stride", [max(1, p // 2) for p in plan.patch_size])
    if not plan.has_valid:  # no validation, no best checkpoint: test the latest
        ini.set("testing", "ckpt_mode", 0)


def _checkpoint(key: str, prefix: str, plan: ConfigPlan, iter_max: int) -> str:
    name = f"{prefix}_best.pt" if plan.has_valid else f"{prefix}_{iter_max}.pt"
    return f"{run_dir(key)}/model/{name}"


def _scm(ini: IniEditor, plan: ConfigPlan, stage1: Dict[str, IniEditor]) -> None:
    ini.set("network_auxiliary", "class_num", plan.class_num)
    for field_name, key in (("primary_checkpoint", "stage1"), ("auxiliary_checkpoint",
                                                               "stage1_aux")):
        ini.set("noisy_label_learning", field_name, _checkpoint(
            key, stage1[key].get("training", "ckpt_prefix"), plan,
            int(stage1[key].get("training", "iter_max"))))


def _eval(key: str, plan: ConfigPlan) -> IniEditor:
    ini = template(EVAL_TEMPLATE)
    ini.set("evaluation", "label_list", list(range(1, plan.class_num)))
    ini.set("evaluation", "ground_truth_folder", DATA_DIR)
    ini.set("evaluation", "segmentation_folder", f"{run_dir(key)}/prediction")
    ini.set("evaluation", "evaluation_image_pair", f"{DATA_DIR}/test_eval_pairs.csv")
    ini.replace_header(f"PyMIC's evaluation of the {key} predictions on the test cases, run "
                       f"in the project folder:\n  pymic_eval_seg --cfg {CONFIG_DIR}/eval_{key}.cfg"
                       "\nwritten by `pymic_run prepare` from the template demo_eval.cfg")
    return ini


def write_configs(root: Path, plan: ConfigPlan) -> List[Training]:
    """Write ``configs/*.cfg`` into the project ``root``; return the trainings in order."""
    editors: Dict[str, IniEditor] = {}
    trainings = []
    for key, title, name, evaluate in TRAININGS:
        ini = template(name)
        _dataset(ini, plan)
        ini.set("network", "class_num", plan.class_num)
        _training(ini, key, plan)
        if key == "scm":
            _scm(ini, plan, editors)
        ini.replace_header(
            f"{title}: written by `pymic_run prepare` from the template {name}.cfg\n"
            "(pymic_paseg/demo/configs); paths are relative to the project folder.\n"
            f"Run from the project folder: pymic_run train {CONFIG_DIR}/{key}.cfg, then\n"
            f"pymic_run test {CONFIG_DIR}/{key}.cfg; or all steps: pymic_run pipeline PROJECT")
        editors[key] = ini
        atomic_write_text(root / CONFIG_DIR / f"{key}.cfg", ini.text())
        trainings.append(Training(key, title, f"{CONFIG_DIR}/{key}.cfg", evaluate))
        if evaluate:
            atomic_write_text(root / CONFIG_DIR / f"eval_{key}.cfg", _eval(key, plan).text())
    return trainings
