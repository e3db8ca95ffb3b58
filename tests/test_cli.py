"""pymic_run as a subprocess: exit codes and one-line messages."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

import pymic_paseg
from helpers import fullsup_config, make_dataset, replaced

CLI = [sys.executable, "-m", "pymic_paseg.cli"]


def run(*args, cwd=None):
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=600)


def test_version():
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"pymic_run {pymic_paseg.__version__}"


def test_console_script_is_installed():
    exe = Path(sys.executable).parent / "pymic_run"
    assert exe.exists(), "pip install should create the pymic_run console script"
    result = subprocess.run([str(exe), "--version"], capture_output=True, text=True)
    assert result.returncode == 0


@pytest.mark.parametrize("args, message", [
    (("frobnicate",), "invalid choice: 'frobnicate'"),
    ((), "missing sub-command"),
    (("train", "no/such/file.cfg"), "config file not found: no/such/file.cfg"),
    (("list", "extra"), "unrecognized arguments: extra"),
])
def test_usage_errors_are_one_line_exit_2(args, message):
    result = run(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_unparsable_and_unreadable_config(tmp_path):
    bad = tmp_path / "bad.cfg"
    bad.write_text("this is not = an ini file\n[dataset\n")
    result = run("train", str(bad))
    assert result.returncode == 2 and "is not a valid INI file" in result.stderr
    folder = tmp_path / "dir.cfg"
    folder.mkdir()
    result = run("test", str(folder))
    assert result.returncode == 2 and "config path is not a file" in result.stderr


@pytest.mark.slow  # a subprocess that imports PyMIC
def test_list_prints_every_registered_component():
    result = run("list")
    assert result.returncode == 0
    for comp in pymic_paseg.registered_components():
        assert comp.name in result.stdout and comp.registry in result.stdout


@pytest.mark.slow  # a subprocess that imports PyMIC
def test_misspelled_transform_gets_closest_match(tmp_path):
    root = make_dataset(tmp_path / "data", n_train=2, n_valid=1)
    cfg = fullsup_config(root, tmp_path / "ckpt", tmp_path / "out")
    cfg = replaced(cfg, "RandomCrop, LabelToProbability", "RandomCorp, LabelToProbability")
    path = tmp_path / "t.cfg"
    path.write_text(cfg)
    result = run("train", str(path))
    assert result.returncode == 2, result.stderr
    assert "[dataset] train_transform item = 'RandomCorp': unknown name. " \
           "Did you mean 'RandomCrop'?" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow  # a subprocess that imports PyMIC
def test_bad_numeric_value_fails_before_training(tmp_path):
    root = make_dataset(tmp_path / "data", n_train=2, n_valid=1)
    cfg = replaced(fullsup_config(root, tmp_path / "ckpt", tmp_path / "out"),
                   "iter_valid = 4", "iter_valid = -3")
    path = tmp_path / "t.cfg"
    path.write_text(cfg)
    result = run("train", str(path))
    assert result.returncode == 2
    assert "[training] iter_valid = -3: must be an integer >= 1" in result.stderr
    assert not list((tmp_path / "ckpt").glob("*.pt"))


@pytest.mark.slow  # two subprocesses that import PyMIC
def test_set_overrides_a_config_value_before_training(tmp_path):
    root = make_dataset(tmp_path / "data", n_train=2, n_valid=1)
    path = tmp_path / "t.cfg"
    path.write_text(fullsup_config(root, tmp_path / "ckpt", tmp_path / "out"))
    result = run("train", str(path), "--set", "training.iter_valid=-5")
    assert result.returncode == 2
    assert "[training] iter_valid = -5: must be an integer >= 1" in result.stderr
    result = run("train", str(path), "--set", "oops")
    assert result.returncode == 2 and "expected SECTION.KEY=VALUE" in result.stderr
