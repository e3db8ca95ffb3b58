"""`pymic_run prepare` end to end on ten tiny NIfTI cases with several Slicer files each."""
from __future__ import annotations

import csv
import re
import gzip
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from prepare_data import make_folder

from pymic_paseg.cli import build_parser, main
from pymic_paseg.project import load_project


def _squeezed(text):
    """Config text with the spacing around ``=`` made one space (the templates align it)."""
    return re.sub(r"[ \t]*=[ \t]*", " = ", text)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    return make_folder(tmp_path_factory.mktemp("src"))


def _copy(source, tmp_path):
    out = {}
    for key, folder in source.items():
        out[key] = tmp_path / key
        shutil.copytree(folder, out[key])
    return out


def _rows(path: Path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _array(path: Path) -> np.ndarray:
    return sitk.GetArrayFromImage(sitk.ReadImage(str(path)))


def _case_list(path: Path, cases):
    path.write_text("case\n" + "\n".join(cases) + "\n")
    return str(path)


def test_ten_cases_several_files_each(source, tmp_path, capsys, monkeypatch):
    out = tmp_path / "project"
    code = main(["prepare", str(source["images"]), "--clicks", str(source["clicks"]),
                 "--labels", str(source["labels"]), "--out", str(out), "--split", "0.6,0.2,0.2",
                 "--quiet"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert f"next: pymic_run pipeline {out}" in printed
    project = load_project(out)
    assert project.classes == {1: "foreground"} and project.class_num == 2
    assert [t.key for t in project.trainings] == ["stage1", "stage1_aux", "scm"]
    splits = {r["case"]: r["split"] for r in _rows(out / "splits.csv")}
    train = sorted(c for c, s in splits.items() if s == "train")
    assert len(train) == 6 and sorted(splits.values()).count("valid") == 2
    # several files per case merged: two objects, 7 clicks each
    clicks = _rows(out / "data" / "clicks.csv")
    for case in train:
        objects = {}
        for row in clicks:
            if row["case"] == case:
                objects.setdefault(row["object"], []).append(row["role"])
        assert sorted(objects) == ["lesion1", "lesion2"]
        assert all(sorted(r) == ["background"] * 6 + ["foreground"] for r in objects.values())
    # the partial labels: one per training case, 0/1/unlabeled(2); foreground inside the lesions
    partial = _rows(out / project.partial_csv)
    assert sorted(Path(r["label"]).name for r in partial) == [f"{c}.nii.gz" for c in train]
    for row in partial:
        case = Path(row["image"]).name.split(".")[0]
        seeds = _array(out / "data" / row["label"])
        truth = _array(source["labels"] / f"{case}_seg.nii.gz")
        assert set(np.unique(seeds)) <= {0, 1, 2} and (seeds == 1).any()
        assert (truth[seeds == 1] == 1).mean() > 0.8
        assert (truth[seeds == 0] == 0).mean() > 0.99
    assert len(list((out / "expansion" / "qc").glob("*.png"))) == 6
    # the recorded expand arguments parse as `pymic_run expand` arguments
    monkeypatch.chdir(out)
    args = build_parser().parse_args(["expand", *project.expand])
    assert (args.csv, args.clicks_csv, args.out_csv) == (
        "data/train_clicks.csv", "data/clicks.csv", project.partial_csv)
    assert args.class_num == 2 and args.qc == 10 and args.mask_threshold == "0.0"
    # every path a config names exists (except the checkpoints and outputs still to come)
    for training in project.trainings:
        text = (out / training.config).read_text()
        for key in ("train_csv", "valid_csv", "test_csv"):
            line = next(x for x in text.splitlines() if x.startswith(key))
            assert (out / line.split("=")[1].strip()).is_file(), line
        assert "patch_size = [16, 32, 32]" in _squeezed(text)
        assert "MultiViewCRFLoss_spacing = [2, 0.8, 0.9]" in _squeezed(text)
        assert "MultiViewCRFLoss_spatial_sigma = 4.8" in _squeezed(text)  # 6 voxels x 0.8 mm
    pairs = _rows(out / project.eval_pairs_csv)
    assert sorted(p["segmentation"] for p in pairs) == sorted(
        f"{c}.nii.gz" for c, s in splits.items() if s == "test")
    assert _rows(out / "prepare_report.csv") == []


def test_dense_labels_of_training_cases_are_never_read(source, tmp_path, capsys):
    data = _copy(source, tmp_path)
    valid, test = ["pat00", "pat01"], ["pat02"]
    for case in ["pat03", "pat04", "pat05", "pat06", "pat07", "pat08", "pat09"]:
        (data["labels"] / f"{case}_seg.nii.gz").write_bytes(b"not an image")  # would fail
    out = tmp_path / "project"
    code = main(["prepare", str(data["images"]), "--clicks", str(data["clicks"]),
                 "--labels", str(data["labels"]), "--out", str(out), "--quiet",
                 "--valid-csv", _case_list(tmp_path / "v.csv", valid),
                 "--test-csv", _case_list(tmp_path / "t.csv", test)])
    assert code == 0, capsys.readouterr()
    assert sorted(p.name for p in (out / "data" / "labels").iterdir()) == [
        f"{c}.nii.gz" for c in valid + test]
    assert not (out / "expansion" / "metrics.csv").exists()  # no ground truth in expansion
    everything = "".join(p.read_text() for p in out.rglob("*.csv")) + \
        "".join(p.read_text() for p in (out / "configs").iterdir())
    for case in ["pat03", "pat09"]:
        assert f"labels/{case}" not in everything
    assert len(_rows(out / "data" / "train_partial.csv")) == 7


def test_bad_cases_are_listed_and_the_rest_is_prepared(source, tmp_path, capsys):
    data = _copy(source, tmp_path)
    (data["clicks"] / "pat01_lesion2_bg.mrk.json").unlink()            # 1 fg, 0 bg
    doc = json.loads((data["clicks"] / "pat02_lesion1.mrk.json").read_text())
    doc["markups"][0]["controlPoints"][3]["position"] = [500.0, 500.0, 500.0]
    (data["clicks"] / "pat02_lesion1.mrk.json").write_text(json.dumps(doc))  # outside
    image = data["images"] / "pat03.nii.gz"
    image.write_bytes(gzip.compress(gzip.decompress(image.read_bytes())[:-500]))  # truncated
    for path in data["clicks"].glob("pat04*"):
        path.unlink()                                                   # no clicks: test case
    (data["clicks"] / "nobody_lesion1.mrk.json").write_text("{}")      # no such case
    out = tmp_path / "project"
    code = main(["prepare", str(data["images"]), "--clicks", str(data["clicks"]),
                 "--out", str(out), "--quiet", "--split", "1,0,0"])
    err = capsys.readouterr().err
    assert code == 1
    report = _rows(out / "prepare_report.csv")
    steps = {(r["case"], r["step"]) for r in report}
    assert steps == {("pat01", "validation"), ("pat02", "validation"), ("pat03", "image")}
    problems = {r["case"]: r["problem"] for r in report}
    assert "0 background clicks" in problems["pat01"]
    assert "outside the image" in problems["pat02"]
    assert "truncated" in problems["pat03"]
    for case in ("pat01", "pat02", "pat03"):
        assert case in err
    assert "ignored (no image of its case): " in err and "nobody_lesion1.mrk.json" in err
    train = [Path(r["image"]).name for r in _rows(out / "data" / "train_partial.csv")]
    assert train == [f"pat{i:02d}.nii.gz" for i in (0, 5, 6, 7, 8, 9)]
    assert [r["image"] for r in _rows(out / "data" / "test.csv")] == ["images/pat04.nii.gz"]
    project = load_project(out)
    assert project.eval_pairs_csv is None  # no labels, nothing to score
    assert "valid_csv" not in (out / "configs" / "stage1.cfg").read_text()
    assert "unet2d5_400.pt" in (out / "configs" / "scm.cfg").read_text()  # no best without valid


def test_several_classes_become_class_num_k_plus_one(source, tmp_path, capsys):
    data = _copy(source, tmp_path)
    for path in data["clicks"].glob("*_lesion2_*.mrk.json"):
        doc = json.loads(path.read_text())
        for point in doc["markups"][0]["controlPoints"]:
            point["description"] += " class=2"
        path.write_text(json.dumps(doc))
    out = tmp_path / "project"
    code = main(["prepare", str(data["images"]), "--clicks", str(data["clicks"]),
                 "--labels", str(data["labels"]), "--out", str(out), "--split", "0.6,0.2,0.2",
                 "--class-names", "1=lesion,2=cyst", "--quiet"])
    assert code == 0, capsys.readouterr()
    project = load_project(out)
    assert project.classes == {1: "lesion", 2: "cyst"} and project.class_num == 3
    for key in ("stage1", "stage1_aux", "scm"):
        text = (out / "configs" / f"{key}.cfg").read_text()
        assert "class_num = 3" in _squeezed(text), key
    assert "label_list = [1, 2]" in _squeezed((out / "configs" / "eval_stage1.cfg").read_text())
    # the expansion writes each object's class; unlabeled is class_num = 3
    values = set()
    for row in _rows(out / "data" / "train_partial.csv"):
        values |= set(np.unique(_array(out / "data" / row["label"])).tolist())
    assert {0, 1, 2, 3} <= values <= {0, 1, 2, 3}


def test_help_shows_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["prepare", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: auto)" in text and "(default: 10)" in text and "(default: 0)" in text


def test_nifti_click_maps_and_their_class_table(source, tmp_path, capsys):
    from pymic_paseg.annotation import write_click_map
    from pymic_paseg.annotation.case_files import read_case_files
    maps = tmp_path / "maps"
    maps.mkdir()
    for image in sorted(source["images"].iterdir()):
        case = image.name.split(".")[0]
        files = sorted(source["clicks"].glob(f"{case}_*.mrk.json"))
        write_click_map(read_case_files(files, image, case), maps / f"{case}_clicks.nii.gz",
                        encoding="instance")
    out = tmp_path / "project"
    assert main(["prepare", str(source["images"]), "--clicks", str(maps), "--out", str(out),
                 "--split", "1,0,0", "--no-expand", "--quiet"]) == 0, capsys.readouterr()
    rows = _rows(out / "data" / "clicks.csv")
    assert len(rows) == 10 * 14 and {r["object"] for r in rows} == {"1", "2"}
    table = tmp_path / "classes.csv"
    table.write_text("case,object,label\npat00,2,2\n")
    code = main(["prepare", str(source["images"]), "--clicks", str(maps), "--out",
                 str(tmp_path / "p2"), "--object-classes", str(table), "--no-expand", "--quiet"])
    assert code == 0, capsys.readouterr()
    assert load_project(tmp_path / "p2").classes == {1: "class_1", 2: "class_2"}
    rows = _rows(tmp_path / "p2" / "data" / "clicks.csv")
    assert {r["label"] for r in rows if r["case"] == "pat00" and r["object"] == "2"} == {"2"}
    assert {r["label"] for r in rows if r["case"] != "pat00"} == {"1"}


@pytest.mark.slow
def test_prepared_configs_pass_pymic_run_check(source, tmp_path, capsys, monkeypatch):
    out = tmp_path / "project"
    assert main(["prepare", str(source["images"]), "--clicks", str(source["clicks"]),
                 "--labels", str(source["labels"]), "--out", str(out), "--quiet",
                 "--split", "0.6,0.2,0.2"]) == 0
    monkeypatch.chdir(out)
    capsys.readouterr()
    for name in ("stage1", "stage1_aux"):
        assert main(["check", f"configs/{name}.cfg"]) == 0, capsys.readouterr().err
    assert main(["check", "configs/scm.cfg"]) == 2  # the stage-1 checkpoints come later
    faults = [line for line in capsys.readouterr().err.splitlines() if "fault(s)" not in line]
    assert faults and all("checkpoint" in line for line in faults), faults
