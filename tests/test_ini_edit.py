"""IniEditor: in-place edits that keep comments and layout."""
import configparser
from pathlib import Path

import pytest

from pymic_paseg.ini_edit import IniEditor

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "config_examples").glob("*.cfg"))


def test_set_keeps_indentation_and_alignment_and_entries_list_every_key():
    text = "# head = 1\n[Net]\nclass_num    = 2\n  depth=3\n[training]\niter_max = 5\n"
    editor = IniEditor(text, "x.cfg")
    assert editor.entries() == [("net", "class_num"), ("net", "depth"), ("training", "iter_max")]
    editor.set("net", "CLASS_NUM", 4)
    editor.set("net", "depth", [1, 2])
    assert editor.text() == "# head = 1\n[Net]\nclass_num    = 4\n  depth=[1, 2]\n" \
                            "[training]\niter_max = 5\n"
    assert editor.get("net", "depth") == "[1, 2]"
    with pytest.raises(KeyError, match=r"x.cfg: \[training\] has no key 'iter' to set"):
        editor.set("training", "iter", 1)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_entries_match_configparser_and_setting_each_value_to_itself_is_exact(path):
    text = path.read_text(encoding="utf-8")
    editor = IniEditor(text, path.name)
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read_string(text)
    expected = [(s.lower(), k) for s in parser.sections() for k in parser[s]]
    assert editor.entries() == expected
    for section, key in editor.entries():
        editor.set(section, key, editor.get(section, key))
    assert editor.text() == text if text.endswith("\n") else text + "\n"
