"""Small synthetic datasets and configs for tests (no demo builder needed)."""
from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Tuple

import numpy as np
import SimpleITK as sitk

SHAPE = (16, 32, 32)  # z, y, x
SPACING = (0.9, 0.8, 2.0)  # x, y, z (ITK order)
ORIGIN = (-10.0, 5.0, 3.5)
DIRECTION = (0.0, 1.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0, 1.0)  # a 90-degree rotation


def replaced(text: str, old: str, new: str, count: int = -1) -> str:
    """``text.replace(old, new, count)`` that fails when ``old`` is not in ``text``.

    A config edited for a test must really be edited: a template that drifts would
    otherwise let the test run on the unedited config and pass for the wrong reason.
    """
    assert old in text, f"replaced(): {old!r} is not in the text being edited"
    return text.replace(old, new, count)


def parse_pymic_config(path: Path) -> dict:
    """The config PyMIC's own entry points build from ``path`` (parsed and synchronised)."""
    import argparse
    import contextlib
    import io

    from pymic.util.parse_config import parse_config, synchronize_config
    with contextlib.redirect_stdout(io.StringIO()):  # parse_config prints every key
        return synchronize_config(parse_config(argparse.Namespace(cfg=str(path))))


def load_pymic_config(text: str, folder: Path, name: str = "run.cfg") -> dict:
    """Write ``text`` to ``folder/name`` and parse it as PyMIC does."""
    path = Path(folder) / name
    path.write_text(text)
    return parse_pymic_config(path)


def write_image(array: np.ndarray, path: Path) -> None:
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(SPACING)
    image.SetOrigin(ORIGIN)
    image.SetDirection(DIRECTION)
    sitk.WriteImage(image, str(path))


