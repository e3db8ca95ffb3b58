"""run_expansion and `pymic_run expand`: partial labels, CSVs, metrics, sweep, QC, failures."""
import csv
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import SimpleITK as sitk

from pymic_paseg.annotation import (FOREGROUND, CaseAnnotation, Click, ImageGeometry,
                                    ObjectAnnotation, read_annotation, write_click_map,
                                    write_csv_annotations)
from pymic_paseg.annotation.simulate_batch import simulate_dataset
from pymic_paseg.config import ConfigError
from pymic_paseg.data import DemoConfig, build_demo_dataset
from pymic_paseg.expansion import ExpansionParams, expand_seeds, expansion_metrics
from pymic_paseg.expansion.case_expansion import torch_threads
from pymic_paseg.expansion.report import METRIC_COLUMNS
from pymic_paseg.expansion.runner import ClickSource, ExpansionJob, run_expansion

CLI = [sys.executable, "-m", "pymic_paseg.cli"]
SWEEP = (0.1, 0.2, 0.3)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A 3-case demo dataset with simulated click maps in ROOT/clicks."""
    root = tmp_path_factory.mktemp("demo_expand")
    demo = build_demo_dataset(root, DemoConfig(n_cases=3, n_valid=1, n_test=1), progress=False)
    simulate_dataset(str(root), str(demo.csv["all"]), str(root / "clicks"), progress=False)
    return demo


@pytest.fixture(scope="module")
def expanded(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("expanded")
    summary = run_expansion(str(data.root), str(data.csv["all"]), str(out / "partial"),
                            str(out / "train.csv"),
                            job=ExpansionJob(ExpansionParams(rule="paper"), sweep=SWEEP),
                            source=ClickSource("dir", str(data.root / "clicks")), qc=1,
                            progress=False)
    return summary, out


def _rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _array(path):
    return sitk.GetArrayFromImage(sitk.ReadImage(str(path)))


def test_partial_labels_follow_eq2_on_the_image_grid(data, expanded):
    summary, out = expanded
    assert summary.failures == [] and len(summary.written) == 3
    for record in data.cases:
        path = out / "partial" / f"{record.case}.nii.gz"
        image = sitk.ReadImage(str(data.root / record.image))
        assert ImageGeometry.from_file(path).mismatches(ImageGeometry.from_image(image)) == []
        partial = _array(path)
        assert partial.dtype == np.uint8 and set(np.unique(partial)) <= {0, 1, 2}
        mask = _array(data.root / record.mask) != 0
        assert np.all(partial[~mask] == 0)
        case = read_annotation(data.root / "clicks" / f"{record.case}.nii.gz", image)
        obj = case.objects[0]
        (z0, y0, x0), (z1, y1, x1) = obj.box()
        inside = np.zeros(partial.shape, bool)
        inside[z0:z1 + 1, y0:y1 + 1, x0:x1 + 1] = True
        assert np.all(partial[~inside] == 0) and partial[obj.foreground.voxel] == 1
        # the runner adds nothing to expand_seeds: an independent direct call agrees
        np.testing.assert_array_equal(partial, _direct_expansion(data, record))


def test_training_and_metrics_csv(data, expanded):
    summary, out = expanded
    rows = _rows(out / "train.csv")
    assert list(rows[0]) == ["image", "label"]
    assert [r["image"] for r in rows] == [c.image for c in data.cases]
    for row, record in zip(rows, data.cases):  # relative to the root, as PyMIC joins them
        assert not os.path.isabs(row["label"]) and "\\" not in row["label"]
        assert os.path.samefile(f"{data.root}/{row['label']}",
                                out / "partial" / f"{record.case}.nii.gz")
    metrics = _rows(summary.metrics_csv)
    assert list(metrics[0]) == ["case", *METRIC_COLUMNS]
    assert [m["case"] for m in metrics] == ["case_000", "case_001", "case_002", "mean"]
    for m, record in zip(metrics, data.cases):
        expected = expansion_metrics(_array(out / "partial" / f"{record.case}.nii.gz"),
                                     _array(data.root / record.label), 2)
        for column in METRIC_COLUMNS:
            assert float(m[column]) == pytest.approx(expected[column], abs=1e-6)
    for column in METRIC_COLUMNS:
        assert float(metrics[-1][column]) == pytest.approx(
            np.mean([float(m[column]) for m in metrics[:-1]]), abs=1e-5)
    assert float(metrics[-1]["bg_precision"]) == 1.0  # boxes contain the whole lesion


def _direct_expansion(data, record, **kwargs):
    """expand_seeds called directly on one demo case (no runner code involved).

    One torch thread only for speed: the result does not depend on it.
    """
    image = sitk.ReadImage(str(data.root / record.image))
    obj = read_annotation(data.root / "clicks" / f"{record.case}.nii.gz", image).objects[0]
    with torch_threads(1):
        return expand_seeds(sitk.GetArrayFromImage(image), [obj.foreground.voxel], [obj.box()],
                            _array(data.root / record.mask) != 0,
                            ImageGeometry.from_image(image).spacing_zyx, **kwargs)


def test_sweep_matches_a_full_expansion_per_epsilon(data, expanded):
    summary, _ = expanded
    assert [e["epsilon"] for e in summary.sweep] == list(SWEEP)
    recalls = [e["fg_recall_mean"] for e in summary.sweep]
    assert recalls == sorted(recalls)
    for entry in summary.sweep:
        per_case = [expansion_metrics(_direct_expansion(data, rec, epsilon=entry["epsilon"]),
                                      _array(data.root / rec.label), 2) for rec in data.cases]
        for key in ("fg_precision", "fg_recall", "bg_recall"):
            assert entry[f"{key}_mean"] == pytest.approx(np.mean([m[key] for m in per_case]))
    sweep_csv, sweep_png = summary.sweep_files
    assert len(_rows(sweep_csv)) == len(SWEEP)
    assert open(sweep_png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert [p.split("/")[-1] for p in summary.qc_files] == ["case_000.png"]
    assert open(summary.qc_files[0], "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_click_column_and_shared_clicks_csv_give_the_same_labels(data, expanded, tmp_path):
    _, out = expanded
    run_expansion(str(data.root), str(data.root / "clicks" / "clicks.csv"), str(tmp_path / "a"),
                  str(tmp_path / "a.csv"), progress=False,
                  job=ExpansionJob(ExpansionParams(rule="paper")))
    cases = [read_annotation(data.root / "clicks" / f"{c.case}.nii.gz",
                             data.root / c.image, case_id=c.case) for c in data.cases]
    write_csv_annotations(cases, tmp_path / "clicks_world.csv", units="world")
    run_expansion(str(data.root), str(data.csv["all"]), str(tmp_path / "b"),
                  str(tmp_path / "b.csv"), progress=False, workers=2,
                  job=ExpansionJob(ExpansionParams(rule="paper")),
                  source=ClickSource("table", str(tmp_path / "clicks_world.csv")))
    for record in data.cases:
        reference = _array(out / "partial" / f"{record.case}.nii.gz")
        for folder in ("a", "b"):
            np.testing.assert_array_equal(_array(tmp_path / folder / f"{record.case}.nii.gz"),
                                          reference)


def _two_foreground_clicks(data, clicks_dir):
    """Give case_001's click map a second foreground click; return the case name."""
    record = data.cases[1]
    path = clicks_dir / f"{record.case}.nii.gz"
    case = read_annotation(path, None, case_id=record.case)
    obj = case.objects[0]
    extra = Click(tuple(v + 1 for v in obj.foreground.voxel), FOREGROUND)
    bad = ObjectAnnotation(obj.object_id, obj.clicks + (extra,))
    write_click_map(CaseAnnotation(case.case_id, (bad,), case.geometry), path)
    return record.case


