"""INI reading shared by the sub-commands: one-line errors naming the file, of the caller's type."""
import pytest

from pymic_paseg.cli_common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, ini_sections, read_ini
from pymic_paseg.config import ConfigError


class Usage(Exception):
    pass


def test_sections_and_keys_as_configparser_reads_them(tmp_path):
    cfg = tmp_path / "a.cfg"
    cfg.write_text("[dataset]\nRoot_Dir = /x\n[training]\niter_max = 5 ; five\n",
                   encoding="utf-8")
    assert ini_sections(str(cfg)) == {"dataset": {"root_dir": "/x"},
                                      "training": {"iter_max": "5 ; five"}}
    assert read_ini(str(cfg)).sections() == ["dataset", "training"]


def test_each_problem_names_the_file_in_the_callers_error_type(tmp_path):
    bad_ini = tmp_path / "bad.cfg"
    bad_ini.write_text("no section header\n")
    latin = tmp_path / "latin.cfg"
    latin.write_bytes(b"[dataset]\nname = caf\xe9\n")
    cases = [(tmp_path / "missing.cfg", "config file not found: "),
             (tmp_path, "config path is not a file: "),
             (latin, "cannot read config file "),
             (bad_ini, "is not a valid INI file: ")]
    for path, message in cases:
        for error in (ConfigError, Usage):
            with pytest.raises(error) as info:
                read_ini(str(path), error)
            text = str(info.value)
            assert message in text and str(path) in text and "\n" not in text, text


def test_exit_codes_are_distinct():
    assert (EXIT_OK, EXIT_FAILED, EXIT_USAGE) == (0, 1, 2)


def test_working_directory_restores_the_previous_one_also_on_errors(tmp_path):
    import os

    import pytest

    from pymic_paseg.cli_common import working_directory
    before = os.getcwd()
    with pytest.raises(RuntimeError):
        with working_directory(tmp_path):
            assert os.path.samefile(os.getcwd(), tmp_path)
            raise RuntimeError("inside")
    assert os.getcwd() == before
