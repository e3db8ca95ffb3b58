import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def load_config(tmp_path):
    """``load_config(text, name="run.cfg")``: ``text`` written in ``tmp_path``, parsed as PyMIC does."""
    from helpers import load_pymic_config

    def load(text: str, name: str = "run.cfg") -> dict:
        return load_pymic_config(text, tmp_path, name)
    return load
