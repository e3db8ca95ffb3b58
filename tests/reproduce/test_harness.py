"""The reproduction harness: rows end to end on a tiny preset, resume, tables, t-test."""
import json
import math
import subprocess
import sys

import numpy as np
import pytest

from pymic_paseg.reproduce import ROWS, rows_for
from pymic_paseg.reproduce.summary import paired_p


def test_every_table_row_and_its_dependencies_are_planned_in_order():
    keys = [r.key for r in rows_for(("III",))]
    assert keys.index("I_mcrf_vm") < keys.index("III_scm_05")
    assert keys.index("aux_stage1") < keys.index("III_scm_05")
    assert {r.table for r in ROWS} == {"I", "II", "III", ""}
    only = [r.key for r in rows_for(("I", "II", "III"), ("III_scm_05",))]
    assert only == ["I_mcrf_vm", "aux_stage1", "III_scm_05"]


def test_paired_t_test_matches_the_textbook_formula():
    a = {"cases": [{"case": f"c{i}", "dice": d} for i, d in enumerate([0.8, 0.85, 0.9, 0.7])]}
    b = {"cases": [{"case": f"c{i}", "dice": d} for i, d in enumerate([0.78, 0.8, 0.91, 0.6])]}
    diff = np.array([0.02, 0.05, -0.01, 0.1])
    t = diff.mean() / (diff.std(ddof=1) / math.sqrt(len(diff)))
    from scipy.stats import t as student
    expected = 2 * student.sf(abs(t), df=len(diff) - 1)
    assert paired_p(a, b) == pytest.approx(expected, rel=1e-9)
    assert paired_p(a, a) is None and paired_p(a, {"error": "x"}) is None


@pytest.mark.slow
def test_tiny_preset_rows_produce_numbers_and_resume_skips_them(tmp_path):
    out = tmp_path / "rep"
    cmd = [sys.executable, "-m", "pymic_paseg.cli", "reproduce", "--preset", "tiny", "--out",
           str(out), "--rows", "I_psup,III_scm_05", "--device", "cpu"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=1500)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for key in ("I_psup", "I_mcrf_vm", "aux_stage1", "III_scm_05"):
        cases = json.loads((out / "rows" / key / "result.json").read_text())["cases"]
        assert cases and all(0 <= c["dice"] <= 1 and c["assd"] >= 0 for c in cases)
    table = (out / "tables" / "results.md").read_text()
    assert "Table I" in table and "SCM, lambda = 0.5" in table and "failed" not in table
    assert (out / "tables" / "results.csv").read_text().count("\n") == 4  # header + 3 rows
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0
    assert again.stdout.count("done before: skipped") == 4


def test_bad_arguments_are_usage_errors():
    cli = [sys.executable, "-m", "pymic_paseg.cli", "reproduce"]
    result = subprocess.run([*cli, "--tables", "IV"], capture_output=True, text=True)
    assert result.returncode == 2 and "subset of I, II, III" in result.stderr
    result = subprocess.run([*cli, "--rows", "nope"], capture_output=True, text=True)
    assert result.returncode == 2 and "unknown row(s) ['nope']" in result.stderr