def test_bad_case_reported_others_written_cli_exit_1(data, tmp_path, capsys):
    """`pymic_run expand` in-process (a subprocess would re-import torch and PyMIC)."""
    from pymic_paseg.cli import main
    clicks = tmp_path / "clicks"
    shutil.copytree(data.root / "clicks", clicks)
    bad = _two_foreground_clicks(data, clicks)
    (clicks / "case_002.nii.gz").unlink()
    code = main(["expand", str(data.root), "--csv", str(data.csv["all"]), "--clicks", str(clicks),
                 "--out", str(tmp_path / "partial"), "--out-csv", str(tmp_path / "train.csv"),
                 "--epsilon", "0.2", "--quiet"])
    out, err = capsys.readouterr()
    assert code == 1, err
    errors = [line for line in err.splitlines() if line.startswith("pymic_run expand")]
    assert len(errors) == 2
    assert f"{bad}: " in errors[0] and "2 foreground clicks" in errors[0]
    assert "case_002: " in errors[1] and "click file not found" in errors[1]
    assert sorted(p.name for p in (tmp_path / "partial").glob("*.nii.gz")) == ["case_000.nii.gz"]
    assert [r["image"] for r in _rows(tmp_path / "train.csv")] == [data.cases[0].image]
    assert [r["case"] for r in _rows(tmp_path / "partial" / "metrics.csv")] == ["case_000", "mean"]
    assert "expanded 1/3 case(s)" in out


