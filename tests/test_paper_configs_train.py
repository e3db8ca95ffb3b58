"""The VS and BraTS example configs (stage 1, auxiliary, SCM) train on tiny stand-in data.

Only paths (the working folder: the configs' relative data/ and runs/ paths land in it),
iteration counts, the patch size and the data-loader workers are overridden, so that the
tiny volumes fit and the test stays short on 2 CPU cores; the networks, transforms and
losses (the CRF at the original's physical kernel, spacing from the image header) are the
configs' own. The stand-in data have the real datasets' channels and voxel sizes: one
hrT2-like channel at 0.5 x 0.5 x 1.5 mm (VS) and one FLAIR-like skull-stripped channel,
zero outside the brain, at 1 mm (BraTS). The trainings run in this process, through
``pymic_run``'s own entry point.
"""
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

EXAMPLES = Path(__file__).parents[1] / "config_examples"
ITERS = ["--set", "training.iter_max=2", "--set", "training.iter_valid=2",
         "--set", "training.iter_save=2"]
DATASETS = {  # name: (shape z, y, x; spacing x, y, z; skull-stripped; training patch)
    "VS": ((32, 64, 64), (0.5, 0.5, 1.5), False, "[16, 48, 48]"),
    "BraTS": ((48, 48, 48), (1.0, 1.0, 1.0), True, "[32, 32, 32]"),
}


def _write(array, path, spacing):
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    sitk.WriteImage(image, str(path))


def stand_in(root: Path, name: str) -> None:
    """data/NAME/: 2 training cases with partial labels, 1 validation and 1 test case."""
    shape, spacing, stripped, _ = DATASETS[name]
    folder = root / "data" / name
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    zz, yy, xx = np.meshgrid(*[np.arange(s) for s in shape], indexing="ij")
    centre = [s // 2 for s in shape]
    radii = (4, 8, 8)
    lesion = ((zz - centre[0]) / radii[0]) ** 2 + ((yy - centre[1]) / radii[1]) ** 2 \
        + ((xx - centre[2]) / radii[2]) ** 2 <= 1
    rows = {"train_partial": [], "valid": [], "test": []}
    for i, split in enumerate(["train_partial", "train_partial", "valid", "test"]):
        image = rng.normal(100, 10, shape).astype(np.float32)
        image[lesion] += 80
        if stripped:  # zero outside the "brain", as after skull stripping
            brain = sum((a - c) ** 2 for a, c in zip((zz, yy, xx), centre)) \
                <= (0.45 * min(shape)) ** 2
            image[~brain] = 0
        _write(image, folder / f"case{i}.nii.gz", spacing)
        if split == "train_partial":  # 0 outside the box, 1 near the centre, 2 unlabeled
            label = np.zeros(shape, np.uint8)
            box = tuple(slice(c - r - 2, c + r + 3) for c, r in zip(centre, radii))
            label[box] = 2
            label[tuple(slice(c - 2, c + 3) for c in centre)] = 1
        else:
            label = lesion.astype(np.uint8)
        _write(label, folder / f"case{i}_label.nii.gz", spacing)
        rows[split].append(f"case{i}.nii.gz,case{i}_label.nii.gz")
    for split, lines in rows.items():
        (folder / f"{split}.csv").write_text("image,label\n" + "\n".join(lines) + "\n")


def _train(root: Path, name: str, config: str, *extra: str) -> None:
    from pymic_paseg.cli import main
    patch = DATASETS[name][3]
    code = main(["train", str(EXAMPLES / config), "--device", "cpu", *ITERS,
                 "--set", f"dataset.patch_size={patch}", "--set", "dataset.num_worker=0",
                 *extra])
    assert code == 0, config


@pytest.mark.slow
@pytest.mark.parametrize("name, prefix, net", [("VS", "vs", "unet2d5"),
                                               ("BraTS", "brats", "unet3d")])
def test_stage1_auxiliary_and_scm_configs_train(tmp_path, monkeypatch, name, prefix, net):
    stand_in(tmp_path, name)
    monkeypatch.chdir(tmp_path)
    _train(tmp_path, name, f"{prefix}_stage1.cfg")
    _train(tmp_path, name, f"{prefix}_stage1_aux.cfg")
    runs = tmp_path / "runs"
    assert (runs / f"{prefix}_stage1" / "model" / f"{net}_best.pt").is_file()
    assert (runs / f"{prefix}_stage1_aux" / "model" / "attention_unet_best.pt").is_file()
    # SCM starts from the two stage-1 checkpoints named in the config
    _train(tmp_path, name, f"{prefix}_scm.cfg",
           "--set", "noisy_label_learning.monitor_interval=2")
    assert any((runs / f"{prefix}_scm" / "model").glob("*.pt"))
