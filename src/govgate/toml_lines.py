"""Where a key sits in a TOML text: the line a configuration error names.

tomllib says what is wrong but not where, once the text parsed; these scan the text for
the line of a `[section] key`, or of brackets nested too deeply for the parser.
"""

from __future__ import annotations

import re


def deep_line(text: str, depth: int = 100) -> int:
    """The line where brackets and braces first open DEPTH deep (strings are not told apart:
    this only points at where to look)."""
    level = 0
    for number, line in enumerate(text.splitlines(), 1):
        for ch in line:
            level += (ch in "[{") - (ch in "]}")
            if level >= depth:
                return number
    return 1


def line_of(text: str, section: str, key: str | None) -> int | None:
    """The line of KEY inside [SECTION] (or of the section itself), scanning the text."""
    header = re.compile(r"^\s*\[\s*([^\[\]#]+?)\s*\]")

    def assigns(line: str, name: str) -> bool:
        parts = r"\s*\.\s*".join(
            rf"(?:{re.escape(p)}|\"{re.escape(p)}\"|'{re.escape(p)}')" for p in name.split(".")
        )
        return re.match(rf"^\s*{parts}\s*[=.]", line) is not None

    current, top = None, None
    for n, line in enumerate(text.splitlines(), 1):
        found = header.match(line)
        if found:
            current = found[1].replace('"', "").replace("'", "").replace(" ", "")
            if current in (section, f"{section}.{key}") and (key is None or current != section):
                return n
            continue
        if current == section and key is not None and assigns(line, key):
            return n
        if current is None:
            if key is not None and assigns(line, f"{section}.{key}"):
                return n
            if top is None and assigns(line, section):
                top = n  # `section = {...}` or `section.key = ...` at the top
    if key is None:
        return top
    return top or line_of(text, section, None)
