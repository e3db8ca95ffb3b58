"""The VS and BraTS example configs (stage 1, auxiliary, SCM) train on tiny stand-in data.

Only paths (the working folder: the configs' relative data/ and runs/ paths land in it)
and iteration counts are overridden; the networks, patch sizes, transforms and losses
(the CRF at the original's physical kernel, spacing from the image header) are the
configs' own. The stand-in data have the real datasets' channels and voxel sizes: one
hrT2-like channel at 0.5 x 0.5 x 1.5 mm (VS, 48 x 128 x 128) and one FLAIR-like
skull-stripped channel, zero outside the brain, at 1 mm (BraTS, 128^3).
"""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

EXAMPLES = Path(__file__).parents[1] / "config_examples"
ITERS = ["--set", "training.iter_max=2", "--set", "training.iter_valid=2",
         "--set", "training.iter_save=2"]
DATASETS = {  # name: (shape z, y, x; spacing x, y, z; skull-stripped)
    "VS": ((48, 128, 128), (0.5, 0.5, 1.5), False),
    "BraTS": ((128, 128, 128), (1.0, 1.0, 1.0), True),
}


def _write(array, path, spacing):
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    sitk.WriteImage(image, str(path))


def stand_in(root: Path, name: str) -> None:
    """data/NAME/: 2 training cases with partial labels, 1 validation and 1 test case."""
    shape, spacing, stripped = DATASETS[name]
    folder = root / "data" / name
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    zz, yy, xx = np.meshgrid(*[np.arange(s) for s in shape], indexing="ij")
    centre = [s // 2 for s in shape]
    lesion = ((zz - centre[0]) / 6.0) ** 2 + ((yy - centre[1]) / 12.0) ** 2 \
        + ((xx - centre[2]) / 12.0) ** 2 <= 1
    rows = {"train_partial": [], "valid": [], "test": []}
    for i, split in enumerate(["train_partial", "train_partial", "valid", "test"]):
        image = rng.normal(100, 10, shape).astype(np.float32)
        image[lesion] += 80
        if stripped:  # zero outside the "brain", as after skull stripping
            brain = ((zz - 64) ** 2 + (yy - 64) ** 2 + (xx - 64) ** 2) <= 56 ** 2
            image[~brain] = 0
        _write(image, folder / f"case{i}.nii.gz", spacing)
        if split == "train_partial":  # 0 outside the box, 1 near the centre, 2 unlabeled
            label = np.zeros(shape, np.uint8)
            box = tuple(slice(c - r - 2, c + r + 3) for c, r in zip(centre, (6, 12, 12)))
            label[box] = 2
            label[tuple(slice(c - 2, c + 3) for c in centre)] = 1
        else:
            label = lesion.astype(np.uint8)
        _write(label, folder / f"case{i}_label.nii.gz", spacing)
        rows[split].append(f"case{i}.nii.gz,case{i}_label.nii.gz")
    for split, lines in rows.items():
        (folder / f"{split}.csv").write_text("image,label\n" + "\n".join(lines) + "\n")


def _train(root: Path, config: str, *extra: str) -> None:
    cmd = [sys.executable, "-m", "pymic_paseg.cli", "train", str(EXAMPLES / config),
           "--device", "cpu", *ITERS, *extra]
    result = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=1500)
    assert result.returncode == 0, (config, result.stdout[-3000:], result.stderr[-3000:])


@pytest.mark.slow
@pytest.mark.parametrize("name, prefix, net", [("VS", "vs", "unet2d5"),
                                               ("BraTS", "brats", "unet3d")])
def test_stage1_auxiliary_and_scm_configs_train(tmp_path, name, prefix, net):
    stand_in(tmp_path, name)
    _train(tmp_path, f"{prefix}_stage1.cfg")
    _train(tmp_path, f"{prefix}_stage1_aux.cfg")
    runs = tmp_path / "runs"
    assert (runs / f"{prefix}_stage1" / "model" / f"{net}_best.pt").is_file()
    assert (runs / f"{prefix}_stage1_aux" / "model" / "attention_unet_best.pt").is_file()
    # SCM starts from the two stage-1 checkpoints named in the config
    _train(tmp_path, f"{prefix}_scm.cfg", "--set", "noisy_label_learning.monitor_interval=2")
    assert any((runs / f"{prefix}_scm" / "model").glob("*.pt"))
