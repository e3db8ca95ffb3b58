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
    # rows that train on the pseudo labels bring the first stage that makes them
    for key in ("III_co_teaching", "III_trinet", "III_cps"):
        assert [r.key for r in rows_for(("III",), (key,))] == ["I_mcrf_vm", key]


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
def test_tiny_preset_every_row_produces_numbers_and_resume_skips_them(tmp_path):
    out = tmp_path / "rep"
    cmd = [sys.executable, "-m", "pymic_paseg.cli", "reproduce", "--preset", "tiny", "--out",
           str(out), "--tables", "I,II,III", "--device", "cpu"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=3000)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    trained = [row for row in ROWS if not row.alias]
    for row in trained:
        data = json.loads((out / "rows" / row.key / "result.json").read_text())
        cases = data.get("cases")
        assert cases, (row.key, data)
        assert all(0 <= c["dice"] <= 1 and c["assd"] >= 0 for c in cases), row.key
    table = (out / "tables" / "results.md").read_text()
    assert "failed" not in table, table
    for title in ("Table I", "Table II", "Table III", "SCM, lambda = 0.5", "CPS (PyMIC)",
                  "size constraint", "tightness prior"):
        assert title in table, title
    shown = [row for row in ROWS if row.table]
    # header + one line per row shown in a table
    assert (out / "tables" / "results.csv").read_text().count("\n") == 1 + len(shown)
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0
    assert again.stdout.count("done before: skipped") == len(trained)


def test_bad_arguments_are_usage_errors_and_write_nothing(tmp_path):
    cli = [sys.executable, "-m", "pymic_paseg.cli", "reproduce"]
    result = subprocess.run([*cli, "--tables", "IV"], capture_output=True, text=True,
                            cwd=tmp_path)
    assert result.returncode == 2 and "subset of I, II, III" in result.stderr
    result = subprocess.run([*cli, "--rows", "nope"], capture_output=True, text=True,
                            cwd=tmp_path)
    assert result.returncode == 2 and "unknown row(s) ['nope']" in result.stderr
    assert list(tmp_path.iterdir()) == [], "no working folder for a bad command line"
