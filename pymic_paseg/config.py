"""Typed getters for PyMIC's INI configuration.

PyMIC parses an INI file into ``{section: {key: value}}`` with ``configparser``
(keys lower-cased) and a home-grown value parser that, among other things,
leaves ``1.5e-4`` and ``-1.5`` as *strings*. Everything pymic_paseg reads from a
config goes through :class:`Section`, whose getters coerce such strings, check
a rule, and raise :class:`ConfigError` naming section, key, value and rule, e.g.::

    [training] MultiViewCRFLoss_radius = -1: must be an integer >= 1

Getters are called while an agent, loss or transform is *constructed*, so a bad
value fails before the first training iteration.
"""
from __future__ import annotations

import difflib
import math
import os
from typing import Any, Iterable, List, Mapping, Optional, Sequence, Union

__all__ = ["ConfigError", "Section", "look_up_option", "REQUIRED"]


class ConfigError(ValueError):
    """A configuration value is missing, malformed or out of range."""


class _Required:
    def __repr__(self) -> str:  # pragma: no cover - cosmetic
        return "REQUIRED"


REQUIRED: Any = _Required()


def _closest(name: str, valid: Iterable[str]) -> Optional[str]:
    valid = list(valid)
    lowered = {v.lower(): v for v in valid}
    if name.lower() in lowered:
        return lowered[name.lower()]
    match = difflib.get_close_matches(name, valid, n=1, cutoff=0.5)
    if not match:
        match = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.5)
        match = [lowered[m] for m in match]
    return match[0] if match else None


def look_up_option(name: Any, valid: Iterable[str], *, where: str = "") -> str:
    """Return ``name`` if it is one of ``valid``, else raise ``ConfigError``.

    The message lists the valid names and suggests the closest one (``difflib``),
    in the spirit of MONAI's ``look_up_option``.
    """
    valid = sorted(set(valid))
    if isinstance(name, str) and name in valid:
        return name
    hint = _closest(str(name), valid)
    suggestion = f" Did you mean {hint!r}?" if hint else ""
    prefix = f"{where} = {name!r}: " if where else f"{name!r}: "
    raise ConfigError(f"{prefix}unknown name.{suggestion} Valid names: {', '.join(valid)}")


def _parse_number(raw: Any) -> float:
    if isinstance(raw, bool):
        raise ValueError("a boolean is not a number")
    if isinstance(raw, (int, float)):
        return float(raw)
    if isinstance(raw, str):
        return float(raw.strip())
    raise ValueError(f"not a number: {type(raw).__name__}")


def _parse_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, (int,)) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str) and raw.strip().lower() in ("true", "yes", "on", "1"):
        return True
    if isinstance(raw, str) and raw.strip().lower() in ("false", "no", "off", "0"):
        return False
    raise ValueError("not a boolean")


def _as_list(raw: Any) -> list:
    if isinstance(raw, (list, tuple)):
        return list(raw)
    if isinstance(raw, str):
        text = raw.strip()
        if text.startswith("[") and text.endswith("]"):
            text = text[1:-1]
        return [] if not text.strip() else [t.strip() for t in text.split(",")]
    return [raw]


def _range_rule(low, high, low_open, high_open) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low:g}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {high:g}")
    return " and ".join(parts)


