"""After a rollout: verify it on committed state, and write its report files (JSON and text).

Both files carry the audit trail's head as read after the commit (its newest row's seq
and hash, in `verification.audit_head` and in one sentence of the text), so every report
is a checkpoint for `govgate audit verify --checkpoint`.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from .. import api
from ..config import Settings
from ..db.anchor import head_line
from ..errors import GovgateError, Refused
from ..runbook.report import sentences
from ..runbook.verify import VerifyResult
from ..text import escape
from .events import Event, event


def verify_and_report(settings: Settings, rollout_id: str) -> tuple[bool, list[Event]]:
    """Verify ROLLOUT_ID through the agent's connection and write its report files.

    Returns whether verification is green and the events that say what happened;
    a report that cannot be written is an event, never an exception.
    """
    verification = api.verify(settings, rollout_id)
    said = [
        event(
            "verified",
            "info" if verification.ok else "error",
            rollout=rollout_id,
            ok=verification.ok,
            failures=verification.failures,
        )
    ]
    try:
        report = dict(api.report(settings, rollout_id).data)
    except Refused:
        said.append(
            event(
                "report_failed",
                "error",
                rollout=rollout_id,
                error="the rollout has no report in the database",
            )
        )
        return verification.ok, said
    report.pop("state", None)  # the file holds the report as journaled with the rollout
    try:
        head: tuple[int, str] | None = api.audit_head(settings)
    except GovgateError as exc:
        head = None
        said.append(
            event("audit_head_unavailable", "warning", rollout=rollout_id, error=exc.message)
        )
    try:
        json_path, text_path = write_report(
            settings.report_dir, rollout_id, report, verification, audit_head=head
        )
    except OSError as exc:
        said.append(
            event(
                "report_failed",
                "error",
                rollout=rollout_id,
                dir=str(settings.report_dir),
                error=str(exc),
            )
        )
    else:
        said.append(
            event("report_written", rollout=rollout_id, json=str(json_path), text=str(text_path))
        )
    return verification.ok, said


def write_report(
    report_dir: str | os.PathLike,
    rollout_id: str,
    report: dict,
    verification: VerifyResult,
    *,
    audit_head: tuple[int, str] | None = None,
) -> tuple[Path, Path]:
    """Write REPORT_DIR/<rollout>.json and .txt (each atomically); returns both paths.

    AUDIT_HEAD, the audit trail's (seq, hash) after the commit, goes into both files
    (`verification.audit_head` with the time it was read, and one sentence of the text).
    """
    folder = Path(report_dir)
    folder.mkdir(parents=True, exist_ok=True)
    data = dict(report)
    data["verification"] = {
        "ok": verification.ok,
        "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in verification.checks],
    }
    head_sentence = []
    if audit_head is not None:
        seq, digest = audit_head
        at = datetime.now(UTC).isoformat(timespec="microseconds")
        data["verification"]["audit_head"] = {"seq": seq, "hash": digest, "at": at}
        head_sentence = [head_line(seq, digest, at)]
    words = "all green" if verification.ok else "FAILED"
    text = [
        *sentences(report),
        "",
        f"Verification after commit: {words}.",
        *[f"  {'✓' if c.ok else '✗'} {c.name}: {c.detail}" for c in verification.checks],
        *head_sentence,
    ]
    paths = folder / f"{rollout_id}.json", folder / f"{rollout_id}.txt"
    _atomic_write(paths[0], json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    _atomic_write(paths[1], "\n".join(escape(line) for line in text) + "\n")
    return paths


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
