"""The reproduction harness: planning, resume and tables without training; one row per
agent family end to end on the tiny preset (slow)."""
import csv
import json
import math
import subprocess
import sys

import numpy as np
import pytest

from pymic_paseg.demo.pipeline import DemoStepError
from pymic_paseg.reproduce import ROWS, Reproduction, rows_for
from pymic_paseg.reproduce.rows import AUX, PSEUDO_CSV, ROW_BY_KEY, STAGE1
from pymic_paseg.reproduce.summary import paired_p


def family(row):
    """The kind of agent a row trains (None for a row that reuses another's results)."""
    sets = " ".join(row.sets)
    if row.alias:
        return None
    if "supervise_type=semi_sup" in sets:
        return "PyMIC SSL (CPS)"
    if "supervise_type=noisy_label" in sets:
        return "PyMIC NLL"
    if row.config == "demo_scm":
        return "SCM"
    if "weakly_supervised_learning.method_name=" in sets:
        return "PyMIC WSL (wrapped)"
    if row.config == "demo_fullsup":
        return "full supervision"
    return "stage 1"


def representatives():
    """One table row per agent family; for stage 1 the row the second stages need anyway."""
    chosen = {"stage 1": STAGE1}
    for row in ROWS:
        kind = family(row)
        if kind and row.table and kind not in chosen:
            chosen[kind] = row.key
    return chosen


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


def test_the_families_cover_every_trained_row_and_all_six_kinds():
    chosen = representatives()
    assert set(chosen) == {"full supervision", "stage 1", "PyMIC WSL (wrapped)", "SCM",
                           "PyMIC NLL", "PyMIC SSL (CPS)"}
    for kind, key in chosen.items():
        assert family(ROW_BY_KEY[key]) == kind and ROW_BY_KEY[key].table, key


def test_paired_t_test_matches_the_textbook_formula():
    a = {"cases": [{"case": f"c{i}", "dice": d} for i, d in enumerate([0.8, 0.85, 0.9, 0.7])]}
    b = {"cases": [{"case": f"c{i}", "dice": d} for i, d in enumerate([0.78, 0.8, 0.91, 0.6])]}
    diff = np.array([0.02, 0.05, -0.01, 0.1])
    t = diff.mean() / (diff.std(ddof=1) / math.sqrt(len(diff)))
    from scipy.stats import t as student
    expected = 2 * student.sf(abs(t), df=len(diff) - 1)
    assert paired_p(a, b) == pytest.approx(expected, rel=1e-9)
    assert paired_p(a, a) is None and paired_p(a, {"error": "x"}) is None


# ---------------------------------------------------------------- without training
class DryRun:
    """A :class:`Reproduction` whose steps record what they would run instead of training."""

    def __init__(self, out, fail=(), tables=("I", "II", "III"), only=None):
        self.rep = Reproduction(out, "tiny", tables, device="cpu", only=only)
        self.trained, self.pseudo, self.boxes, self.fail = [], 0, 0, set(fail)
        self.rep.pipeline.prepare_data = lambda *a, **k: None
        self.rep._run_row = self._run_row
        self.rep._pseudo_labels = self._pseudo_labels
        self.rep._box_labels = self._box_labels

    def _box_labels(self):
        self.boxes += 1

    def _pseudo_labels(self):
        self.pseudo += 1

    def _run_row(self, row):
        self.trained.append(row.key)
        if row.key in self.fail:
            raise DemoStepError(f"step 'train_{row.key}' failed (exit 1)")
        # each row its own numbers, so that an alias is seen to copy the right one
        dice = np.random.default_rng(len(self.trained)).uniform(0.1, 0.9, 3)
        return {"key": row.key, "cases": [{"case": f"c{i}", "dice": float(d), "assd": 1.0 + i}
                                          for i, d in enumerate(dice)]}

    def run(self):
        return self.rep.run()