def make_case(rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    """A noisy volume with a bright box 'lesion' at a random place."""
    image = rng.normal(0.3, 0.05, SHAPE).astype(np.float32)
    label = np.zeros(SHAPE, np.uint8)
    z, y, x = rng.integers(3, 8), rng.integers(4, 20), rng.integers(4, 20)
    label[z:z + 5, y:y + 7, x:x + 6] = 1
    image[label > 0] += 0.6
    return image, label


def _write_split_csvs(root: Path, rows: dict) -> Path:
    """``{split}.csv`` (PyMIC's image,label columns) for each split of ``rows``."""
    for split, lines in rows.items():
        (root / f"{split}.csv").write_text("image,label\n" + "\n".join(lines) + "\n")
    return root


def make_dataset(root: Path, n_train: int = 4, n_valid: int = 2, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    rows = {"train": [], "valid": []}
    for i in range(n_train + n_valid):
        image, label = make_case(rng)
        write_image(image, root / f"case{i}_img.nii.gz")
        write_image(label, root / f"case{i}_lab.nii.gz")
        split = "train" if i < n_train else "valid"
        rows[split].append(f"case{i}_img.nii.gz,case{i}_lab.nii.gz")
    return _write_split_csvs(root, rows)


def fullsup_config(root: Path, ckpt_dir: Path, out_dir: Path, *, iter_max: int = 8,
                   iter_valid: int = 4, extra_training: str = "", valid: bool = True) -> str:
    valid_line = f"valid_csv = {root}/valid.csv" if valid else ""
    return textwrap.dedent(f"""\
        [dataset]
        tensor_type = float
        task_type = seg
        root_dir = {root}
        train_dir = {root}
        train_csv = {root}/train.csv
        {valid_line}
        test_csv = {root}/valid.csv
        train_batch_size = 2
        num_worker = 0
        patch_size = [8, 16, 16]
        train_transform = [NormalizeWithMeanStd, RandomCrop, LabelToProbability]
        valid_transform = [NormalizeWithMeanStd, LabelToProbability]
        test_transform = [NormalizeWithMeanStd]
        NormalizeWithMeanStd_channels = [0]

        [network]
        net_type = UNet2D5
        class_num = 2
        in_chns = 1
        feature_chns = [4, 8, 16, 32, 64]
        conv_dims = [2, 2, 3, 3, 3]
        dropout = [0.0, 0.0, 0.0, 0.0, 0.0]
        bilinear = True
        deep_supervise = False

        [training]
        device = cpu
        gpus = [0]
        loss_type = [DiceLoss, CrossEntropyLoss]
        loss_weight = [0.5, 0.5]
        optimizer = Adam
        learning_rate = 1e-2
        momentum = 0.9
        weight_decay = 1e-5
        lr_scheduler = PolynomialLR
        lr_power = 0.9
        ckpt_dir = {ckpt_dir}
        iter_max = {iter_max}
        iter_valid = {iter_valid}
        iter_save = {iter_valid}
        progress = false
        {extra_training}

        [testing]
        device = cpu
        gpus = [0]
        ckpt_mode = 0
        output_dir = {out_dir}
        sliding_window_enable = False
        """)


def make_partial_dataset(root: Path, n_train: int = 3, n_valid: int = 1, seed: int = 0) -> Path:
    """Like :func:`make_dataset`, plus zero background and partial labels.

    Partial labels (PyMIC's convention for 2 classes): 1 = eroded lesion core,
    0 = outside a box 2 voxels around the lesion or in the zero background,
    2 = unlabeled.
    """
    from scipy import ndimage
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    rows = {"train": [], "valid": []}
    for i in range(n_train + n_valid):
        image, label = make_case(rng)
        image[:, :, :3] = 0.0  # "skull-stripped" background: outside Omega_M
        partial = np.full(SHAPE, 2, np.uint8)
        zz, yy, xx = np.nonzero(label)
        box = tuple(slice(max(a.min() - 2, 0), a.max() + 3) for a in (zz, yy, xx))
        inside = np.zeros(SHAPE, bool)
        inside[box] = True
        partial[~inside | (image == 0)] = 0
        partial[ndimage.binary_erosion(label, iterations=1)] = 1
        write_image(image, root / f"case{i}_img.nii.gz")
        write_image(label, root / f"case{i}_lab.nii.gz")
        write_image(partial, root / f"case{i}_partial.nii.gz")
        if i < n_train:
            rows["train"].append(f"case{i}_img.nii.gz,case{i}_partial.nii.gz")
        else:
            rows["valid"].append(f"case{i}_img.nii.gz,case{i}_lab.nii.gz")
    return _write_split_csvs(root, rows)


def stage1_config(root: Path, ckpt_dir: Path, out_dir: Path, *, iter_max: int = 6,
                  iter_valid: int = 3, wsl: str = "", training: str = "",
                  valid: bool = True) -> str:
    """A stage-1 config on :func:`make_partial_dataset` data."""
    text = fullsup_config(root, ckpt_dir, out_dir, iter_max=iter_max, iter_valid=iter_valid,
                          extra_training=training, valid=valid)
    text = replaced(
        text, "train_transform = [NormalizeWithMeanStd, RandomCrop, LabelToProbability]",
        "train_transform = [ValidRegionMask, NormalizeWithMeanStd, RandomCrop, "
        "PartialLabelToProbability]")
    text = replaced(text, "[dataset]\n", "[dataset]\nsupervise_type = weak_sup\n", 1)
    text += "\n[weakly_supervised_learning]\nmethod_name = PASegStage1\n" + wsl + "\n"
    return text


AUX_NETWORK = """
[network_auxiliary]
net_type = PASegAttentionUNet
dimension = 3
class_num = 2
in_chns = 1
feature_chns = [4, 8, 8, 16, 16]
dropout = [0.0, 0.0, 0.0, 0.0, 0.0]
"""


def scm_config(root: Path, ckpt_dir: Path, out_dir: Path, primary: Path, auxiliary: Path, *,
               iter_max: int = 6, iter_valid: int = 3, nll: str = "",
               training: str = "", valid: bool = True) -> str:
    """An SCM config on :func:`make_dataset` data; the training CSV lists images only."""
    lines = (root / "train.csv").read_text().splitlines()
    (root / "train_images.csv").write_text(
        "image\n" + "\n".join(line.split(",")[0] for line in lines[1:]) + "\n")
    text = fullsup_config(root, ckpt_dir, out_dir, iter_max=iter_max, iter_valid=iter_valid,
                          extra_training=training, valid=valid)
    text = replaced(text, f"train_csv = {root}/train.csv", f"train_csv = {root}/train_images.csv")
    text = replaced(text, "train_transform = [NormalizeWithMeanStd, RandomCrop, LabelToProbability]",
                    "train_transform = [NormalizeWithMeanStd, RandomCrop]")
    text = replaced(text, "patch_size = [8, 16, 16]", "patch_size = [16, 16, 16]")
    text = replaced(text, "[dataset]\n", "[dataset]\nsupervise_type = noisy_label\n", 1)
    text += AUX_NETWORK
    # the images-only CSV above is the paper's SCM pipeline
    text += (f"\n[noisy_label_learning]\nmethod_name = PASegSCM\nrecipe = paper\n"
             f"primary_checkpoint = {primary}\nauxiliary_checkpoint = {auxiliary}\n{nll}\n")
    return text


def infer_with_cli_and_check_geometry(cfg: Path, out_dir: Path, root: Path,
                                      case: str = "case3_img.nii.gz") -> None:
    """``pymic_run test CFG`` in a subprocess; the prediction of ``case`` has the image's size."""
    import subprocess
    import sys
    result = subprocess.run([sys.executable, "-m", "pymic_paseg.cli", "test", str(cfg)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    pred = sitk.ReadImage(str(out_dir / case))
    assert pred.GetSize() == sitk.ReadImage(str(root / case)).GetSize()
