"""Per-class evaluation (pymic_paseg.evaluation) and class-count config edits."""
import numpy as np
import pytest

from pymic_paseg.config import ConfigError
from pymic_paseg.config_classes import with_class_count
from pymic_paseg.evaluation import (as_classes, boundary_errors, case_summary, check_label_values,
                                    evaluate_case)


def _volumes():
    truth = np.zeros((6, 8, 8), np.uint8)
    truth[1:4, 1:4, 1:4] = 1          # 27 voxels of class 1
    truth[2:5, 5:7, 5:7] = 2          # 12 voxels of class 2
    seg = truth.copy()
    seg[1, 1:4, 1:4] = 0              # class 1: 18 of 27 found, nothing extra
    seg[2:5, 5:7, 4] = 2              # class 2: all found, 6 extra
    return seg, truth


def test_dice_per_class_by_hand_and_the_mean():
    seg, truth = _volumes()
    rows = evaluate_case(seg, truth, (1.0, 1.0, 1.0), {1: "a", 2: "b"})
    assert [(r["class"], r["class_name"]) for r in rows] == [(1, "a"), (2, "b")]
    assert rows[0]["dice"] == pytest.approx(2 * 18 / (18 + 27))
    assert rows[1]["dice"] == pytest.approx(2 * 12 / (18 + 12))
    summary = case_summary(rows)
    assert summary["dice"] == pytest.approx((rows[0]["dice"] + rows[1]["dice"]) / 2)
    assert summary["dice_2"] == rows[1]["dice"] and summary["assd_1"] == rows[0]["assd"]
    assert rows[0]["assd"] > 0


def test_binary_task_gives_pymics_label_1_figures():
    from pymic.util.evaluation_seg import get_class_evaluation_score
    seg, truth = _volumes()
    seg, truth = (seg == 1).astype(np.uint8), (truth == 1).astype(np.uint8)
    summary = case_summary(evaluate_case(seg, truth, [1.0, 2.0, 1.0], [1]))
    assert set(summary) == {"dice", "assd"}
    for metric in ("dice", "assd"):
        assert summary[metric] == get_class_evaluation_score(seg, truth, 1, [1.0, 2.0, 1.0],
                                                             metric)


def test_missing_and_perfect_classes_and_unknown_values():
    seg, truth = _volumes()
    seg[seg == 2] = 0
    rows = evaluate_case(truth, truth, None, [1, 2]) + evaluate_case(seg, truth, None, [1, 2])
    # PyMIC's Dice has a 1e-5 smoothing term; ASSD is 20 mm when one side is empty
    assert [r["dice"] for r in rows] == pytest.approx([1.0, 1.0, 0.8, 0.0], abs=1e-5)
    assert rows[3]["assd"] == 20.0
    with pytest.raises(ValueError, match=r"truth.nii.gz: label values \[2\] are not among the "
                                         r"classes \[1\]"):
        evaluate_case(seg, truth, None, [1], names=("seg.nii.gz", "truth.nii.gz"))
    with pytest.raises(ValueError, match="same shape"):
        evaluate_case(seg[:3], truth, None, [1, 2])
    with pytest.raises(ValueError, match="each >= 1"):
        as_classes([0, 1])
    check_label_values(truth, {1: "a", 2: "b"}, "ok")


CONFIG = """# comment: class_num = 2 stays
[dataset]
PartialLabelToProbability_class_num = 2
[network]
net_type  = UNet2D5
class_num    = 2
[network_auxiliary]
class_num = 2
[training]
iter_max = 10
[evaluation]
label_list  = [1]
"""


def test_class_count_edits_keys_and_keeps_the_rest():
    text = with_class_count(CONFIG, 2, "demo.cfg")
    assert text.splitlines() == [
        "# comment: class_num = 2 stays", "[dataset]",
        "PartialLabelToProbability_class_num = 3", "[network]", "net_type  = UNet2D5",
        "class_num    = 3", "[network_auxiliary]", "class_num = 3", "[training]",
        "iter_max = 10", "[evaluation]", "label_list  = [1, 2]"]
    assert with_class_count(CONFIG, 1) == CONFIG


