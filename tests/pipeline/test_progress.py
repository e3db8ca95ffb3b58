"""The per-step progress: plain lines with iterations and ETA when not on a terminal."""
import io

from pymic_paseg.pipeline.progress import StepProgress, format_seconds


def test_plain_lines_every_tenth_with_eta(monkeypatch):
    clock = iter(float(t) for t in range(1000))
    monkeypatch.setattr("pymic_paseg.pipeline.progress.time.monotonic", lambda: next(clock))
    stream = io.StringIO()
    progress = StepProgress("train_stage1", stream, tty=False)
    for done in range(100, 401):  # resumed at 100 of 400
        progress(done, 400)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("  train_stage1: 100/400 it (25%)")
    assert "ETA" in lines[1] and lines[-1].startswith("  train_stage1: 400/400 it (100%)")
    assert "ETA" not in lines[-1]
    assert len(lines) == 9  # one per tenth reached: 2 (the start), 3, ..., 10


def test_format_seconds():
    assert [format_seconds(s) for s in (5, 65, 3700)] == ["5 s", "1m05s", "1h01m"]
