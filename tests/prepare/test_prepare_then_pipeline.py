"""Issue 12's path for a user's own data, end to end on tiny data: a folder of ten NIfTI
images with several Slicer ``.mrk.json`` files per case goes through ``pymic_run prepare``
and ``pymic_run pipeline`` to predictions and a report, with no file edited by hand."""
from __future__ import annotations

import csv

import numpy as np
import pytest
import SimpleITK as sitk
from prepare_data import make_folder

from pymic_paseg.cli import main
from pymic_paseg.project import load_project


@pytest.mark.slow  # three 4-iteration trainings and two inferences in this process
def test_slicer_clicks_to_predictions_and_report(tmp_path, capsys):
    source = make_folder(tmp_path / "src")
    out = tmp_path / "project"
    assert main(["prepare", str(source["images"]), "--clicks", str(source["clicks"]),
                 "--labels", str(source["labels"]), "--out", str(out), "--quiet",
                 "--split", "0.6,0.2,0.2", "--iterations", "4", "--qc", "1"]) == 0, \
        capsys.readouterr()
    assert f"pymic_run pipeline {out}" in capsys.readouterr().out
    project = load_project(out)
    assert main(["pipeline", str(out), "--device", "cpu"]) == 0, capsys.readouterr()

    with open(out / "data" / "test.csv", newline="") as handle:
        tests = [row["image"] for row in csv.DictReader(handle)]
    assert len(tests) == 2
    for training in project.trainings:
        if not training.evaluate:
            continue
        for image_path in tests:
            name = image_path.split("/")[-1]
            prediction = out / "runs" / training.key / "prediction" / name
            image = sitk.ReadImage(str(out / "data" / image_path))
            predicted = sitk.ReadImage(str(prediction))
            assert predicted.GetSize() == image.GetSize()
            np.testing.assert_allclose(predicted.GetSpacing(), image.GetSpacing(), rtol=1e-5)
            assert set(np.unique(sitk.GetArrayFromImage(predicted))) <= {0, 1}
    report = out / "report"
    with open(report / "per_case.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    scored = {training.key for training in project.trainings if training.evaluate}
    assert {row["method"] for row in rows} == scored and len(rows) == 2 * len(scored)
    assert all(0.0 <= float(row["dice"]) <= 1.0 for row in rows)
    for name in ("summary.md", "training_curves.png", "boxplot_dice.png"):
        assert (report / name).stat().st_size > 100, name
