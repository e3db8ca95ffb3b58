"""`pymic_run expand --workers 2` stopped by real signals: prompt, listed, no orphan workers."""
import os
import signal
import subprocess
import time

import pytest

from robust_helpers import CLI, alive, children, csv_rows, slow_clicks_dataset

N_CASES = 24


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return slow_clicks_dataset(tmp_path_factory.mktemp("slow"), n_cases=N_CASES)


def _start(data, out, workers=2):
    proc = subprocess.Popen([*CLI, "expand", str(data), "--csv", str(data / "all.csv"),
                             "--out", str(out), "--out-csv", str(out.parent / "train.csv"),
                             "--workers", str(workers), "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and not (
            out.is_dir() and any(p.name.startswith("case") for p in out.iterdir())):
        time.sleep(0.05)
    assert proc.poll() is None, "the batch ended before it could be interrupted"
    pids = children(proc.pid)
    assert pids or workers == 1, "the pool's worker processes are running"
    return proc, pids


def _gone(pids, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline and any(alive(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if alive(p)]


@pytest.mark.slow  # batches of worker processes, signalled
@pytest.mark.parametrize("signum, workers", [(signal.SIGINT, 2), (signal.SIGTERM, 2),
                                             (signal.SIGTERM, 1)])
def test_signal_stops_promptly_and_lists_what_finished(data, tmp_path, signum, workers):
    out = tmp_path / "partial"
    proc, pids = _start(data, out, workers)
    sent = time.time()
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert time.time() - sent < 10, "stopped promptly, without running the queued cases"
    assert proc.returncode == 128 + signum, err
    assert "Traceback" not in err
    written = sorted(p.name for p in out.glob("case*.nii.gz"))
    listed = sorted(os.path.basename(r["label"]) for r in csv_rows(tmp_path / "train.csv"))
    assert 0 < len(written) < N_CASES
    assert listed == written, "the CSV lists exactly the finished cases"
    metrics = sorted(r["case"] + ".nii.gz" for r in csv_rows(out / "metrics.csv")
                     if r["case"] != "mean")
    assert metrics == written
    name = signal.Signals(signum).name
    assert (f"expand stopped by {name}: {len(written)} of {N_CASES} case(s) finished, listed in "
            f"{tmp_path / 'train.csv'}") in err
    assert not _gone(pids), "no worker outlives the batch"
    assert not list(out.glob(".tmp-*")), "no half-written label"


@pytest.mark.slow  # batches of worker processes, killed
def test_sigkill_of_the_parent_ends_the_workers(data, tmp_path):
    out = tmp_path / "partial"
    proc, workers = _start(data, out)
    proc.kill()
    proc.communicate(timeout=60)
    assert not _gone(workers), "workers die with their parent (PR_SET_PDEATHSIG)"
    before = sorted(out.glob("case*.nii.gz"))
    time.sleep(2.0)  # longer than a case: an orphan worker would finish and write its case
    assert sorted(out.glob("case*.nii.gz")) == before, "no case is written after the kill"
