"""`pymic_run expand --shard I/N`, skipping finished cases, and `--merge N`."""
import csv
import os

import pytest

from pymic_paseg.annotation.batch import DatasetRow
from pymic_paseg.annotation.simulate_batch import simulate_dataset
from pymic_paseg.config import ConfigError
from pymic_paseg.data import DemoConfig, build_demo_dataset
from pymic_paseg.expansion.shards import Shard, parse_shard, shard_file


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo_shards")
    demo = build_demo_dataset(root, DemoConfig(n_cases=3, n_valid=1, n_test=1), progress=False)
    simulate_dataset(str(root), str(demo.csv["all"]), str(root / "clicks"), progress=False)
    return demo


def _rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_shards_split_every_row_once_in_a_fixed_way():
    rows = [DatasetRow(i, f"c{i}", {"image": f"c{i}.nii.gz"}) for i in range(10)]
    shards = [Shard(i, 3).take(rows) for i in range(3)]
    assert [[r.index for r in s] for s in shards] == [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]
    assert parse_shard("2/3") == Shard(2, 3)
    assert shard_file("/a/train.csv", Shard(2, 3)) == "/a/train.shard2of3.csv"
    for bad in ("3/3", "-1/3", "1", "a/b", "0/0"):
        with pytest.raises(ConfigError, match=f"--shard {bad}"):
            parse_shard(bad)


def test_shards_then_merge_equal_one_run_and_rerun_skips_done(data, tmp_path, capsys):
    from pymic_paseg.cli import main
    common = [str(data.root), "--csv", str(data.csv["all"]), "--clicks",
              str(data.root / "clicks"), "--epsilon", "0.2", "--quiet"]
    assert main(["expand", *common, "--out", str(tmp_path / "ref"),
                 "--out-csv", str(tmp_path / "ref.csv")]) == 0
    out = ["--out", str(tmp_path / "p"), "--out-csv", str(tmp_path / "train.csv")]
    for index in range(2):
        assert main(["expand", *common, *out, "--shard", f"{index}/2"]) == 0
    assert [r["image"] for r in _rows(tmp_path / "train.shard1of2.csv")] == [data.cases[1].image]
    assert not (tmp_path / "train.csv").exists()
    capsys.readouterr()
    assert main(["expand", *common, *out, "--merge", "2"]) == 0
    assert "merged 2 shard(s): 3 case(s)" in capsys.readouterr().out
    merged, ref = _rows(tmp_path / "train.csv"), _rows(tmp_path / "ref.csv")
    assert [r["image"] for r in merged] == [r["image"] for r in ref] == \
        [c.image for c in data.cases]
    assert [os.path.basename(r["label"]) for r in merged] == \
        [os.path.basename(r["label"]) for r in ref]
    merged_metrics = _rows(tmp_path / "p" / "metrics.csv")
    ref_metrics = _rows(tmp_path / "ref" / "metrics.csv")
    assert merged_metrics[:-1] == ref_metrics[:-1]  # per case: the same rounded figures
    # the merged mean is taken over the shards' rounded per-case figures: equal to rounding
    assert merged_metrics[-1]["case"] == ref_metrics[-1]["case"] == "mean"
    assert merged_metrics[-1].keys() == ref_metrics[-1].keys()
    for key in ref_metrics[-1].keys() - {"case"}:
        assert abs(float(merged_metrics[-1][key]) - float(ref_metrics[-1][key])) <= 2e-6, key

    # a second run of shard 0 expands nothing; a corrupt label is expanded again
    labels = sorted((tmp_path / "p").glob("*.nii.gz"))
    first = labels[0]
    stamp = {p: p.stat().st_mtime_ns for p in labels}
    third = tmp_path / "p" / os.path.basename(merged[2]["label"])
    third.write_bytes(third.read_bytes()[:100])  # shard 0 holds rows 0 and 2
    capsys.readouterr()
    assert main(["expand", *common, *out, "--shard", "0/2"]) == 0
    text = capsys.readouterr().out
    assert "expanded 2/2 case(s)" in text
    assert first.stat().st_mtime_ns == stamp[first], "a finished case is not redone"
    assert third.stat().st_mtime_ns != stamp[third]
    assert _rows(tmp_path / "train.shard0of2.csv") == [merged[0], merged[2]]
    # other settings into the same folder are refused, so old labels are never taken as done
    common[common.index("0.2")] = "0.3"
    assert main(["expand", *common, *out, "--shard", "0/2"]) == 2
    assert "were made with other settings" in capsys.readouterr().err


def test_merge_names_a_missing_shard(data, tmp_path, capsys):
    from pymic_paseg.cli import main
    args = ["expand", str(data.root), "--csv", str(data.csv["all"]), "--out", str(tmp_path / "p"),
            "--out-csv", str(tmp_path / "train.csv"), "--merge", "3"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'train.shard0of3.csv'} not found" in err
