"""Two lesion classes end to end on tiny data: two_class demo data -> simulated clicks ->
expansion (class_num 3) -> a few stage-1 iterations (class_num 3) -> inference ->
PyMIC's Dice and ASSD for each class. About 17 s on the shared 2-core box, so not
marked slow."""
import csv

import numpy as np
import SimpleITK as sitk

from pymic_paseg.cli import main
from pymic_paseg.demo.pipeline import copy_configs, preset_classes
from pymic_paseg.evaluation import evaluate_case

ITERATIONS = 4


def _rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _array(path):
    image = sitk.ReadImage(str(path))
    return sitk.GetArrayFromImage(image), image.GetSpacing()[::-1]


def test_two_class_data_clicks_expansion_stage1_inference_per_class_scores(tmp_path,
                                                                          monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert preset_classes("two_class") == 2 and preset_classes("demo") == 1
    assert main(["demo-data", "demo_data", "--cases", "4", "--preset", "two_class",
                 "--quiet"]) == 0
    data = tmp_path / "demo_data"
    for row in _rows(data / "all.csv"):
        assert set(np.unique(_array(data / row["label"])[0])) == {0, 1, 2}
    assert main(["clicks", "demo_data", "--csv", "demo_data/train.csv",
                 "--out", "demo_data/clicks"]) == 0
    clicks = _rows(data / "clicks" / "clicks.csv")
    first = (data / clicks[0]["clicks"]).read_text().splitlines()
    assert first[0].endswith(",label") and {line.rsplit(",", 1)[1] for line in first[1:]} == {
        "1", "2"}
    # binary settings refuse the two-class clicks instead of making them class 1
    assert main(["expand", "demo_data", "--csv", "demo_data/train.csv", "--clicks",
                 "demo_data/clicks", "--out", "demo_data/p2", "--out-csv", "demo_data/p2.csv",
                 "--class-num", "2"]) != 0
    assert main(["expand", "demo_data", "--csv", "demo_data/train.csv", "--clicks",
                 "demo_data/clicks", "--out", "demo_data/partial", "--out-csv",
                 "demo_data/train_partial.csv", "--metrics", "demo_data/metrics.csv",
                 "--class-num", "3"]) == 0
    for row in _rows(data / "train_partial.csv"):
        assert set(np.unique(_array(data / row["label"])[0])) == {0, 1, 2, 3}
    assert {"fg1_dice", "fg2_dice", "conflict_fraction"} <= set(_rows(data / "metrics.csv")[0])

    configs = copy_configs(tmp_path, preset_classes("two_class"))
    overrides = [f"training.iter_max={ITERATIONS}", "training.iter_valid=2",
                 "training.iter_save=2", "dataset.patch_size=[16,32,32]"]
    args = [arg for item in overrides for arg in ("--set", item)]
    assert main(["train", str(configs / "demo_stage1.cfg"), *args, "--device", "cpu"]) == 0
    assert main(["test", str(configs / "demo_stage1.cfg"), "--device", "cpu"]) == 0

    for pair in _rows(data / "test_eval_pairs.csv"):
        truth, spacing = _array(data / pair["ground_truth"])
        seg, _ = _array(tmp_path / "runs" / "demo_stage1" / "prediction" / pair["segmentation"])
        assert set(np.unique(seg)) <= {0, 1, 2}
        rows = evaluate_case(seg, truth, spacing, {1: "bright", 2: "dark"})
        assert [r["class"] for r in rows] == [1, 2]
        assert all(0.0 <= r["dice"] <= 1.0 and 0.0 <= r["assd"] <= 20.0 for r in rows)
