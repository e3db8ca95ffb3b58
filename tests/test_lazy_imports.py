"""Planning code imports neither PyMIC nor torch (``python -X importtime``, a fresh process)."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: one line of ``-X importtime``: "import time: self | cumulative | <indent>module"
LINE = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)\s*$")


def this_checkout():
    """The environment of a subprocess that imports this checkout's package."""
    paths = [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(paths))


def imported_modules(statement):
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", statement],
                            capture_output=True, text=True, timeout=120, env=this_checkout(),
                            cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    modules = [m.group(1) for m in map(LINE.match, result.stderr.splitlines()) if m]
    assert modules, result.stderr[-2000:]  # the parser read the importtime report
    return modules


def heavy(modules):
    return sorted(m for m in modules if m.split(".")[0] in ("pymic", "torch"))


@pytest.mark.parametrize("module", ["pymic_paseg.demo.pipeline", "pymic_paseg.reproduce",
                                    "pymic_paseg.pipeline", "pymic_paseg.pipeline.commands",
                                    "pymic_paseg.agents.pointers", "pymic_paseg.agents",
                                    "pymic_paseg.registry", "pymic_paseg.supervision",
                                    "pymic_paseg.valid_region", "pymic_paseg.cli_common",
                                    "pymic_paseg.deep_supervision"])
def test_planning_modules_import_neither_pymic_nor_torch(module):
    modules = imported_modules(f"import {module}")
    assert module in modules
    assert heavy(modules) == [], f"{module} imports {heavy(modules)[:10]}"


@pytest.mark.slow  # a subprocess that imports PyMIC (the control of the check)
def test_the_check_itself_sees_pymic_when_it_is_imported():
    assert "pymic.util.ramps" in heavy(imported_modules("import pymic_paseg.objectives.stage1"))


@pytest.mark.slow  # a subprocess that imports PyMIC
def test_register_resolves_the_string_targets_of_the_agents():
    code = ("import sys, pymic_paseg, pymic_paseg.agents; "
            "assert 'pymic_paseg.agents.stage1' not in sys.modules; "
            "from pymic.net_run.weak_sup import WSLMethodDict; "
            "pymic_paseg.register(); "
            "from pymic_paseg.agents.stage1 import PASegStage1Agent; "
            "assert WSLMethodDict['PASegStage1'] is PASegStage1Agent; print('ok')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300, env=this_checkout(), cwd=ROOT)
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-2000:]
