"""What every ``pymic_run`` sub-command shares: the program name, the exit codes, INI reading,
running a step inside a project folder.

Torch-free: :mod:`pymic_paseg.cli` and :mod:`pymic_paseg.commands` (and any new
sub-command module) import these instead of defining their own.
"""
from __future__ import annotations

import configparser
import contextlib
import os
from typing import Dict, Iterator, Type, Union

from pymic_paseg.config import ConfigError

__all__ = ["PROG", "EXIT_OK", "EXIT_FAILED", "EXIT_USAGE", "read_ini", "ini_sections",
           "working_directory"]

PROG = "pymic_run"
#: 0 success, 1 the work failed, 2 bad command line or configuration.
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def read_ini(path: str, error: Type[Exception] = ConfigError) -> configparser.ConfigParser:
    """Parse the INI file ``path``; any problem raises ``error`` with one line naming the file.

    Checks, in order: the path exists, is a file, is readable UTF-8 text, is valid INI.
    """
    if not os.path.exists(path):
        raise error(f"config file not found: {path}")
    if not os.path.isfile(path):
        raise error(f"config path is not a file: {path}")
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"cannot read config file {path}: {exc}") from None
    parser = configparser.ConfigParser()
    try:
        parser.read_string(text, source=path)
    except configparser.Error as exc:
        raise error(f"config file {path} is not a valid INI file: "
                    f"{' '.join(str(exc).split())}") from None
    return parser


def ini_sections(path: str, error: Type[Exception] = ConfigError) -> Dict[str, Dict[str, str]]:
    """``{section: {key: value}}`` of the INI file ``path`` (see :func:`read_ini`)."""
    parser = read_ini(path, error)
    return {name: dict(parser[name]) for name in parser.sections()}


@contextlib.contextmanager
def working_directory(path: Union[str, "os.PathLike[str]"]) -> Iterator[None]:
    """Run the body with ``path`` as the current directory (the configs' relative paths
    are read from there); the previous one is restored afterwards, also on errors.
    ``contextlib.chdir`` needs Python 3.11."""
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)
