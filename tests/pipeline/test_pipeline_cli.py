"""`pymic_run pipeline` / `report` usage errors, and every --help showing defaults and choices."""
import argparse

import pytest

from pymic_paseg.cli import build_parser, main


def test_pipeline_without_a_project_file_is_a_usage_error(tmp_path, capsys):
    assert main(["pipeline", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "project.json: not found" in err and "Traceback" not in err


def test_pipeline_rejects_an_unknown_stage(tmp_path, capsys):
    assert main(["pipeline", str(tmp_path), "--stages", "1,3"]) == 2
    assert "subset of 1,2" in capsys.readouterr().err


def test_report_of_a_folder_without_runs_names_what_it_looked_for(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no *_training_curves.csv" in err and "project.json" in err


def test_report_rejects_malformed_classes(tmp_path, capsys):
    assert main(["report", str(tmp_path), "--classes", "tumour"]) == 2
    assert "LABEL:NAME" in capsys.readouterr().err


def _subparsers(parser):
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices


def test_every_help_shows_each_default_and_the_choices():
    for name, sub in _subparsers(build_parser()).items():
        text = " ".join(sub.format_help().split())
        for action in sub._actions:
            if not action.option_strings or action.nargs == 0:
                continue
            default = action.default
            if default is not None and default is not argparse.SUPPRESS:
                assert "default" in (action.help or "").lower() or \
                    f"(default: {default})" in text, (name, action.dest)
            if action.choices:
                assert "{" + ",".join(map(str, action.choices)) + "}" in text, \
                    (name, action.dest)


@pytest.mark.parametrize("command", ["pipeline", "report", "demo"])
def test_help_of_the_new_commands_names_their_defaults(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert "default" in capsys.readouterr().out
