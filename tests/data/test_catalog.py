"""The demo dataset's CSV files and manifest, read back with csv and json."""
import csv
import json

from pymic_paseg.data.catalog import CaseRecord, write_csv_files, write_manifest


def _record(index, split):
    name = f"case_{index:03d}"
    return CaseRecord(name, index, split, f"images/{name}.nii.gz", f"labels/{name}.nii.gz",
                      f"masks/{name}.nii.gz", 100 + index, 0.1 * index, (1, 2, 3),
                      (-1.5, 2.0, 3.25), (0.5, 0.0, -1.0))


def _read(path):
    with open(path, newline="") as handle:
        return list(csv.reader(handle))


def test_each_split_gets_its_pymic_csv_and_an_empty_split_a_header(tmp_path):
    records = [_record(0, "train"), _record(1, "test"), _record(2, "train")]
    paths = write_csv_files(tmp_path, records)
    assert _read(paths["train"]) == [["image", "label"],
                                     ["images/case_000.nii.gz", "labels/case_000.nii.gz"],
                                     ["images/case_002.nii.gz", "labels/case_002.nii.gz"]]
    assert _read(paths["valid"]) == [["image", "label"]]
    assert _read(paths["train_images"]) == [["image"], ["images/case_000.nii.gz"],
                                            ["images/case_002.nii.gz"]]
    assert _read(paths["test_eval_pairs"]) == [["ground_truth", "segmentation"],
                                               ["labels/case_001.nii.gz", "case_001.nii.gz"]]
    rows = _read(paths["all"])
    assert rows[0] == ["case", "image", "label", "mask", "split"]
    assert [r[0] for r in rows[1:]] == ["case_000", "case_001", "case_002"]
    assert [r[4] for r in rows[1:]] == ["train", "test", "train"]
    assert not list(tmp_path.glob(".tmp-*"))


def test_manifest_holds_the_header_and_every_record(tmp_path):
    records = [_record(0, "train"), _record(1, "valid")]
    path = write_manifest(tmp_path, {"seed": 7, "version": 2}, records)
    document = json.loads(path.read_text())
    assert document["seed"] == 7 and document["version"] == 2
    assert [c["case"] for c in document["cases"]] == ["case_000", "case_001"]
    assert document["cases"][1]["origin_xyz"] == [-1.5, 2.0, 3.25]
    assert document["cases"][1]["lesion_volume_ml"] == 0.1
