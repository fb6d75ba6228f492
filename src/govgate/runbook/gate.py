"""The gate: BLOCKED, READY or APPLIED, and every reason why.

`evaluate` only reads. It is what `status` prints and what `apply` re-checks
inside its own transaction, under the lock, before writing anything.
"""

from __future__ import annotations

from dataclasses import replace

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..config import Settings
from ..db import schema as s
from ..db.engine import privileges
from ..db.state import State, differences, read_state, require_tables
from ..directus import identity
from . import proposal as prop
from .approval import find_approval
from .verdict import GateVerdict, Reason, Status
from .verify import check_rollout


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
    verdict = _applied_verdict(conn, proposal, state)
    if verdict is not None:
        return replace(verdict, proposal=proposal, state=state)
    reasons = _privilege_reasons(conn)
    if (
        settings.rehearsal
    ):  # on a scratch copy a privileged connection is expected: say it, don't block
        notes += [f"rehearsal: {r.message}" for r in reasons]
        reasons = []
    reasons += _drift_reasons(conn, proposal, state)
    approval, approval_reasons = find_approval(conn, settings, proposal, directus)
    reasons += approval_reasons
    status = Status.READY if not reasons else Status.BLOCKED
    return GateVerdict(
        status,
        tuple(reasons),
        proposal.id,
        proposal.sha256,
        state.gap,
        state.fingerprint,
        approval.id if approval and not reasons else None,
        notes=tuple(notes),
        proposal=proposal,
        state=state,
    )


def _applied_verdict(conn: Connection, proposal: prop.Proposal, state: State) -> GateVerdict | None:
    if not state.rollouts:
        return None
    rollout_id = state.rollouts[0]
    failures = check_rollout(conn, proposal, rollout_id, state)
    if not failures:
        return GateVerdict(
            Status.APPLIED,
            (),
            proposal.id,
            proposal.sha256,
            state.gap,
            state.fingerprint,
            rollout_id=rollout_id,
        )
    reasons = tuple(
        Reason(
            "verify-failed",
            f"rollout {rollout_id} is in place but {f}",
            "run `govgate verify` for details, or `govgate rollback` to undo it",
        )
        for f in failures
    )
    return GateVerdict(
        Status.BLOCKED,
        reasons,
        proposal.id,
        proposal.sha256,
        state.gap,
        state.fingerprint,
        rollout_id=rollout_id,
    )


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
    if conn.dialect.name != "postgresql":
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
    if conn.dialect.name == "postgresql":
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
