"""Edit a PyMIC INI template line by line, keeping its comments and layout.

``configparser`` drops comments on writing, and the demo configs explain themselves in
comments; :class:`IniEditor` changes values in place instead. Every edit names its key:
:meth:`~IniEditor.set` and :meth:`~IniEditor.remove` need the key to exist in the
template and :meth:`~IniEditor.add` needs it absent, so a template that changes under
the writer fails loudly (``KeyError`` naming the template, section and key) instead of
producing a config that silently misses a setting. Continuation lines are not supported
(the templates have none).
"""
from __future__ import annotations

import re
from typing import Any, List, Optional, Tuple

__all__ = ["IniEditor", "format_value"]

_SECTION = re.compile(r"^\s*\[([^\]]+)\]\s*$")
#: indentation, key, `` = `` with its spacing (kept on edits), value
_KEY = re.compile(r"^(\s*)([A-Za-z_][\w.]*)(\s*=\s*)(.*)$")


def format_value(value: Any) -> str:
    """Python value -> PyMIC INI text (lists ``[a, b]``, ``True``/``False``, ``None``)."""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:g}" if abs(value) >= 1e-4 or value == 0 else repr(value)
    return str(value)


class IniEditor:
    """An INI text whose values are changed in place (see the module docstring)."""

    def __init__(self, text: str, source: str):
        self.lines: List[str] = text.splitlines()
        self.source = source

    def _section_range(self, section: str) -> Tuple[int, int]:
        start = None
        for i, line in enumerate(self.lines):
            match = _SECTION.match(line)
            if match and start is not None:
                return start, i
            if match and match.group(1).strip().lower() == section.lower():
                start = i + 1
        if start is None:
            raise KeyError(f"{self.source}: no section [{section}]")
        return start, len(self.lines)

    def _find(self, section: str, key: str) -> Optional[int]:
        start, end = self._section_range(section)
        for i in range(start, end):
            match = _KEY.match(self.lines[i])
            if match and match.group(2).lower() == key.lower():
                return i
        return None

    def has_section(self, section: str) -> bool:
        return any((m := _SECTION.match(line)) and m.group(1).strip().lower() == section.lower()
                   for line in self.lines)

    def entries(self) -> List[Tuple[str, str]]:
        """Every ``(section, key)`` of the text, in order (section names lower-cased)."""
        section, found = "", []
        for line in self.lines:
            header = _SECTION.match(line)
            if header:
                section = header.group(1).strip().lower()
            elif (match := _KEY.match(line)) and section:
                found.append((section, match.group(2)))
        return found

    def has(self, section: str, key: str) -> bool:
        """Whether ``[section]`` exists and holds ``key``."""
        return self.has_section(section) and self._find(section, key) is not None

    def get(self, section: str, key: str) -> str:
        index = self._find(section, key)
        if index is None:
            raise KeyError(f"{self.source}: [{section}] has no key {key!r}")
        return _KEY.match(self.lines[index]).group(4).strip()

    def set(self, section: str, key: str, value: Any) -> None:
        """Change an existing key's value; ``KeyError`` if the template lacks it."""
        index = self._find(section, key)
        if index is None:
            raise KeyError(f"{self.source}: [{section}] has no key {key!r} to set")
        indent, name, equals, _ = _KEY.match(self.lines[index]).groups()
        self.lines[index] = f"{indent}{name}{equals}{format_value(value)}"

    def add(self, section: str, key: str, value: Any) -> None:
        """Add a key after the section's last key; ``KeyError`` if it exists already."""
        if self._find(section, key) is not None:
            raise KeyError(f"{self.source}: [{section}] already has {key!r}; set it instead")
        start, end = self._section_range(section)
        last = max((i for i in range(start, end) if _KEY.match(self.lines[i])), default=start - 1)
        self.lines.insert(last + 1, f"{key} = {format_value(value)}")

    def remove(self, section: str, key: str) -> None:
        index = self._find(section, key)
        if index is None:
            raise KeyError(f"{self.source}: [{section}] has no key {key!r} to remove")
        del self.lines[index]

    def replace_header(self, comment: str) -> None:
        """Replace the leading comment block with ``comment`` (one ``#`` line per line)."""
        first = next((i for i, line in enumerate(self.lines)
                      if line.strip() and not line.lstrip().startswith("#")), len(self.lines))
        header = [f"# {line}".rstrip() for line in comment.splitlines()]
        self.lines = header + [""] + self.lines[first:]

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"
