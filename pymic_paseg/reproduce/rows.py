"""The rows of the paper's three tables, as runs of the demo configs with overrides.

Each :class:`Row` is one ``pymic_run train`` + ``test`` of a config in
``pymic_paseg/demo/configs`` with ``--set`` overrides; all rows of a run share the
same data, split, clicks, expansion and seeds. Table I: stage-1 ablation;
Table II: weakly supervised baselines on the same expanded labels (PyMIC's own
methods, plus the size-constraint and tightness-prior losses); Table III:
second-stage methods on the stage-1 pseudo labels.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

STAGE1 = "I_mcrf_vm"          # the full stage-1 model: Table III's first stage
AUX = "aux_stage1"            # SCM's auxiliary network, stage 1 (not a table row)
PSEUDO_CSV = "rows/pseudo/train_pseudo.csv"
_PYMIC_SUP = ("training.loss_type=[CrossEntropyLoss,DiceLoss]", "training.loss_weight=[0.5,0.5]")
#: box-only partial labels of the training cases (``box_labels.write_box_labels``).
BOX_CSV = "demo_data/train_box.csv"
#: the paper's size bounds: 0.9-1.1 x the true volume, carried by OracleLabel (label channel 2).
_ORACLE = ("dataset.train_transform=[ValidRegionMask,OracleLabel,NormalizeWithMeanStd,"
           "RandomCrop,RandomFlip,PartialLabelToProbability]",
           "dataset.oraclelabel_csv=demo_data/train.csv")
_NO_REG = ("weakly_supervised_learning.alpha=0", "weakly_supervised_learning.beta=0")
#: the PA-Seg authors' tightness prior: max-projection to 2D per axis, bands of 10, hinge.
_DTP = ("training.tightnesspriorloss_mode=max_projection",
        "training.tightnesspriorloss_penalty=hinge", "training.tightnesspriorloss_band_width=10")


@dataclass(frozen=True)
class Row:
    key: str                       # unique id, also the folder name under rows/
    table: str                     # "I", "II", "III" or "" (helper run)
    title: str
    config: str = "demo_stage1"    # demo config it runs
    sets: Tuple[str, ...] = ()     # --set overrides
    alias: Optional[str] = None    # reuse another row's results
    needs: Tuple[str, ...] = ()    # rows (or "pseudo") that must be done first
    second_stage: bool = False     # paired t-test against Table III's first stage
    prefix: str = "unet2d5"        # checkpoint prefix of the config
    box_labels: bool = False       # trains on box-only labels (runner writes BOX_CSV first)

    @property
    def dependencies(self) -> Tuple[str, ...]:
        """Rows that must finish first; the pseudo labels are the first stage's output."""
        return tuple(STAGE1 if n == "pseudo" else n for n in self.needs)


def _wsl(method: str, *extra: str) -> Tuple[str, ...]:
    return (f"weakly_supervised_learning.method_name={method}", *_PYMIC_SUP, *extra)


#: the paper's SCM reads the training images only; demo_scm.cfg's default recipe reads the
#: partial labels too, so the paper rows put the paper's data pipeline back.
_PAPER_SCM = ("noisy_label_learning.recipe=paper", "dataset.train_csv=demo_data/train_images.csv",
              "dataset.train_transform=[NormalizeWithMeanStd,RandomCrop,RandomFlip]")


def _scm(lam: str, paper: bool = True) -> Tuple[str, ...]:
    return ((_PAPER_SCM if paper else ()) + (
        f"noisy_label_learning.lambda={lam}",
        f"noisy_label_learning.primary_checkpoint=rows/{STAGE1}/model/unet2d5_best.pt",
        f"noisy_label_learning.auxiliary_checkpoint=rows/{AUX}/model/attention_unet_best.pt"))


