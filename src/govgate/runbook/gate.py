"""The gate: BLOCKED, READY or APPLIED, and every reason why.

`evaluate` only reads. It is what `status` prints and what `apply` re-checks
inside its own transaction, under the lock, before writing anything.
"""

from __future__ import annotations

import json
from dataclasses import replace

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..config import Settings
from ..db import custody
from ..db import schema as s
from ..db.differences import differences
from ..db.privileges import privileges
from ..db.schema import require_tables
from ..db.state import State, read_state
from ..directus import identity
from . import proposal as prop
from .approval import custody_reasons, find_approvals
from .verdict import GateVerdict, Reason, Status
from .verify import checks, in_effect, record_edits, rollout_row


def evaluate(
    conn: Connection,
    settings: Settings,
    proposal_id: str | None = None,
    *,
    directus: bool | None = None,
) -> GateVerdict:
    """The gate's verdict for PROPOSAL_ID (default: the current proposal)."""
    require_tables(conn)
    pid = proposal_id or prop.current_id(conn)
    state = read_state(conn, pid)
    notes = list(_privilege_notes(conn))
    if pid is None:
        return GateVerdict(
            Status.BLOCKED,
            (
                Reason(
                    "no-proposal",
                    "no proposal has been frozen yet",
                    "an engineer runs `govgate propose PLAN`",
                ),
            ),
            None,
            None,
            state.gap,
            state.fingerprint,
            notes=tuple(notes),
            state=state,
        )
    proposal = prop.load(conn, pid)
    if proposal is None:
        return GateVerdict(
            Status.BLOCKED,
            (
                Reason(
                    "unknown-proposal",
                    f"there is no proposal {pid}",
                    "check the id with `govgate status`",
                ),
            ),
            pid,
            None,
            state.gap,
            state.fingerprint,
            state=state,
        )
    if directus is None:
        directus = identity.in_use(conn, settings)
    notes += [
        f"rollout {rid} of proposal {other} is also in effect "
        f"(`govgate rollback --rollout {rid}` undoes it)"
        for rid, other in in_effect(conn)
        if other != pid
    ]
    verdict = _applied_verdict(conn, settings, proposal, state, directus)
    if verdict is not None:
        return replace(verdict, proposal=proposal, state=state, notes=tuple(notes))
    reasons = _upgrade_reasons(conn) + _privilege_reasons(conn)
    if (
        settings.rehearsal
    ):  # on a scratch copy a privileged connection is expected: say it, don't block
        notes += [f"rehearsal: {r.message}" for r in reasons]
        reasons = []
    reasons += _drift_reasons(conn, proposal, state)
    backing, approval_reasons = find_approvals(conn, settings, proposal, directus)
    reasons += approval_reasons
    status = Status.READY if not reasons else Status.BLOCKED
    ready = backing if backing is not None and not reasons else None
    return GateVerdict(
        status,
        tuple(reasons),
        proposal.id,
        proposal.sha256,
        state.gap,
        state.fingerprint,
        ready.approvals[0].id if ready else None,
        notes=tuple(notes),
        approval_ids=tuple(a.id for a in ready.approvals) if ready else (),
        approvers=tuple(p.label for p in ready.people) if ready else (),
        proposal=proposal,
        state=state,
    )


def _applied_verdict(
    conn: Connection, settings: Settings, proposal: prop.Proposal, state: State, directus: bool
) -> GateVerdict | None:
    """APPLIED, DRIFTED or BLOCKED for the rollout in effect; None when none is."""
    if not state.rollouts:
        return None
    rollout_id = state.rollouts[0]
    row = rollout_row(conn, rollout_id)
    reasons = _upgrade_reasons(conn) + custody_reasons(
        conn, settings, proposal, rollout_id, row.approval_id, directus
    )
    records = json.loads(row.records)
    found = checks(conn, proposal, rollout_id, state, row, records)
    edits = record_edits(conn, rollout_id, records, state)
    fix = "run `govgate verify` for details, or `govgate rollback` to undo it"
    failed = [c for c in found if not c.ok and not (edits and c.name in _DRIFT_CHECKS)]
    reasons += [
        Reason("verify-failed", f"rollout {rollout_id} is in place but {c.detail}", fix)
        for c in failed
    ]
    status = Status.BLOCKED if reasons else Status.DRIFTED if edits else Status.APPLIED
    if status is Status.DRIFTED:
        who = identity.editors(conn, s.accountability.name) if directus else ()
        by = f"; in Directus by {', '.join(who)}" if who else ""
        reasons = [
            Reason(
                "drifted",
                f"rollout {rollout_id}: {e} (changed after it was applied{by})",
                "restore it, or `govgate rollback --force` removes the rollout's rows (audited)",
            )
            for e in edits
        ]
    return GateVerdict(
        status,
        tuple(reasons),
        proposal.id,
        proposal.sha256,
        state.gap,
        state.fingerprint,
        rollout_id=rollout_id,
    )


# Checks that fail because records drifted; DRIFTED says so instead of each failure.
_DRIFT_CHECKS = ("records", "gap", "conflicts")


def _upgrade_reasons(conn: Connection) -> list[Reason]:
    found = custody.revision(conn)
    if found == custody.HEAD:
        return []
    return [
        Reason(
            "schema-upgrade",
            f"govgate's tables are at revision {found}, this govgate "
            f"needs {custody.HEAD} (custody enforced by the database)",
            "run `govgate upgrade` (one transaction; as the tables' owner)",
        )
    ]


def _drift_reasons(conn: Connection, proposal: prop.Proposal, state: State) -> list[Reason]:
    if state.fingerprint == proposal.expected_fingerprint:
        return []
    diffs = differences(prop.expected_state(conn, proposal.id), state)
    fix = (
        "undo that change, or freeze a new proposal for the new state "
        "(`govgate propose` with a new proposal id) and have it ratified"
    )
    if not diffs:  # the state matches but the fingerprint does not: a different govgate version
        diffs = ["the fingerprint differs from the expected one"]
    return [Reason("drift", f"production differs from the expected state: {d}", fix) for d in diffs]


def _privilege_reasons(conn: Connection) -> list[Reason]:
    if conn.dialect.name == "sqlite":
        return []
    can = agent_can_write_approvals(conn)
    if not can:
        return []
    return [
        Reason(
            "agent-can-forge",
            f"the agent's database role ({_current_user(conn)}) can "
            f"{' and '.join(can)} os_proposal_approvals, so it could forge an approval",
            "run `govgate init --roles` and give the agent the `govgate_agent` role "
            "([agent] db in govgate.toml)",
        )
    ]


def _privilege_notes(conn: Connection) -> list[str]:
    if conn.dialect.name != "sqlite":
        return []
    return [
        "SQLite has no database roles: nothing stops a process with write access to the file "
        "from writing approvals; keep the file's permissions tight"
    ]


def agent_can_write_approvals(conn: Connection) -> list[str]:
    """The write privileges the connection's role has on os_proposal_approvals."""
    return privileges(conn, s.approvals.name, ("INSERT", "UPDATE"))


def _current_user(conn: Connection) -> str:
    return conn.execute(sa.text("SELECT current_user")).scalar()
