"""Where renderers register, by the qualified name of the class they show (see `render`).

Apart from the package so that the renderer modules import it and not the package that
imports them (no import cycle).
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text

# "module.Class" -> the function that renders it as lines / as JSON data.
LINES: dict[str, Callable[..., list]] = {}
JSON: dict[str, Callable[..., object]] = {}


def renders(qualified: str, *, as_json: bool = False):
    """Register the decorated function as the text (or JSON) renderer of class QUALIFIED."""

    def register(fn):
        (JSON if as_json else LINES)[qualified] = fn
        return fn

    return register


def styled(word: str, style: str, rest: str = "") -> Text:
    """A line whose first words are coloured (on a terminal); data is never markup."""
    return Text.assemble((word, style), rest)