def _nll(method: str, nets: int, *extra: str) -> Tuple[str, ...]:
    # foreground-focused cropping crashes in PyMIC on a pseudo label with no foreground
    return ("dataset.supervise_type=noisy_label", f"dataset.train_csv={PSEUDO_CSV}",
            "dataset.randomcrop_foreground_focus=False",
            f"network.net_type=[{','.join(['UNet2D5'] * nets)}]",
            f"noisy_label_learning.method_name={method}", *extra)


ROWS: List[Row] = [
    Row("I_fullsup", "I", "full supervision", "demo_fullsup"),
    Row("I_psup", "I", "L_psup", sets=("weakly_supervised_learning.alpha=0",
                                       "weakly_supervised_learning.beta=0")),
    Row("I_axial_crf", "I", "L_psup + L_crf^A", sets=(
        "weakly_supervised_learning.beta=0", "training.multiviewcrfloss_views=[axial]")),
    Row("I_mcrf", "I", "L_psup + L_mcrf", sets=("weakly_supervised_learning.beta=0",)),
    Row("I_vm", "I", "L_psup + L_vm", sets=("weakly_supervised_learning.alpha=0",)),
    Row(STAGE1, "I", "L_psup + L_mcrf + L_vm (PA-Seg stage 1)"),
    Row("II_entropy_min", "II", "entropy minimisation (PyMIC)", sets=_wsl("EntropyMinimization")),
    Row("II_total_variation", "II", "total variation (PyMIC)", sets=_wsl("TotalVariation")),
    # PyMIC's default GatedCRFLoss_Radius is the float 5.0, which its im2col rejects
    Row("II_gated_crf", "II", "gated CRF (PyMIC)", sets=_wsl(
        "GatedCRF", "weakly_supervised_learning.gatedcrfloss_radius=5")),
    Row("II_mumford_shah", "II", "Mumford-Shah (PyMIC)", sets=_wsl("MumfordShah")),
    # the paper's set-up: expanded labels, bounds 0.9-1.1 x the true volume of the patch
    Row("II_size", "II", "size constraint (Kervadec 2019), true volume", sets=_NO_REG + _ORACLE + (
        "weakly_supervised_learning.extra_losses=[SizeConstraintLoss]",
        "weakly_supervised_learning.extra_weights=[0.01]")),
    # the paper's DTP: the box of the six background clicks only (no Omega_F), the authors'
    # max-projected tightness prior, and the size constraint with the true volume
    Row("II_tightness", "II", "tightness prior + size (Kervadec 2020), box only, true volume",
        box_labels=True, sets=_NO_REG + _ORACLE + _DTP + (
            f"dataset.train_csv={BOX_CSV}",
            "weakly_supervised_learning.extra_losses=[TightnessPriorLoss,SizeConstraintLoss]",
            "weakly_supervised_learning.extra_weights=[0.0001,0.01]")),
    # variants without the oracle: V* from the box, prior over whole 3D slices, expanded labels
    Row("II_size_box", "II", "size constraint, volume estimated from the box", sets=_NO_REG + (
        "weakly_supervised_learning.extra_losses=[SizeConstraintLoss]",
        "weakly_supervised_learning.extra_weights=[0.01]")),
    Row("II_tightness_slices", "II", "tightness prior (3D slices) + size (box estimate), "
        "expanded labels", sets=_NO_REG + (
            "weakly_supervised_learning.extra_losses=[TightnessPriorLoss,SizeConstraintLoss]",
            "weakly_supervised_learning.extra_weights=[0.0001,0.01]")),
    Row("II_pa_seg", "II", "PA-Seg stage 1", alias=STAGE1),
    Row(AUX, "", "stage 1, auxiliary (attention U-Net)", "demo_stage1_aux",
        prefix="attention_unet"),
    Row("III_stage1", "III", "first stage (PA-Seg stage 1)", alias=STAGE1),
    Row("III_scm_05", "III", "SCM, lambda = 0.5", "demo_scm", _scm("0.5"),
        needs=(STAGE1, AUX), second_stage=True),
    Row("III_scm_anchored", "III", "SCM, anchored recipe (pymic_paseg default), lambda = 0.5",
        "demo_scm", _scm("0.5", paper=False), needs=(STAGE1, AUX), second_stage=True),
    Row("III_scm_0", "III", "SCM, lambda = 0", "demo_scm", _scm("0"), needs=(STAGE1, AUX),
        second_stage=True),
    Row("III_scm_1", "III", "SCM, lambda = 1", "demo_scm", _scm("1"), needs=(STAGE1, AUX),
        second_stage=True),
    Row("III_co_teaching", "III", "co-teaching (PyMIC)", "demo_fullsup", needs=("pseudo",),
        second_stage=True, sets=_nll("CoTeaching", 2,
                                     "noisy_label_learning.co_teaching_select_ratio=0.8",
                                     "training.loss_type=CrossEntropyLoss")),
    Row("III_trinet", "III", "TriNet (PyMIC)", "demo_fullsup", needs=("pseudo",),
        second_stage=True, sets=_nll("TriNet", 3,
                                     "noisy_label_learning.trinet_select_ratio=0.8",
                                     "training.loss_type=CrossEntropyLoss")),
    # PyMIC's CPS is a semi-supervised agent: the stage-1 pseudo labels are its labelled
    # set and the same training images its unlabelled set, so the two networks learn from
    # the pseudo labels and from each other's hard predictions (Chen et al. 2021)
    Row("III_cps", "III", "CPS (PyMIC)", "demo_fullsup", needs=("pseudo",), second_stage=True,
        sets=("dataset.supervise_type=semi_sup", f"dataset.train_csv={PSEUDO_CSV}",
              "dataset.train_csv_unlab=demo_data/train_images.csv",
              "dataset.train_batch_size_unlab=2",
              "dataset.train_transform_unlab=[NormalizeWithMeanStd,RandomCrop,RandomFlip]",
              "dataset.randomcrop_foreground_focus=False",
              "network.net_type=[UNet2D5,UNet2D5]",
              "semi_supervised_learning.method_name=CPS",
              "semi_supervised_learning.regularize_w=0.1")),
]
ROW_BY_KEY: Dict[str, Row] = {row.key: row for row in ROWS}