class Section:
    """A read-only view of one config section with typed, checked getters.

    Args:
        name: the section name as written in the INI file, e.g. ``"training"``.
        values: the section's dict as produced by PyMIC's ``parse_config``.

    Keys are matched case-insensitively (configparser lower-cases them), so
    ``section.float("MultiViewCRFLoss_alpha")`` reads ``multiviewcrfloss_alpha``.
    """

    def __init__(self, name: str, values: Optional[Mapping[str, Any]]):
        self.name = name
        self.values = {str(k).lower(): v for k, v in (values or {}).items()}

    @classmethod
    def of(cls, config: Mapping[str, Any], name: str, required: bool = False) -> "Section":
        if name not in config:
            if required:
                raise ConfigError(f"[{name}] section is missing from the config file")
            return cls(name, {})
        return cls(name, config[name])

    # ------------------------------------------------------------------ basics
    def has(self, key: str) -> bool:
        return self.values.get(key.lower()) is not None

    def raw(self, key: str, default: Any = REQUIRED) -> Any:
        value = self.values.get(key.lower())
        if value is None or (isinstance(value, str) and value.strip() == ""):
            if default is REQUIRED:
                raise ConfigError(f"[{self.name}] {key} is required but missing")
            return default
        return value

    def fail(self, key: str, value: Any, rule: str) -> "ConfigError":
        """Build the standard error: ``[section] key = value: rule``."""
        return ConfigError(f"[{self.name}] {key} = {value}: {rule}")

    # ----------------------------------------------------------------- numbers
    def float(self, key: str, default: Any = REQUIRED, *, low: Optional[float] = None,
              high: Optional[float] = None, low_open: bool = False,
              high_open: bool = False) -> float:
        value = self.raw(key, default)
        if value is None:
            return None
        rule = _range_rule(low, high, low_open, high_open)
        try:
            number = _parse_number(value)
        except ValueError:
            raise self.fail(key, value, "must be a number" + (f" {rule}" if rule else "")) from None
        if math.isnan(number):
            raise self.fail(key, value, f"must be a number {rule}".rstrip())
        if math.isinf(number):
            raise self.fail(key, value, f"must be a finite number {rule}".rstrip())
        if not self._in_range(number, low, high, low_open, high_open):
            raise self.fail(key, value, f"must be a number {rule}".rstrip())
        return number

    def int(self, key: str, default: Any = REQUIRED, *, low: Optional[int] = None,
            high: Optional[int] = None) -> int:
        value = self.raw(key, default)
        if value is None:
            return None
        rule = _range_rule(low, high, False, False)
        try:
            number = _parse_number(value)
            if not float(number).is_integer():
                raise ValueError
        except (ValueError, OverflowError):
            raise self.fail(key, value, "must be an integer" + (f" {rule}" if rule else "")) from None
        if not self._in_range(number, low, high, False, False):
            raise self.fail(key, value, f"must be an integer {rule}")
        return int(number)

    @staticmethod
    def _in_range(x, low, high, low_open, high_open) -> bool:
        if low is not None and (x <= low if low_open else x < low):
            return False
        if high is not None and (x >= high if high_open else x > high):
            return False
        return True

    # ------------------------------------------------------------------- other
    def bool(self, key: str, default: Any = REQUIRED) -> bool:
        value = self.raw(key, default)
        if value is None:
            return None
        try:
            return _parse_bool(value)
        except ValueError:
            raise self.fail(key, value, "must be true or false") from None

    def str(self, key: str, default: Any = REQUIRED) -> str:
        value = self.raw(key, default)
        if value is None:
            return value
        if isinstance(value, (list, tuple, dict)):
            raise self.fail(key, value, "must be a single text value")
        return str(value)

    def choice(self, key: str, choices: Sequence[str], default: Any = REQUIRED) -> str:
        value = self.raw(key, default)
        if value is None:
            return value
        return look_up_option(str(value), choices, where=f"[{self.name}] {key}")

    def float_list(self, key: str, default: Any = REQUIRED, *, length: Optional[int] = None,
                   low: Optional[float] = None, low_open: bool = False) -> List[float]:
        value = self.raw(key, default)
        if value is None:
            return value
        items = _as_list(value)
        rule = f"must be a list of {length} numbers" if length else "must be a list of numbers"
        extra = _range_rule(low, None, low_open, False)
        if extra:
            rule += f", each {extra}"
        try:
            numbers = [_parse_number(v) for v in items]
        except ValueError:
            raise self.fail(key, value, rule) from None
        if not all(math.isfinite(x) for x in numbers):  # NaN and +-inf, as in float()
            raise self.fail(key, value, rule.replace("numbers", "finite numbers", 1))
        if (length is not None and len(numbers) != length) or not all(
                self._in_range(x, low, None, low_open, False) for x in numbers):
            raise self.fail(key, value, rule)
        return numbers

    def float_or_list(self, key: str, default: Any = REQUIRED, *, length: int,
                      low: Optional[float] = None, low_open: bool = False
                      ) -> Union[float, List[float]]:
        """One number, or a list of ``length`` numbers (e.g. one per axis), as written."""
        if isinstance(self.raw(key, default), (list, tuple)):
            return self.float_list(key, default, length=length, low=low, low_open=low_open)
        return self.float(key, default, low=low, low_open=low_open)

    def int_list(self, key: str, default: Any = REQUIRED, *, length: Optional[int] = None,
                 low: Optional[int] = None) -> List[int]:
        value = self.raw(key, default)
        if value is None:
            return value
        rule = f"must be a list of {length} integers" if length else "must be a list of integers"
        if low is not None:
            rule += f", each >= {low}"
        try:
            numbers = [_parse_number(v) for v in _as_list(value)]
            if not all(float(x).is_integer() for x in numbers):
                raise ValueError
        except ValueError:
            raise self.fail(key, value, rule) from None
        if (length is not None and len(numbers) != length) or (
                low is not None and any(x < low for x in numbers)):
            raise self.fail(key, value, rule)
        return [int(x) for x in numbers]

    def str_list(self, key: str, default: Any = REQUIRED) -> List[str]:
        value = self.raw(key, default)
        if value is None:
            return value
        return [str(v) for v in _as_list(value)]

    def path(self, key: str, default: Any = REQUIRED, *, must_exist: bool = False) -> str:
        value = self.str(key, default)
        if value is not None and must_exist and not os.path.exists(value):
            raise self.fail(key, value, "file or folder does not exist")
        return value

    # ------------------------------------------------------------- key checks
    def check_known_keys(self, prefix: str, known: Iterable[str]) -> None:
        """Raise if a key starting with ``prefix`` (e.g. ``MultiViewCRFLoss_``) is not known.

        This catches misspelled keys in our own key families, which PyMIC
        would otherwise silently ignore.
        """
        prefix = prefix.lower()
        known_l = {k.lower() for k in known}
        for key in self.values:
            if key.startswith(prefix) and key not in known_l:
                hint = _closest(key, known_l)
                suggestion = f" Did you mean {hint!r}?" if hint else ""
                raise ConfigError(
                    f"[{self.name}] {key}: unknown key.{suggestion} "
                    f"Valid keys: {', '.join(sorted(known_l))}")

    def check_keys(self, known: Iterable[str]) -> None:
        """Raise if this section has any key outside ``known`` (for our own sections)."""
        known_l = {k.lower() for k in known}
        for key in self.values:
            if key not in known_l:
                hint = _closest(key, known_l)
                suggestion = f" Did you mean {hint!r}?" if hint else ""
                raise ConfigError(
                    f"[{self.name}] {key}: unknown key.{suggestion} "
                    f"Valid keys: {', '.join(sorted(known_l))}")
