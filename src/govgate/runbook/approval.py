"""Which approvals of a proposal stand behind it, and every reason the others do not.

An approval is usable when it names the proposal and its exact hash, no rollout ever used
it, it has not expired, the agent did not make it, whoever froze the proposal did not make
it (four eyes), it comes from a person the plan names (when it names any), its signature
holds (when it has one, or must have one), and, on a Directus database, Directus recorded
that a person created it and nobody edited it since, or a valid signature by an allowed
signer stands in for that record. The gate is READY when usable approvals come from as
many distinct people as the plan requires.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..config import Settings
from ..db import schema as s
from ..db.engine import table_names
from ..directus import identity
from . import proposal as prop
from .evidence import Approval, Person, approval_from_row, check, person
from .verdict import Reason


def approvals_for(
    conn: Connection, proposal_id: str, tables: set[str] | None = None
) -> list[Approval]:
    """Every approval of PROPOSAL_ID, in id order. TABLES: the database's tables, when the
    caller listed them already."""
    tables = table_names(conn) if tables is None else tables
    a = s.approvals.c
    columns = [a.id, a.proposal_id, a.proposal_sha256, a.approved_by, a.statement, a.approved_at]
    if s.approval_signatures.name in tables:  # revision v3
        columns.append(a.not_after)
    rows = conn.execute(sa.select(*columns).where(a.proposal_id == proposal_id).order_by(a.id))
    return [approval_from_row(r) for r in rows]


@dataclass(frozen=True)
class Backing:
    """The approvals that stand behind a proposal, one per person, and who they are."""

    approvals: tuple[Approval, ...]
    people: tuple[Person, ...]
    signers: tuple[str | None, ...]  # per approval: the signer's principal, None if unsigned


def find_approvals(
    conn: Connection, settings: Settings, proposal: prop.Proposal, directus: bool
) -> tuple[Backing | None, list[Reason]]:
    """The approvals that make PROPOSAL ready (None: not enough) and why others do not count."""
    tables = table_names(conn)  # once: every approval is judged against the same schema
    found = approvals_for(conn, proposal.id, tables)
    if not found:
        return None, [
            Reason(
                "no-approval",
                f"no approval exists for proposal {proposal.id}",
                _how_to_ratify(proposal.id, directus, bool(settings.directus_url)),
            )
        ]
    proposer = proposer_of(conn, proposal.id, directus)
    problems: list[Reason] = []
    chosen: list[tuple[Approval, Person, str | None]] = []
    for approval in found:
        who = person(conn, approval.approved_by, directus)
        why, signer = _unusable(conn, settings, proposal, approval, directus, who, proposer, tables)
        if why:
            problems += why
        elif not any(same_person(who, p) for _a, p, _s in chosen):
            chosen.append((approval, who, signer))
    required = 1 if settings.rehearsal else proposal.approvals.required
    if len(chosen) >= required:
        picked = chosen[:required]
        return Backing(*(tuple(x) for x in zip(*picked, strict=True))), []
    if chosen:
        missing = required - len(chosen)
        who = ", ".join(p.label for _a, p, _s in chosen)
        problems.append(
            Reason(
                "quorum",
                f"proposal {proposal.id} needs {_count(missing)} more approval"
                f"{'s' if missing > 1 else ''}: {required} distinct people must approve it, "
                f"and {len(chosen)} did ({who})",
                "another person ratifies it: `govgate ratify "
                f"{proposal.id} --approval-id {proposal.approval_id}-{len(found) + 1}`",
            )
        )
    return None, problems


def _how_to_ratify(proposal_id: str, directus: bool, server: bool) -> str:
    if directus and not server:  # a Directus database with no server to ask: only signed
        return f"a human ratifies it, signing: `govgate ratify {proposal_id} --sign-key KEY`"
    return f"a human ratifies it: `govgate ratify {proposal_id}`" + (
        " or approves it in the Directus app" if directus else ""
    )


def _count(n: int) -> str:
    return {1: "one", 2: "two", 3: "three"}.get(n, str(n))


def same_person(a: Person, b: Person) -> bool:
    """Whether A and B are one person: the same key, or a name they share."""
    return a.key == b.key or bool(a.names & b.names)


def proposer_of(conn: Connection, proposal_id: str, directus: bool) -> Person | None:
    created_by = conn.execute(
        sa.select(s.proposals.c.created_by).where(s.proposals.c.id == proposal_id)
    ).scalar()
    return person(conn, created_by, directus) if created_by else None


def _unusable(
    conn: Connection,
    settings: Settings,
    proposal: prop.Proposal,
    approval: Approval,
    directus: bool,
    who: Person,
    proposer: Person | None,
    tables: set[str],
    used_by: str | None = None,
) -> tuple[list[Reason], str | None]:
    """Why APPROVAL cannot stand behind PROPOSAL, and its signer's principal when signed.

    USED_BY: the one rollout that may have used it (its expiry is then no longer asked).
    """
    fix_new = f"a human ratifies proposal {proposal.id} again: `govgate ratify {proposal.id}`"
    if is_rehearsal_approval(approval) and not settings.rehearsal:
        return [
            Reason(
                "rehearsal-approval",
                f"approval {approval.id} is a rehearsal-only approval, "
                "which never counts outside a rehearsal copy",
                fix_new,
            )
        ], None
    if settings.rehearsal and not is_rehearsal_approval(approval):
        return [
            Reason(
                "not-rehearsal",
                f"approval {approval.id} is not a rehearsal approval",
                "the rehearsal makes its own",
            )
        ], None
    if approval.proposal_sha256 != proposal.sha256:
        return [
            Reason(
                "wrong-hash",
                f"approval {approval.id} carries hash "
                f"{(approval.proposal_sha256 or '')[:12]}…, but proposal {proposal.id} has "
                f"{proposal.sha256[:12]}… (it approves something else)",
                fix_new,
            )
        ], None
    used = conn.execute(
        sa.select(s.rollouts.c.id, s.rollouts.c.status).where(
            s.rollouts.c.approval_id == approval.id, s.rollouts.c.id != (used_by or "")
        )
    ).first()
    if used is None and s.approval_uses.name in tables:
        used = conn.execute(
            sa.select(s.approval_uses.c.rollout_id, sa.literal("co-approval")).where(
                s.approval_uses.c.approval_id == approval.id,
                s.approval_uses.c.rollout_id != (used_by or ""),
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
        ], None
    agent_ids = agent_identities(conn, settings, directus)
    if approval.approved_by in agent_ids or who.names & {x.lower() for x in agent_ids}:
        return [
            Reason(
                "agent-approval",
                f"approval {approval.id} was made by the agent's own identity "
                f"({who.label}); the agent can never ratify",
                fix_new,
            )
        ], None
    if settings.rehearsal:  # the rehearsal's own approval stands in for the people's
        return [], None
    reasons: list[Reason] = []
    if proposer is not None and same_person(proposer, who):
        reasons.append(
            Reason(
                "four-eyes",
                f"approval {approval.id} was made by {who.label}, who froze proposal "
                f"{proposal.id}: whoever proposes a change cannot also approve it",
                f"another person ratifies it: `govgate ratify {proposal.id}`",
            )
        )
    allowed = {x.lower() for x in proposal.approvals.from_}
    if allowed and not who.names & allowed:
        reasons.append(
            Reason(
                "not-an-approver",
                f"approval {approval.id} was made by {who.label}, who is not one of the "
                f"approvers the plan names ({', '.join(proposal.approvals.from_)})",
                f"one of them ratifies it: `govgate ratify {proposal.id}`",
            )
        )
    verdict = check(
        conn, settings, proposal, approval, who, used=used_by is not None, tables=tables
    )
    found = list(verdict.reasons)
    if directus:
        provenance = _provenance_reasons(conn, approval, agent_ids, fix_new)
        if verdict.signer is not None:  # a valid signature stands in for the activity record
            provenance = [r for r in provenance if r.code != "no-provenance"]
        if any(r.code == "no-provenance" for r in provenance):  # no date: Directus never saw it
            found = [r for r in found if r.code != "approval-undated"]
        found = provenance + found
    return reasons + found, verdict.signer


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
    # through its API or app, SQL leaves none, and neither govgate role can write it.
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
    """Why the rollout in effect is not backed by genuine, used-once human approvals.

    The rollout's approvals (its own and the co-approvals recorded as used by it) must
    exist, carry the proposal's hash, pass every human check a READY gate asks for except
    expiry, come from as many distinct people as the plan requires, and be recorded as used
    by this rollout alone.
    """
    fix = f"run `govgate rollback --rollout {rollout_id}` and have a human ratify again"
    tables = table_names(conn)
    every = {a.id: a for a in approvals_for(conn, proposal.id, tables)}
    if approval_id not in every:
        return [
            Reason(
                "custody",
                f"rollout {rollout_id} names approval {approval_id}, which "
                f"does not exist for proposal {proposal.id}: nobody approved it",
                fix,
            )
        ]
    names = [approval_id]
    reasons: list[Reason] = []
    if s.approval_uses.name in tables:
        u = s.approval_uses.c
        names += [
            a
            for a in conn.execute(sa.select(u.approval_id).where(u.rollout_id == rollout_id))
            .scalars()
            .all()
            if a != approval_id
        ]
        users = conn.execute(sa.select(u.rollout_id).where(u.approval_id == approval_id))
        users = users.scalars().all()
        if users != [rollout_id]:
            reasons.append(
                Reason(
                    "custody",
                    f"approval {approval_id} is not recorded as used by rollout "
                    f"{rollout_id} alone (recorded: {', '.join(users) or 'no use'})",
                    fix,
                )
            )
    proposer = proposer_of(conn, proposal.id, directus)
    people: list[Person] = []
    for name in names:
        if name not in every:
            reasons.append(
                Reason("custody", f"co-approval {name} does not exist for {proposal.id}", fix)
            )
            continue
        who = person(conn, every[name].approved_by, directus)
        why, _signer = _unusable(
            conn, settings, proposal, every[name], directus, who, proposer, tables, rollout_id
        )
        reasons += why
        if not any(same_person(who, p) for p in people):
            people.append(who)
    if not reasons and not settings.rehearsal and len(people) < proposal.approvals.required:
        reasons.append(
            Reason(
                "quorum",
                f"it used approvals of {len(people)} distinct people, and the plan requires "
                f"{proposal.approvals.required}",
                fix,
            )
        )
    return [Reason("custody", f"rollout {rollout_id}: {r.message}", fix) for r in reasons]
