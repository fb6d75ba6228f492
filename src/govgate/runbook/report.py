"""The rollout report: the facts a non-technical owner asks for, as data.

`build_report` is called inside the rollout's transaction, so the report is
journaled with the change it describes. Rendering it (text, JSON, HTML) is
the renderer's job.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..db import schema as s
from ..db.state import State, conflicts
from ..errors import Refused
from ..guards import confinement as confine


@dataclass(frozen=True)
class Report:
    """A rollout's report as journaled, with its state now (applied or rolled back)."""

    data: dict


def load_report(conn: Connection, rollout_id: str | None = None) -> Report:
    """The report of ROLLOUT_ID (default: the most recent rollout). Refused when there is none."""
    r = s.rollouts.c
    query = sa.select(r.id, r.report, r.status, r.rolled_back_at)
    query = query.order_by(r.started_at.desc()).limit(1)
    if rollout_id:
        query = query.where(r.id == rollout_id)
    row = conn.execute(query).first()
    if row is None or row.report is None:
        raise Refused(
            f"no rollout {rollout_id}" if rollout_id else "there is no rollout to report on yet",
            hint="the agent writes a report after each rollout",
        )
    data = json.loads(row.report)
    data["state"] = row.status
    if row.status == "rolled_back":
        data["rolled_back_at"] = row.rolled_back_at
    return Report(data)


def build_report(
    conn: Connection,
    proposal,
    rollout_id: str,
    verdict,
    post: State,
    created: list[dict],
    duration_ms: int,
    guard: confine.Guard,
    dry_run: bool,
) -> dict:
    """The report of rollout ROLLOUT_ID as plain data."""
    return {
        "rollout": rollout_id,
        "proposal": proposal.id,
        "title": proposal.title,
        "approval": verdict.approval_id,
        "approvals": list(verdict.approval_ids),
        "approvers": list(verdict.approvers),
        "dry_run": dry_run,
        "gap_before": proposal.gap_before,
        "gap_after": post.gap,
        "conflicts": len(conflicts(post)),
        "external_emissions": 0,
        "external_emission_setting": post.external_emission,
        "protected_untouched": confine.protected_tables(conn, proposal.protected),
        "protected_patterns": list(proposal.protected),
        "records_created": len(proposal.slots),
        "records_by_authority": dict(proposal.records_by_authority),
        "objects_created": created,
        "written_tables": sorted(guard.tables),
        "duration_ms": duration_ms,
        "pre_fingerprint": verdict.fingerprint,
        "post_fingerprint": post.fingerprint,
        "undo": "govgate rollback",
        "status": "all green",
    }


def _approved_by(report: dict) -> str:
    ids = report.get("approvals") or [report["approval"]]
    people = report.get("approvers") or []
    if not people:  # a report from before approvers were named
        return f"Approved by approval {report['approval']}."
    pairs = [f"{who} (approval {a})" for who, a in zip(people, ids, strict=False)]
    return f"Approved by {' and '.join(pairs)}."


def sentences(report: dict) -> list[str]:
    """The report in plain words."""
    protected = report["protected_untouched"]
    by_auth = ", ".join(f"{a} {n}" for a, n in report["records_by_authority"].items())
    views = [o["name"] for o in report["objects_created"] if o["kind"] == "view"]
    boards = [o["name"] for o in report["objects_created"] if o["kind"] == "dashboard"]
    made = (
        ", ".join(
            filter(
                None,
                [
                    f"views {', '.join(views)}" if views else "",
                    f"Directus dashboard '{boards[0]}'" if boards else "",
                ],
            )
        )
        or "none"
    )
    lines = [
        f"Rollout {report['rollout']} of proposal {report['proposal']} ({report['title']})"
        + (" — DRY RUN, nothing was kept" if report["dry_run"] else ""),
        _approved_by(report),
        f"Ownership gap: {report['gap_before']} before, {report['gap_after']} after.",
        f"Conflicts: {report['conflicts']}.",
        f"External emissions: {report['external_emissions']} (external emission is "
        f"{report['external_emission_setting']}).",
        f"Protected collections untouched: {', '.join(protected) if protected else 'none exist'} "
        f"(protected: {', '.join(report['protected_patterns'])}).",
        f"Records created: {report['records_created']} accountability records ({by_auth}).",
        f"Dashboards created: {made}.",
        f"It took {report['duration_ms'] / 1000:.2f} s.",
        f"Verification: {report['status']}.",
        f"To undo it: {report['undo']}",
    ]
    if report.get("rolled_back_at"):
        lines.append(
            f"It was rolled back at {report['rolled_back_at']}; the gap is back to "
            f"{report['gap_before']}."
        )
    return lines
