"""The one rendering path: library values to text (Rich markup) or JSON.

`to_jsonable` turns any result into plain data; `text_lines` turns it into the
lines a person reads. Colour is Rich's to decide: only on a terminal.

Data is shown, never obeyed: every line `text_lines` returns passes `text.escape`, which
writes control, bidi and invisible formatting characters as visible escapes. The lines'
own wording holds no such character (each line is one line: a reason and its fix are
two), so what gets escaped is always data: a title, a name, an actor. `to_json` writes
the same characters as `\\u` escapes.

JSON is a contract (docs/JSON.md, a schema per output in docs/json/): every document is an
object whose first key is `format_version` (`document`), an error is
`{"format_version": 1, "error": {"kind", "message", "hint"}}` (`error_document`), and a
proposal, a rollout or an approval is named by its id under one key, `proposal`, `rollout`,
`approval` (a dataclass's `proposal_id` field is written `proposal`).

Renderers are found by the qualified name of the value's class (`renders`), not by
importing the class: a command loads the modules it runs and nothing else, and showing
its result must not import every other command's code (start-up is most of a small
command's time). `runbook` and `ops` hold the renderers.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from functools import cached_property

from rich.text import Span, Text

from ..text import escape, json_safe
from .registry import JSON, LINES, renders, styled  # noqa: F401  (for the renderers' callers)


def _renderer(table: dict, value):
    for klass in type(value).__mro__:
        fn = table.get(f"{klass.__module__}.{klass.__qualname__}")
        if fn is not None:
            return fn
    return None


_SCALARS = frozenset({str, int, float, bool, type(None)})


# The version of every JSON document's shape (docs/JSON.md): raised when a key is removed,
# renamed or changes meaning; new keys may appear without it.
FORMAT_VERSION = 1

# One name per thing: an id field is written under the name of what it identifies.
_KEYS = {"proposal_id": "proposal", "rollout_id": "rollout", "approval_id": "approval"}


def to_jsonable(value):
    """Plain JSON data for any result: dataclasses, enums, tuples, dicts."""
    if type(value) in _SCALARS:  # most of a large result: no renderer to look for
        return value
    special = _renderer(JSON, value)
    if special is not None:
        return special(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {
            _KEYS.get(f.name, f.name): to_jsonable(getattr(value, f.name))
            for f in dataclasses.fields(value)
        }
        for extra in ("sha256", "ok", "failures", "failed_step", "production_untouched"):
            if isinstance(getattr(type(value), extra, None), (property, cached_property)):
                data[extra] = to_jsonable(getattr(value, extra))
        return data
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    return value


def document(value, list_key: str | None = None) -> dict:
    """The JSON document of a result: an object, `format_version` first.

    A result that is a list (the audit trail) is the value of LIST_KEY.
    """
    data = to_jsonable(value)
    if isinstance(data, list) and list_key:
        data = {list_key: data}
    if not isinstance(data, dict):
        raise TypeError(f"{type(value).__name__} has no JSON document shape")
    return {"format_version": FORMAT_VERSION, **data}


def error_document(exc: BaseException | None = None, **fields) -> dict:
    """The JSON document of a failure: `{"format_version": 1, "error": {...}}`.

    EXC (a GovgateError) gives `kind` (its class name), `message` and `hint`, and what it
    carries: `problems` (a plan's), `failures` (failed checks), `step` (an aborted rollout's),
    `differences` (a refused rollback's). FIELDS give or override them (`kind`, `message`).
    """
    error: dict = {"kind": None, "message": None, "hint": None}
    if exc is not None:
        error.update(
            kind=type(exc).__name__,
            message=getattr(exc, "message", None) or str(exc),
            hint=getattr(exc, "hint", None),
        )
        for extra in ("problems", "failures", "step", "differences"):
            carried = getattr(exc, extra, None)
            if not carried:
                continue
            if extra == "differences":
                carried = [str(d) for d in carried]
            error[extra] = to_jsonable(carried)
    error.update(fields)
    return {"format_version": FORMAT_VERSION, "error": error}


def to_json(value, list_key: str | None = None) -> str:
    """VALUE's JSON document (`document`) as text, unsafe characters as `\\u` escapes."""
    return dumps(document(value, list_key))


def dumps(data) -> str:
    """JSON text of DATA for a terminal or a file: indented, unsafe characters escaped."""
    return json_safe(json.dumps(data, indent=2, ensure_ascii=False))


def text_lines(value, **opts) -> list:
    """The lines a person reads for VALUE (str or Rich Text), every one escaped."""
    return [_safe(line) for line in lines_of(value, **opts)]


def lines_of(value, **opts) -> list:
    """VALUE's lines before escaping: a list renders item by item; unknown values as str."""
    if isinstance(value, list):
        return [line for item in value for line in lines_of(item, **opts)]
    fn = _renderer(LINES, value)
    return fn(value, **opts) if fn is not None else [str(value)]


def _safe(line):
    """LINE with `text.escape` applied; a Rich Text keeps its styles."""
    if not isinstance(line, Text):
        return escape(line)
    if line.plain.isprintable():
        return line
    cuts = sorted({0, len(line), *(i for span in line.spans for i in (span.start, span.end))})
    out = Text(style=line.style, end=line.end)
    for start, end in zip(cuts, cuts[1:], strict=False):
        piece = line[start:end]  # its spans cover all of it
        shown = escape(piece.plain)
        out.append_text(Text(shown, spans=[Span(0, len(shown), x.style) for x in piece.spans]))
    return out


# The renderers register themselves on import; they import no command module.
from . import ops, runbook  # noqa: E402,F401