def test_cli_config_error_exit_2(data, tmp_path, capsys):
    from pymic_paseg.cli import main
    code = main(["expand", str(data.root), "--csv", str(data.csv["all"]), "--out",
                 str(tmp_path / "p"), "--out-csv", str(tmp_path / "t.csv"), "--epsilon", "2"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == ("pymic_run: configuration error: [command line] "
                           "SeedExpansion_epsilon = 2: must be a number >= 0 and <= 1")


def _settings(argv):
    from pymic_paseg.cli import build_parser
    from pymic_paseg.commands import expansion_settings
    return expansion_settings(build_parser().parse_args(argv))


def test_settings_from_config_and_flags(tmp_path):
    cfg = tmp_path / "a.cfg"
    cfg.write_text("[dataset]\nSeedExpansion_epsilon = 0.3\nSeedExpansion_iterations = 2\n"
                   "[network]\nclass_num = 3\n")
    base = ["expand", str(tmp_path), "--csv", str(cfg), "--out", "o", "--out-csv", "o.csv"]
    params, class_num = _settings(base + ["--config", str(cfg), "--epsilon", "0.1"])
    assert params == ExpansionParams(epsilon=0.1, iterations=2) and class_num == 3
    assert _settings(base) == (ExpansionParams(), 2)
    assert _settings(base + ["--mask-threshold", "0"])[0].mask_threshold == 0.0
    assert _settings(base)[0].rule == "adaptive"
    assert _settings(base + ["--rule", "paper"])[0].rule == "paper"
    with pytest.raises(ConfigError, match=r"\[command line\] SeedExpansion_rule = 'papr'"):
        _settings(base + ["--rule", "papr"])
    with pytest.raises(ConfigError, match=r"\[command line\] SeedExpansion_lambda = 7: must be"):
        _settings(base + ["--lamb", "7"])
    cfg.write_text("[dataset]\nSeedExpansion_epsilom = 0.3\n")
    with pytest.raises(ConfigError, match=r"\[dataset\] seedexpansion_epsilom: unknown key. "
                                          r"Did you mean 'seedexpansion_epsilon'"):
        _settings(base + ["--config", str(cfg)])


def test_impossible_requests_are_config_errors(data, tmp_path):
    images_only = tmp_path / "images.csv"
    images_only.write_text(f"image\n{data.cases[0].image}\n")
    with pytest.raises(ConfigError, match="needs the dense ground truth"):
        run_expansion(str(data.root), str(images_only), str(tmp_path / "p"),
                      str(tmp_path / "t.csv"),
                      job=ExpansionJob(ExpansionParams(rule="paper"), sweep=(0.2,)),
                      source=ClickSource("dir", str(data.root / "clicks")), progress=False)
    with pytest.raises(ConfigError, match="sweep .* needs SeedExpansion_rule = paper"):
        run_expansion(str(data.root), str(data.csv["all"]), str(tmp_path / "p"),
                      str(tmp_path / "t.csv"), job=ExpansionJob(sweep=(0.2,)),
                      source=ClickSource("dir", str(data.root / "clicks")), progress=False)
    with pytest.raises(ConfigError, match="has no 'clicks' column"):
        run_expansion(str(data.root), str(data.root / "train.csv"), str(tmp_path / "p"),
                      str(tmp_path / "t.csv"), progress=False)
    clicks = ClickSource("dir", str(data.root / "clicks"))
    with pytest.raises(ConfigError, match="would replace the input file"):
        run_expansion(str(data.root), str(data.csv["all"]), str(data.root / "images"),
                      str(tmp_path / "t.csv"), source=clicks, progress=False)
    with pytest.raises(ConfigError, match="would replace the click maps"):
        run_expansion(str(data.root), str(data.csv["all"]), str(data.root / "clicks"),
                      str(tmp_path / "t.csv"), source=clicks, progress=False)


@pytest.mark.parametrize("extra, message", [
    ((), "the following arguments are required: --out, --out-csv"),
    (("--out", "o", "--out-csv", "o.csv", "--sweep", "0.1,x"), "must be comma-separated numbers"),
    (("--out", "o", "--out-csv", "o.csv", "--sweep", "1.5"), "in [0, 1]"),
    (("--out", "o", "--out-csv", "o.csv", "--qc", "-1"), "must be an integer >= 0"),
    (("--out", "o", "--out-csv", "o.csv", "--clicks", "d", "--clicks-csv", "c.csv"),
     "not allowed with argument --clicks"),
    (("--out", "o", "--out-csv", "o.csv", "--config", "no/such.cfg"), "file not found"),
])
def test_cli_usage_errors_are_one_line_exit_2(extra, message, tmp_path):
    result = subprocess.run([*CLI, "expand", str(tmp_path), "--csv", __file__, *extra],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_click_maps_are_refused_for_several_classes_not_made_class_1(data, tmp_path):
    summary = run_expansion(str(data.root), str(data.csv["all"]), str(tmp_path / "partial"),
                            str(tmp_path / "train.csv"), job=ExpansionJob(class_num=3),
                            source=ClickSource("dir", str(data.root / "clicks")),
                            progress=False)
    assert summary.written == [] and len(summary.failures) == 3
    assert "a click map gives no object class, so it cannot be expanded for class_num = 3" in \
        str(summary.failures[0])
