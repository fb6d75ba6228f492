"""Which approval of a proposal is usable, and every reason the others are not.

An approval is usable when it names the proposal and its exact hash, no rollout
ever used it, the agent did not make it, and, on a Directus database, Directus
itself recorded that a person created it and nobody edited it since.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..config import Settings
from ..db import schema as s
from ..directus import identity
from . import proposal as prop
from .verdict import Reason


@dataclass(frozen=True)
class Approval:
    id: str
    proposal_id: str
    proposal_sha256: str
    approved_by: str | None
    statement: str | None


def approvals_for(conn: Connection, proposal_id: str) -> list[Approval]:
    a = s.approvals.c
    rows = conn.execute(
        sa.select(a.id, a.proposal_id, a.proposal_sha256, a.approved_by, a.statement)
        .where(a.proposal_id == proposal_id)
        .order_by(a.id)
    )
    return [Approval(*r) for r in rows]


def find_approval(
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
    used_by: str | None = None,
) -> list[Reason]:
    """Why APPROVAL cannot stand behind PROPOSAL; USED_BY: the one rollout that may use it."""
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
            s.rollouts.c.approval_id == approval.id, s.rollouts.c.id != (used_by or "")
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


def custody_reasons(
    conn: Connection,
    settings: Settings,
    proposal: prop.Proposal,
    rollout_id: str,
    approval_id: str,
    directus: bool,
) -> list[Reason]:
    """Why the rollout in effect is not backed by a genuine, used-once human approval.

    The rollout's approval must exist, carry the proposal's hash, pass every human check a
    READY gate asks for, and be recorded as used by this rollout alone.
    """
    fix = f"run `govgate rollback --rollout {rollout_id}` and have a human ratify again"
    found = [a for a in approvals_for(conn, proposal.id) if a.id == approval_id]
    if not found:
        return [
            Reason(
                "custody",
                f"rollout {rollout_id} names approval {approval_id}, which "
                f"does not exist for proposal {proposal.id}: nobody approved it",
                fix,
            )
        ]
    reasons = _unusable(conn, settings, proposal, found[0], directus, used_by=rollout_id)
    if s.approval_uses.name in sa.inspect(conn).get_table_names():
        users = (
            conn.execute(
                sa.select(s.approval_uses.c.rollout_id).where(
                    s.approval_uses.c.approval_id == approval_id
                )
            )
            .scalars()
            .all()
        )
        if users != [rollout_id]:
            reasons.append(
                Reason(
                    "custody",
                    f"approval {approval_id} is not recorded as used by rollout "
                    f"{rollout_id} alone (recorded: {', '.join(users) or 'no use'})",
                    fix,
                )
            )
    return [Reason("custody", f"rollout {rollout_id}: {r.message}", fix) for r in reasons]
