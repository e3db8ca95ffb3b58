"""What the stage-1 objective hands the losses for the paper's settings: the image's voxel
size (MultiViewCRFLoss_spacing = image) and the true volume (OracleLabel, Table II)."""
import numpy as np
import pytest
import SimpleITK as sitk
import torch

from pymic_paseg.losses import multiview_crf_loss, size_constraint_loss
from pymic_paseg.objectives.stage1 import Stage1Objective, Stage1Settings
from pymic_paseg.transforms import OracleLabel, ValidRegionMask
from pymic_paseg.transforms.oracle_label import oracle_volume_from_label


def _batch(seed=0, label=None):
    g = torch.Generator().manual_seed(seed)
    image = torch.randn((2, 1, 4, 6, 6), generator=g, dtype=torch.float64)
    logits = torch.randn((2, 2, 4, 6, 6), generator=g, dtype=torch.float64)
    partial = torch.randint(0, 3, (2, 4, 6, 6), generator=g)
    target = torch.stack([(partial == 0), (partial == 1)], 1).to(torch.float64)
    weight = (partial < 2).to(torch.float64).unsqueeze(1)
    data = {"spacing": [torch.tensor([3.0, 3.0]), torch.tensor([1.0, 1.0]),
                        torch.tensor([1.0, 1.0])]}
    if label is not None:
        data["label"] = label
    return {"image": image, "label_prob": target, "pixel_weight": weight, "data": data}, logits


def test_spacing_from_the_batch_reaches_the_crf_loss():
    batch, logits = _batch()
    training = {"multiviewcrfloss_sigma_in_mm": True, "multiviewcrfloss_spacing": "image",
                "multiviewcrfloss_radius_mm": 3.0, "multiviewcrfloss_spatial_sigma": 2.0}
    objective = Stage1Objective(Stage1Settings(alpha=1.0, beta=0.0), training)
    got = objective.terms(batch, logits)["crf"]
    want = multiview_crf_loss(torch.softmax(logits, 1), batch["image"], radius=[1, 3, 3],
                              spatial_sigma=2.0, spacing=(3.0, 1.0, 1.0))
    assert got.item() == pytest.approx(want.item(), rel=1e-10)
    voxels = multiview_crf_loss(torch.softmax(logits, 1), batch["image"], radius=3,
                                spatial_sigma=2.0)
    assert abs(voxels.item() - got.item()) > 1e-6


def _write(path, array):
    sitk.WriteImage(sitk.GetImageFromArray(array), str(path))


def test_oracle_label_gives_the_size_loss_the_true_volume(tmp_path):
    truth = np.zeros((4, 6, 6), np.uint8)
    truth[1:3, 2:5, 1:4] = 1                                           # 18 voxels
    _write(tmp_path / "truth.nii.gz", truth)
    (tmp_path / "dense.csv").write_text("image,label\nimg.nii.gz,truth.nii.gz\n")
    params = {"oraclelabel_csv": str(tmp_path / "dense.csv"), "train_dir": str(tmp_path),
              "task": "segmentation"}
    image = np.random.default_rng(0).normal(size=(1, 4, 6, 6)).astype(np.float32)
    partial = np.full((1, 4, 6, 6), 2, np.float32)
    sample = {"image": image, "label": partial, "names": ["img.nii.gz", "p.nii.gz"]}
    sample = OracleLabel(params)(ValidRegionMask({"task": "segmentation"})(sample))
    assert sample["label"].shape == (3, 4, 6, 6)
    np.testing.assert_array_equal(sample["label"][2], truth)
    # without ValidRegionMask Ω_M (channel 1) is everything
    bare = OracleLabel(params)({"image": image, "label": partial.copy(), "names": ["img.nii.gz"]})
    assert bare["label"][1].all()
    label = torch.from_numpy(np.stack([sample["label"]] * 2)).double()
    label[1, 2, 1] = 0                                                 # item 1: 9 voxels
    assert oracle_volume_from_label(label, 2).tolist() == [[144 - 18, 18], [144 - 9, 9]]
    batch, logits = _batch(label=label)
    training = {"sizeconstraintloss_target": "box"}
    settings = Stage1Settings(alpha=0.0, beta=0.0, extra=(("SizeConstraintLoss", 1.0),))
    got = Stage1Objective(settings, training).terms(batch, logits)["SizeConstraintLoss"]
    want = size_constraint_loss(torch.softmax(logits, 1),
                                torch.tensor([[126, 18], [135, 9]]), 0.9, 1.1)
    assert got.item() == pytest.approx(want.item(), rel=1e-12)
    assert oracle_volume_from_label(label[:, :2], 2) is None


def test_oracle_label_errors(tmp_path):
    (tmp_path / "dense.csv").write_text("image,label\nother.nii.gz,t.nii.gz\n")
    transform = OracleLabel({"oraclelabel_csv": str(tmp_path / "dense.csv"), "task": "seg"})
    sample = {"image": np.zeros((1, 2, 2, 2)), "label": np.zeros((1, 2, 2, 2)),
              "names": ["img.nii.gz"]}
    with pytest.raises(ValueError, match=r"image img.nii.gz is not listed in \[dataset\] "
                                         r"OracleLabel_csv"):
        transform(sample)
    with pytest.raises(Exception, match="OracleLabel_csv"):
        OracleLabel({"oraclelabel_csv": str(tmp_path / "missing.csv"), "task": "seg"})
