"""Structured logs: one JSON object a line, `ts`, `level`, `event`, then the event's fields.

The agent yields `Event`s; the command line writes `line(event)` for each, so a
journal (systemd, a log shipper reading a file) gets one parseable record per
event and never a multi-line traceback. Names and titles inside the fields come from
plans and the database: control, bidi and invisible formatting characters are written as
`\\u` escapes (`text.json_safe`), so a log read at a terminal shows them instead of obeying.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..errors import EXIT_OK, EXIT_REFUSED, EXIT_SIGINT, EXIT_SIGTERM
from ..text import json_safe

LEVELS = ("debug", "info", "warning", "error")
RESERVED = ("ts", "level", "event")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Event:
    """Something that happened: a name, a level, and plain-data fields."""

    event: str
    level: str = "info"
    fields: dict = field(default_factory=dict)
    ts: str = field(default_factory=now)

    def __post_init__(self):
        if self.level not in LEVELS:
            raise ValueError(f"unknown log level {self.level!r}")
        clash = set(self.fields) & set(RESERVED)
        if clash:
            raise ValueError(f"field names {sorted(clash)} are reserved")

    def get(self, name: str, default=None):
        return self.fields.get(name, default)

    def to_dict(self) -> dict:
        return {"ts": self.ts, "level": self.level, "event": self.event, **self.fields}


def event(name: str, level: str = "info", **fields) -> Event:
    return Event(name, level, fields)


def line(ev: Event) -> str:
    """The event as one line of JSON (no newline, no control or bidi character inside, whatever
    the fields hold)."""
    text = json.dumps(ev.to_dict(), ensure_ascii=False, default=str, separators=(",", ":"))
    return json_safe(text)


def status_event(v) -> Event:
    """The `status` event of gate verdict V."""
    level = "info" if v.status.value != "BLOCKED" else "warning"
    return event(
        "status",
        level,
        status=v.status.value,
        proposal=v.proposal_id,
        approval=v.approval_id,
        rollout=v.rollout_id,
        gap=v.gap,
        reasons=[{"code": r.code, "message": r.message, "fix": r.fix} for r in v.reasons],
    )


def status_key(v) -> tuple:
    """What makes two verdicts worth one `status` event, not two."""
    return v.status, v.proposal_id, v.approval_id, v.rollout_id, tuple(r.code for r in v.reasons)


def stopped_event(code: int, reason: str) -> Event:
    """The agent's last event: its exit code (0, 130, 143: info; 1: warning; else error)."""
    quiet = (EXIT_OK, EXIT_SIGTERM, EXIT_SIGINT)
    level = "info" if code in quiet else "warning" if code == EXIT_REFUSED else "error"
    return event("stopped", level, exit_code=code, reason=reason)
