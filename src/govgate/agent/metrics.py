"""The agent's metrics as a Prometheus text file, for node_exporter's textfile collector.

Written on each poll to `[agent] metrics_file` (`GOVGATE_METRICS_FILE`) through a
temporary file in the same folder and `os.replace`, so a scrape never reads half a file.
The format is Prometheus's text exposition format 0.0.4: `# HELP` and `# TYPE` lines, then
`name{label="value"} number` samples; label values escape `\\`, `"` and newlines.
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass, field

WORDS = ("BLOCKED", "READY", "APPLIED", "DRIFTED")


@dataclass
class Snapshot:
    """What the agent knows of itself and of the gate at one moment."""

    up: bool
    started: float  # Unix time
    last_poll: float | None  # Unix time of the last poll that reached the database
    state: str
    status: str | None  # the gate's word at the last poll
    gap: int | None
    polls: int
    rollouts: int
    errors: int
    database_up: bool
    info: dict = field(default_factory=dict)  # version, host, identity


_STATES = ("starting", "idle", "waiting", "applying", "stopped")


def render(s: Snapshot) -> str:
    """SNAPSHOT in the text exposition format."""
    out: list[str] = []

    def metric(name: str, kind: str, help_: str, samples: list[tuple[dict, float]]) -> None:
        out.append(f"# HELP {name} {help_}")
        out.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            out.append(f"{name}{_labels(labels)} {_number(value)}")

    metric("govgate_agent_up", "gauge", "1 while the agent runs, 0 once it stopped.", [({}, s.up)])
    metric("govgate_agent_info", "gauge", "The agent's version, host and identity.", [(s.info, 1)])
    metric(
        "govgate_agent_start_time_seconds",
        "gauge",
        "When the agent started (Unix time).",
        [({}, s.started)],
    )
    if s.last_poll is not None:
        metric(
            "govgate_agent_last_poll_timestamp_seconds",
            "gauge",
            "When the agent last read the gate (Unix time).",
            [({}, s.last_poll)],
        )
    metric(
        "govgate_agent_state",
        "gauge",
        "What the agent does now (1 for the current state).",
        [({"state": x}, x == s.state) for x in _STATES],
    )
    metric(
        "govgate_agent_database_up",
        "gauge",
        "1 when the agent's last attempt reached the database.",
        [({}, s.database_up)],
    )
    if s.status is not None:
        metric(
            "govgate_gate_status",
            "gauge",
            "The gate's word at the last poll (1 for the current one).",
            [({"status": w}, w == s.status) for w in WORDS],
        )
    if s.gap is not None:
        metric(
            "govgate_gap",
            "gauge",
            "The ownership gap (uncovered slots) at the last poll.",
            [({}, s.gap)],
        )
    metric(
        "govgate_agent_polls_total",
        "counter",
        "Polls of the gate by this agent process.",
        [({}, s.polls)],
    )
    metric(
        "govgate_rollouts_total",
        "counter",
        "Rollouts this agent process applied.",
        [({}, s.rollouts)],
    )
    metric("govgate_agent_errors_total", "counter",
           "Errors this agent process met (database out of reach, refused, aborted).",
           [({}, s.errors)])  # fmt: skip
    return "\n".join(out) + "\n"


def write(path: str, text: str) -> None:
    """Replace PATH with TEXT atomically (a temporary file beside it, then rename); mode 0644.

    Raises OSError when the folder cannot be written.
    """
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".govgate-metrics-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _labels(labels: dict) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
    return "{" + inner + "}"


def _escape(value) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    return repr(float(value)) if value != int(value) else str(int(value))
