"""One curves CSV per training: a resumed run continues it; older split files are merged."""
from pymic_paseg.agents.tracking import RoundLogger, read_curves
from pymic_paseg.pipeline.curves import merged_curves


class _Writer:
    def add_scalar(self, *args):
        pass


def _run(path, start, stop, valid=3, loss=1.0):
    rounds = RoundLogger(_Writer(), total=12, start=start, progress=False, curves_csv=str(path))
    for it in range(start + valid, stop + 1, valid):
        rounds.log(it, 0.01, {"loss": loss + it}, {"avg_fg_dice": it / 100})
    rounds.close()


def test_a_resumed_run_appends_to_the_same_curves_csv(tmp_path):
    path = tmp_path / "net_training_curves.csv"
    _run(path, 0, 9)          # rounds 3, 6, 9; checkpoint at 6, then killed after round 9
    _run(path, 6, 12, loss=5.0)  # resumed from the checkpoint at 6: round 9 is redone
    rows = read_curves(str(path))
    assert [float(r["iteration"]) for r in rows] == [3, 6, 9, 12]
    assert [float(r["train/loss"]) for r in rows] == [4, 7, 14, 17]  # 9 and 12 from the rerun
    assert float(rows[0]["valid/avg_fg_dice"]) == 0.03


def test_a_fresh_run_overwrites_the_curves_of_an_earlier_one(tmp_path):
    path = tmp_path / "net_training_curves.csv"
    _run(path, 0, 12)
    _run(path, 0, 6, loss=2.0)
    assert [float(r["train/loss"]) for r in read_curves(str(path))] == [5, 8]


def test_split_curves_of_older_runs_are_merged_by_iteration(tmp_path):
    (tmp_path / "net_training_curves.csv").write_text(
        "iteration,lr,train/loss\n3,0.1,1.0\n6,0.1,0.9\n9,0.1,0.8\n")
    (tmp_path / "net_training_curves_from_6.csv").write_text(
        "iteration,lr,train/loss,valid/avg_fg_dice\n9,0.1,0.7,0.5\n12,0.1,0.6,0.6\n")
    (tmp_path / "other_training_curves.csv").write_text("iteration,lr\n3,0.1\n")
    rows = merged_curves(tmp_path, "net")
    assert [(r["iteration"], r["train/loss"]) for r in rows] == [(3, 1.0), (6, 0.9), (9, 0.7),
                                                                 (12, 0.6)]
    assert rows[-1]["valid/avg_fg_dice"] == 0.6
