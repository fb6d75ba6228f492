"""The gate (SPEC section 3): BLOCKED, READY or APPLIED, and every reason why.

`evaluate` only reads. It is what `status` prints and what `apply` re-checks
inside its own transaction, under the lock, before writing anything.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..config import Settings
from ..db import schema as s
from ..db.engine import privileges
from ..db.state import State, differences, read_state, require_tables
from ..directus import identity
from . import proposal as prop
from .verify import check_rollout


class Status(str, enum.Enum):
    BLOCKED = "BLOCKED"
    READY = "READY"
    APPLIED = "APPLIED"


@dataclass(frozen=True)
class Reason:
    """Why the gate is not READY, in plain words, and what would clear it."""

    code: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.message} — {self.fix}" if self.fix else self.message


@dataclass(frozen=True)
class GateVerdict:
    """The gate's word, every reason, and what it judged: the proposal and the state.

    `apply` acts on exactly what the verdict judged, so it reads neither twice.
    """

    status: Status
    reasons: tuple[Reason, ...]
    proposal_id: str | None
    proposal_sha256: str | None
    gap: int
    fingerprint: str
    approval_id: str | None = None
    rollout_id: str | None = None
    notes: tuple[str, ...] = ()
    proposal: prop.Proposal | None = field(default=None, repr=False, compare=False)
    state: State | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Approval:
    id: str
    proposal_id: str
    proposal_sha256: str
    approved_by: str | None
    statement: str | None


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
    approval, approval_reasons = _find_approval(conn, settings, proposal, directus)
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


def approvals_for(conn: Connection, proposal_id: str) -> list[Approval]:
    a = s.approvals.c
    rows = conn.execute(
        sa.select(a.id, a.proposal_id, a.proposal_sha256, a.approved_by, a.statement)
        .where(a.proposal_id == proposal_id)
        .order_by(a.id)
    )
    return [Approval(*r) for r in rows]


def _find_approval(
    conn: Connection, settings: Settings, proposal: prop.Proposal, directus: bool
) -> tuple[Approval | None, list[Reason]]:
    found = approvals_for(conn, proposal.id)
    if not found:
        return None, [
            Reason(
                "no-approval",
                f"no approval exists for proposal {proposal.id}",
                f"a human ratifies it: `govgate ratify {proposal.id}`"
                + (" or creates the approval in the Directus app" if directus else ""),
            )
        ]
    problems: list[Reason] = []
    for approval in found:
        why = _unusable(conn, settings, proposal, approval, directus)
        if not why:
            return approval, []
        problems += why
    return None, problems


def _unusable(
    conn: Connection,
    settings: Settings,
    proposal: prop.Proposal,
    approval: Approval,
    directus: bool,
) -> list[Reason]:
    fix_new = f"a human ratifies proposal {proposal.id} again: `govgate ratify {proposal.id}`"
    if is_rehearsal_approval(approval) and not settings.rehearsal:
        return [
            Reason(
                "rehearsal-approval",
                f"approval {approval.id} is a rehearsal-only approval, "
                "which never counts outside a rehearsal copy",
                fix_new,
            )
        ]
    if settings.rehearsal and not is_rehearsal_approval(approval):
        return [
            Reason(
                "not-rehearsal",
                f"approval {approval.id} is not a rehearsal approval",
                "the rehearsal makes its own",
            )
        ]
    if approval.proposal_sha256 != proposal.sha256:
        return [
            Reason(
                "wrong-hash",
                f"approval {approval.id} carries hash "
                f"{(approval.proposal_sha256 or '')[:12]}…, but proposal {proposal.id} has "
                f"{proposal.sha256[:12]}… (it approves something else)",
                fix_new,
            )
        ]
    used = conn.execute(
        sa.select(s.rollouts.c.id, s.rollouts.c.status).where(
            s.rollouts.c.approval_id == approval.id
        )
    ).first()
    if used is not None:
        rid, status = used
        what = "rolled-back rollout" if status == "rolled_back" else "rollout"
        return [
            Reason(
                "approval-used",
                f"approval {approval.id} was used by {what} {rid}; a new ratification is needed",
                fix_new,
            )
        ]
    agent_ids = agent_identities(conn, settings, directus)
    if approval.approved_by in agent_ids:
        return [
            Reason(
                "agent-approval",
                f"approval {approval.id} was made by the agent's own identity "
                f"({approval.approved_by}); the agent can never ratify",
                fix_new,
            )
        ]
    if directus and not settings.rehearsal:
        return _provenance_reasons(conn, approval, agent_ids, fix_new)
    return []


REHEARSAL_PREFIX = "REHEARSAL-"


def is_rehearsal_approval(approval: Approval) -> bool:
    """Rehearsal approvals are marked by their id; production never accepts one."""
    return approval.id.startswith(REHEARSAL_PREFIX)


def agent_identities(conn: Connection, settings: Settings, directus: bool) -> set[str]:
    """Every name the agent goes by: its configured identity and its Directus user."""
    ids = {settings.agent_identity}
    user = settings.directus_agent_user
    if directus and user:
        ids.add(user)
        found = identity.user_id(conn, user)
        if found:
            ids.add(found)
    return ids


def _provenance_reasons(
    conn: Connection, approval: Approval, agent_ids: set[str], fix: str
) -> list[Reason]:
    # Only directus_activity is trusted: Directus writes it itself for every item made
    # through its API or app, SQL leaves none, and the agent's role cannot write it.
    # Revisions are not used: they hold the values as the client sent them.
    fix = (
        f"a person creates a new approval of {approval.proposal_id} in the Directus app or API "
        f"(or runs `govgate ratify {approval.proposal_id}`)"
    )
    seen = identity.provenance(conn, s.approvals.name, approval.id)
    if not seen.creators:
        return [
            Reason(
                "no-provenance",
                f"approval {approval.id} was not created by a person in Directus: "
                "no `create` activity records it (rows inserted with SQL leave none)",
                fix,
            )
        ]
    if any(c is None or c in agent_ids for c in seen.creators):
        return [
            Reason(
                "agent-approval",
                f"approval {approval.id} was created in Directus by the agent's "
                "user or by no user at all",
                fix,
            )
        ]
    if seen.editors:
        who = ", ".join(sorted({e or "no user" for e in seen.editors}))
        return [
            Reason(
                "approval-edited",
                f"approval {approval.id} was edited in Directus after it was "
                f"created (by {who}); an approval is made once and never changed",
                fix,
            )
        ]
    creator = seen.creators[-1]
    if approval.approved_by is not None and identity.user_id(conn, approval.approved_by) != creator:
        return [
            Reason(
                "approver-mismatch",
                f"approval {approval.id} names {approval.approved_by} as its "
                f"approver, but Directus recorded its creation by user {creator}: the row was "
                "changed outside Directus",
                fix,
            )
        ]
    return []


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