#: preset -> (cases, training overrides or None for the configs' own budgets)
PRESETS: Dict[str, Tuple[int, Optional[Tuple[str, ...]]]] = {
    "tiny": (6, ("training.iter_max=2", "training.iter_valid=2", "training.iter_save=2",
                 "noisy_label_learning.monitor_interval=2")),
    "cpu-small": (40, None),
    # the paper's networks and optimiser (16-256 channels, SGD 1e-2, momentum 0.99, wd 3e-5)
    # with budgets in epochs of the 28 training cases: 300 (stage 1) and 100 (SCM); for a GPU
    "paper": (40, ("network.feature_chns=[16,32,64,128,256]", "training.optimizer=SGD",
                   "training.learning_rate=1e-2", "training.momentum=0.99",
                   "training.weight_decay=3e-5", "training.iter_max=4200",
                   "training.iter_valid=140", "training.iter_save=1400",
                   "weakly_supervised_learning.rampup_start=420",
                   "weakly_supervised_learning.rampup_end=1260")),
}


def rows_for(tables: Tuple[str, ...], only: Optional[Tuple[str, ...]] = None) -> List[Row]:
    """The rows of ``tables`` (or just ``only``) plus every row they need, in order."""
    wanted = {row.key for row in ROWS if row.table in tables
              and (only is None or row.key in only)}
    changed = True
    while changed:
        changed = False
        for row in ROWS:
            if row.key in wanted:
                extra = {n for n in (*row.dependencies, row.alias) if n} - wanted
                if extra:
                    wanted |= extra
                    changed = True
    return [row for row in ROWS if row.key in wanted]
