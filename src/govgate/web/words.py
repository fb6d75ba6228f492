"""Values as the owner reads them on a page: no raw `False`, `None` or JSON, no Markdown marks.

Jinja filters (registered by `pages.environment`): `words` writes a value from the database or
a result in words (yes/no, lists joined, nested values as `key: value`), `code_spans` turns the
`backticked` commands of the library's sentences (a reason's fix, a hint) into <code>, with
everything else escaped. Pure functions: nothing here reads, writes or imports the library.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

_BACKTICKED = re.compile(r"`([^`\n]+)`")


def code_spans(text: object) -> Markup:
    """TEXT escaped for HTML, each `span` in backticks shown as <code>span</code>."""
    if text is None:
        return Markup("")
    parts = _BACKTICKED.split(str(text))  # even: prose, odd: what stood between backticks
    return Markup("").join(
        Markup("<code>{}</code>").format(part) if i % 2 else escape(part)
        for i, part in enumerate(parts)
    )


def words(value: object) -> str:
    """VALUE in words: yes/no for booleans, "none" for nothing, lists joined with commas,
    mappings as `key: value` pairs; text and numbers as they are (escaped by the template)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float, str)):
        return str(value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {words(v)}" for k, v in value.items()) or "none"
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(words(v) for v in value) or "none"
    return str(value)


def register(environment) -> None:
    """Make the filters above available to ENVIRONMENT's templates."""
    environment.filters["words"] = words
    environment.filters["code_spans"] = code_spans