@pytest.mark.parametrize("text, message", [
    ("[training]\niter_max = 3\n", "x.cfg: no key holds the class count"),
    ("[network]\nclass_num = 2\n[training]\nclass_weight = [1, 1]\n",
     r"x.cfg: \[training\] class_weight has one entry per class"),
])
def test_class_count_errors_name_the_file_and_key(text, message):
    with pytest.raises(ConfigError, match=message):
        with_class_count(text, 2, "x.cfg")


def _write(array, path):
    import SimpleITK as sitk
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(sitk.GetImageFromArray(array), str(path))


@pytest.mark.parametrize("labels", [{"0": "background", "1": "lesion"},
                                    {"0": "background", "1": "bright", "2": "dark"}])
def test_demo_report_scores_each_class_of_the_dataset(tmp_path, labels):
    import json

    from pymic_paseg.demo.pipeline import dataset_classes
    from pymic_paseg.pipeline.evaluation import evaluate_predictions
    from pymic_paseg.pipeline.report import ReportItem, format_table, summarise
    seg, truth = _volumes()
    if len(labels) == 2:
        seg, truth = (seg == 1).astype(np.uint8), (truth == 1).astype(np.uint8)
    data = tmp_path / "demo_data"
    _write(truth, data / "labels" / "c0.nii.gz")
    _write(seg, tmp_path / "pred" / "c0.nii.gz")
    (data / "dataset.json").write_text(json.dumps({"labels": labels}))
    (data / "test_eval_pairs.csv").write_text("ground_truth,segmentation\nlabels/c0.nii.gz,"
                                              "c0.nii.gz\n")
    item = ReportItem("m", "method", None, "", tmp_path / "pred")
    rows = [{"method": "m", **row} for row in evaluate_predictions(
        data / "test_eval_pairs.csv", data, tmp_path / "pred", dataset_classes(data))]
    table = format_table(summarise(rows, [item]))
    if len(labels) == 2:
        assert [r["class_name"] for r in rows] == ["lesion"]
        assert rows[0]["dice"] == pytest.approx(0.8, abs=1e-5) and "bright" not in table
    else:
        assert [r["class_name"] for r in rows] == ["bright", "dark"]
        assert rows[0]["dice"] == pytest.approx(0.8, abs=1e-5)
        assert rows[1]["dice"] == pytest.approx(0.8, abs=1e-5)
        assert "| method | bright | 0.800" in table and "| method | dark |" in table


def _brute_boundary_errors(seg, gt, width):
    """Each error voxel's distance to the other side, by checking every voxel pair."""
    coords = np.argwhere(np.ones(gt.shape, bool)).astype(float)
    flat_gt = gt.reshape(-1)

    def nearest(index, inside):
        d = np.sqrt(((coords[inside] - coords[index]) ** 2).sum(1))
        return d.min() if len(d) else np.inf
    fp = (seg & ~gt).reshape(-1)
    fn = (gt & ~seg).reshape(-1)
    fp_near = sum(nearest(i, flat_gt) <= width for i in np.flatnonzero(fp))
    fn_near = sum(nearest(i, ~flat_gt) <= width for i in np.flatnonzero(fn))
    return {"fp": int(fp.sum()), "fn": int(fn.sum()), "fp_near": int(fp_near),
            "fn_near": int(fn_near), "true_volume": int(gt.sum()), "volume": int(seg.sum())}


@pytest.mark.parametrize("width", [1.0, 1.5, 2.0])
def test_boundary_errors_match_brute_force(width):
    rng = np.random.default_rng(3)
    z, y, x = np.mgrid[:6, :7, :8]
    gt = (z - 3) ** 2 + (y - 3) ** 2 + (x - 4) ** 2 <= 5
    seg = (gt ^ (rng.random(gt.shape) < 0.15)).astype(np.uint8) * 2   # any non-zero value
    got = boundary_errors(seg, gt.astype(np.uint8), width)
    assert got == _brute_boundary_errors(seg != 0, gt, width)
    assert got["fp"] > got["fp_near"] > 0 and got["fn"] > 0   # both kinds occur


def test_boundary_errors_empty_truth_and_shape_mismatch():
    seg = np.zeros((3, 4, 4), np.uint8)
    seg[1, 1, 1] = 1
    assert boundary_errors(seg, np.zeros_like(seg)) == {
        "fp": 1, "fn": 0, "fp_near": 0, "fn_near": 0, "true_volume": 0, "volume": 1}
    with pytest.raises(ValueError, match="same shape"):
        boundary_errors(seg, np.zeros((3, 4, 5), np.uint8))