def test_rows_run_once_in_dependency_order_and_aliases_copy_their_target(tmp_path, capsys):
    dry = DryRun(tmp_path / "rep")
    tables = dry.run()
    trained = [row.key for row in ROWS if not row.alias]
    assert sorted(dry.trained) == sorted(trained) and len(set(dry.trained)) == len(trained)
    for row in ROWS:
        for need in row.dependencies:
            assert dry.trained.index(need) < dry.trained.index(row.key), (need, row.key)
    assert dry.pseudo == sum("pseudo" in row.needs for row in ROWS)  # once before each such row
    assert dry.boxes == sum(bool(row.box_labels) for row in ROWS if not row.alias) >= 1
    for key in trained:
        saved = json.loads((tmp_path / "rep" / "rows" / key / "result.json").read_text())
        assert saved["key"] == key and len(saved["cases"]) == 3
    with open(tables / "results.csv", newline="") as handle:
        entries = {entry["key"]: entry for entry in csv.DictReader(handle)}
    assert list(entries) == [row.key for row in ROWS if row.table]
    for row in ROWS:
        if not row.table:
            continue
        source = json.loads((tmp_path / "rep" / "rows" / (row.alias or row.key)
                             / "result.json").read_text())  # an alias shows its target's
        dice = [c["dice"] for c in source["cases"]]
        assert entries[row.key]["n"] == "3" and not entries[row.key]["error"], row.key
        assert float(entries[row.key]["dice_mean"]) == pytest.approx(np.mean(dice)), row.key


def test_a_rerun_skips_every_finished_row_and_trains_nothing(tmp_path, capsys):
    DryRun(tmp_path / "rep").run()
    capsys.readouterr()
    again = DryRun(tmp_path / "rep")
    again.run()
    assert again.trained == [] and again.pseudo == 0
    trained = [row for row in ROWS if not row.alias]
    assert capsys.readouterr().out.count("done before: skipped") == len(trained)


def test_a_failed_row_stops_its_dependents_and_only_they_are_retried(tmp_path, capsys):
    first = DryRun(tmp_path / "rep", fail={AUX})
    first.run()
    dependents = [row.key for row in ROWS if AUX in row.dependencies]
    assert dependents, "some row needs the auxiliary network"
    assert not set(dependents) & set(first.trained), "dependents of a failed row never start"
    table = (tmp_path / "rep" / "tables" / "results.md").read_text()
    assert f"needs {AUX}, which did not finish" in table
    assert not (tmp_path / "rep" / "rows" / AUX / "result.json").exists()
    second = DryRun(tmp_path / "rep")
    second.run()
    assert sorted(second.trained) == sorted([AUX] + dependents)
    assert "failed" not in (tmp_path / "rep" / "tables" / "results.md").read_text()


def test_overrides_reach_each_row_and_scm_settings_only_scm(tmp_path):
    rep = Reproduction(tmp_path / "rep", "tiny", ("I", "II", "III"))
    for key in representatives().values():
        row = ROW_BY_KEY[key]
        sets = rep._sets(row, f"rows/{key}")
        values = sets[1::2]
        assert sets[0::2] == ["--set"] * len(values)
        assert "training.iter_max=2" in values, key
        assert values[-2:] == [f"training.ckpt_dir=rows/{key}/model",
                               f"testing.output_dir=rows/{key}/prediction"]
        assert all(v in values for v in row.sets), key
        scm_keys = [v for v in values if v.startswith("noisy_label_learning.monitor_interval")]
        assert bool(scm_keys) == (row.config == "demo_scm"), key
    assert PSEUDO_CSV.startswith("rows/")


# ---------------------------------------------------------------- end to end
@pytest.mark.slow
def test_tiny_preset_one_row_per_agent_family_produces_numbers_and_resume_skips(tmp_path):
    chosen = representatives()
    out = tmp_path / "rep"
    cmd = [sys.executable, "-m", "pymic_paseg.cli", "reproduce", "--preset", "tiny", "--out",
           str(out), "--tables", "I,II,III", "--rows", ",".join(chosen.values()),
           "--device", "cpu"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=3000)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    planned = rows_for(("I", "II", "III"), tuple(chosen.values()))
    trained = [row for row in planned if not row.alias]
    for row in trained:
        data = json.loads((out / "rows" / row.key / "result.json").read_text())
        cases = data.get("cases")
        assert cases, (row.key, data)
        assert all(0 <= c["dice"] <= 1 and c["assd"] >= 0 for c in cases), row.key
    table = (out / "tables" / "results.md").read_text()
    assert "failed" not in table, table
    for key in chosen.values():
        assert ROW_BY_KEY[key].title in table, key
    shown = [row for row in planned if row.table]
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
