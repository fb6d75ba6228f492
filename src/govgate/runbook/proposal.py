"""Proposals: a plan frozen against production's state, with its hash.

A `Proposal` is inert. It describes itself (authority by authority) and its
reverse without a connection; `freeze` stores one, `load` reads one back.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cached_property, partial
from operator import attrgetter

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..db import audit
from ..db import schema as s
from ..db.state import Slot, State, canonical_json, read_state, sha256_hex
from ..errors import BadInput, DatabaseError, Refused
from .plan import Approvals, Plan
from .resolve import resolve


@dataclass(frozen=True)
class Proposal:
    """The exact records a ratification approves, and the state they expect."""

    id: str
    approval_id: str
    title: str
    protected: tuple[str, ...]
    slots: tuple[Slot, ...]
    expected_fingerprint: str
    gap_before: int
    predicted_gap: int
    approvals: Approvals = Approvals()

    def body(self) -> str:
        """The canonical JSON the proposal hash is taken of (computed once: it is immutable)."""
        return self._body

    @cached_property
    def records_by_authority(self) -> dict[str, int]:
        """Authority -> how many of the slots it takes, in the authorities' order (read-only:
        the report and the dashboard both ask)."""
        return dict(sorted(Counter(map(_AUTHORITY, self.slots)).items()))

    @cached_property
    def _body(self) -> str:
        """The canonical JSON the proposal hash is taken of.

        Who must approve is part of it; a plan that asks only for the default (one person,
        anyone, the configured validity) leaves the key out, so earlier hashes still hold.
        """
        body = {
            "id": self.id,
            "approval_id": self.approval_id,
            "title": self.title,
            "protected": list(self.protected),
            "slots": self.slots,  # tuples: written as JSON arrays, like lists
            "expected_fingerprint": self.expected_fingerprint,
            "gap_before": self.gap_before,
            "predicted_gap": self.predicted_gap,
        }
        if not self.approvals.is_default():
            a = self.approvals
            body["approvals"] = {"required": a.required, "from": list(a.from_)}
            if a.valid_days is not None:
                body["approvals"]["valid_days"] = a.valid_days
        return canonical_json(body)

    @cached_property
    def sha256(self) -> str:
        return sha256_hex(self._body)

    @classmethod
    def from_body(cls, body: str) -> Proposal:
        """The proposal BODY (as `body()` wrote it) describes; its hash is of BODY as stored."""
        d = json.loads(body)
        slots = tuple(map(_slot, d["slots"]))
        if set(map(len, slots)) - {3}:  # what Slot._make refused, checked in one pass
            raise DatabaseError(
                f"proposal {d['id']}: its stored body holds a slot that is not "
                "[collection, duty, authority]",
                hint="the proposal row was edited outside govgate; freeze a new proposal",
            )
        proposal = cls(
            d["id"],
            d["approval_id"],
            d["title"],
            tuple(d["protected"]),
            slots,
            d["expected_fingerprint"],
            d["gap_before"],
            d["predicted_gap"],
            _approvals(d.get("approvals")),
        )
        # The stored text is the canonical body: rebuilding it from 60,000 slots took longer
        # than the rest of a `status` together.
        proposal.__dict__["_body"] = body
        return proposal

    def by_authority(self) -> dict[str, dict[str, list[str]]]:
        """authority -> collection -> duties it becomes accountable for."""
        out: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for slot in self.slots:
            out[slot.authority][slot.collection].append(slot.duty)
        return {a: dict(c) for a, c in sorted(out.items())}

    def describe(self) -> list[str]:
        """What approving this proposal means, in plain sentences."""
        lines = [
            f"Proposal {self.id}: {self.title}",
            f"Approving it makes {len(self.by_authority())} authorities accountable for "
            f"{len(self.slots)} slots; the ownership gap goes from {self.gap_before} "
            f"to {self.predicted_gap}.",
        ]
        for authority, cols in self.by_authority().items():
            lines.append(
                f"{authority} becomes accountable for {sum(map(len, cols.values()))} "
                f"slots in {len(cols)} collections:"
            )
            lines += [f"  {c}: {', '.join(d)}" for c, d in cols.items()]
        return lines

    def describe_reverse(self) -> list[str]:
        """What rolling the proposal back does, without a connection."""
        return [
            f"Rollback removes the {len(self.slots)} accountability rows this proposal adds "
            f"and its dashboard views; the gap returns to {self.gap_before}.",
            "Command: govgate rollback",
        ]


_AUTHORITY = attrgetter("authority")
_slot = partial(tuple.__new__, Slot)  # Slot._make without a Python call per slot


def _approvals(data: dict | None) -> Approvals:
    if not data:
        return Approvals()
    return Approvals(data["required"], tuple(data["from"]), data.get("valid_days"))


@dataclass(frozen=True)
class ProposeResult:
    proposal: Proposal
    created: bool  # False: the identical proposal was already frozen


def build(plan: Plan, state: State) -> Proposal:
    """The proposal PLAN makes against STATE. Raises PlanError on any problem."""
    slots = resolve(plan, state)
    return Proposal(
        plan.proposal,
        plan.approval,
        plan.title,
        plan.protected,
        slots,
        state.fingerprint,
        state.gap,
        state.gap - len(slots),
        plan.approvals,
    )


def freeze(conn: Connection, plan: Plan, actor: str) -> ProposeResult:
    """Validate PLAN against the database and store it as a proposal.

    Proposing the identical plan again is a no-op; a different plan under an
    existing proposal id raises Refused. Raises PlanError (nothing written) when
    the plan does not fit the database.
    """
    state = read_state(conn, plan.proposal)
    proposal = build(plan, state)
    existing = load(conn, plan.proposal)
    if existing is not None:
        if existing.sha256 == proposal.sha256:
            return ProposeResult(existing, created=False)
        raise Refused(
            f"proposal {plan.proposal} already exists with hash {existing.sha256[:12]}…, "
            f"and this plan differs (hash {proposal.sha256[:12]}…)",
            hint="give the changed plan a new proposal id; an approval never carries over",
        )
    if not proposal.slots:
        raise BadInput(
            f"{plan.file}: the plan assigns no slot that is not already in place",
            hint="nothing to do: every slot it names is held already",
        )
    conn.execute(
        s.proposals.insert().values(
            id=proposal.id,
            approval_id=proposal.approval_id,
            title=proposal.title,
            sha256=proposal.sha256,
            body=proposal.body(),
            expected_state=canonical_json(state.canonical()),
            plan_file=plan.file,
            plan_text=plan.text,
            created_at=audit.now_iso(),
            created_by=actor,
        )
    )
    audit.append(
        conn,
        audit.Kind.PROPOSAL,
        actor,
        proposal_id=proposal.id,
        detail={
            "sha256": proposal.sha256,
            "slots": len(proposal.slots),
            "gap_before": proposal.gap_before,
            "predicted_gap": proposal.predicted_gap,
        },
    )
    return ProposeResult(proposal, created=True)


def load(conn: Connection, proposal_id: str) -> Proposal | None:
    body = conn.execute(
        sa.select(s.proposals.c.body).where(s.proposals.c.id == proposal_id)
    ).scalar()
    return Proposal.from_body(body) if body else None


def expected_state(conn: Connection, proposal_id: str) -> State:
    text = conn.execute(
        sa.select(s.proposals.c.expected_state).where(s.proposals.c.id == proposal_id)
    ).scalar_one()
    return State.from_canonical(json.loads(text))


def current_id(conn: Connection) -> str | None:
    """The proposal the gate is about: the most recently frozen one."""
    return conn.execute(
        sa.select(s.proposals.c.id)
        .order_by(s.proposals.c.created_at.desc(), s.proposals.c.id.desc())
        .limit(1)
    ).scalar()
