"""The audit trail: an append-only hash chain in os_audit.

Each row's hash covers its own fields and the previous row's hash, so editing,
deleting or reordering any row breaks the chain from there on. Appends happen
inside the caller's transaction, after govgate's lock, so the chain is linear.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import schema as s
from .state import canonical_json, sha256_hex

GENESIS = "0" * 64


class Kind(str, enum.Enum):
    """The closed set of audit event kinds."""

    INIT = "init"
    PROPOSAL = "proposal"
    RATIFICATION = "ratification"
    ROLLOUT = "rollout"
    ABORT = "abort"
    ROLLBACK = "rollback"
    FORCED = "forced"
    REHEARSAL = "rehearsal"


@dataclass(frozen=True)
class AuditEvent:
    seq: int
    at: str
    kind: str
    actor: str
    proposal_id: str | None
    rollout_id: str | None
    detail: dict
    prev_hash: str
    hash: str

    def expected_hash(self) -> str:
        return _hash(
            self.seq,
            self.at,
            self.kind,
            self.actor,
            self.proposal_id,
            self.rollout_id,
            self.detail,
            self.prev_hash,
        )


@dataclass(frozen=True)
class ChainCheck:
    """Result of `audit verify`: ok, how many rows, and the first broken row."""

    ok: bool
    rows: int
    broken_at: int | None = None
    problem: str | None = None


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _hash(seq, at, kind, actor, proposal_id, rollout_id, detail, prev_hash) -> str:
    body = canonical_json([seq, at, kind, actor, proposal_id, rollout_id, detail, prev_hash])
    return sha256_hex(body)


def append(
    conn: Connection,
    kind: Kind,
    actor: str,
    *,
    proposal_id: str | None = None,
    rollout_id: str | None = None,
    detail: dict | None = None,
) -> AuditEvent:
    """Append one event inside the caller's transaction; returns it."""
    last = conn.execute(
        sa.select(s.audit.c.seq, s.audit.c.hash).order_by(s.audit.c.seq.desc()).limit(1)
    ).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    detail = json.loads(canonical_json(detail or {}))
    at = now_iso()
    digest = _hash(seq, at, kind.value, actor, proposal_id, rollout_id, detail, prev)
    conn.execute(
        s.audit.insert().values(
            seq=seq,
            at=at,
            kind=kind.value,
            actor=actor,
            proposal_id=proposal_id,
            rollout_id=rollout_id,
            detail=canonical_json(detail),
            prev_hash=prev,
            hash=digest,
        )
    )
    return AuditEvent(seq, at, kind.value, actor, proposal_id, rollout_id, detail, prev, digest)


def events(conn: Connection, limit: int | None = None) -> list[AuditEvent]:
    """The trail, oldest first (the newest LIMIT when given)."""
    query = sa.select(s.audit).order_by(s.audit.c.seq.desc() if limit else s.audit.c.seq)
    if limit:
        query = query.limit(limit)
    rows = [
        AuditEvent(
            r.seq,
            r.at,
            r.kind,
            r.actor,
            r.proposal_id,
            r.rollout_id,
            json.loads(r.detail),
            r.prev_hash,
            r.hash,
        )
        for r in conn.execute(query)
    ]
    return sorted(rows, key=lambda e: e.seq)


def verify_chain(conn: Connection) -> ChainCheck:
    """Walks the whole chain; reports the first row that was edited, removed or reordered."""
    prev, expected_seq, count = GENESIS, 1, 0
    for event in events(conn):
        count += 1
        problem = None
        if event.seq != expected_seq:
            problem = f"row {expected_seq} is missing (next row is {event.seq})"
        elif event.kind not in {k.value for k in Kind}:
            problem = f"row {event.seq} has an unknown kind '{event.kind}'"
        elif event.prev_hash != prev:
            problem = (
                f"row {event.seq} does not follow row {event.seq - 1} (a row was edited or removed)"
            )
        elif event.hash != event.expected_hash():
            problem = f"row {event.seq} was edited after it was written"
        if problem:
            return ChainCheck(False, count, event.seq, problem)
        prev, expected_seq = event.hash, expected_seq + 1
    missing = _unrecorded(conn)
    if missing:
        return ChainCheck(False, count, None, missing)
    return ChainCheck(True, count)


def _unrecorded(conn: Connection) -> str | None:
    """A journal entry with no audit event means rows were cut from the chain's end."""
    trail = events(conn)
    seen = {
        (e.kind, e.proposal_id if e.kind == Kind.PROPOSAL.value else e.rollout_id) for e in trail
    }
    for (
        e
    ) in trail:  # a forced rollback says so in its own (hashed) row: its `forced` row must follow
        forced = e.kind == Kind.ROLLBACK.value and e.detail.get("forced")
        if forced and (Kind.FORCED.value, e.rollout_id) not in seen:
            return (
                f"the forced rollback of {e.rollout_id} has no `forced` audit row "
                "(rows were removed from the trail)"
            )
    for (pid,) in conn.execute(sa.select(s.proposals.c.id)):
        if (Kind.PROPOSAL.value, pid) not in seen:
            return f"proposal {pid} has no audit row (rows were removed from the trail)"
    for rid, status in conn.execute(sa.select(s.rollouts.c.id, s.rollouts.c.status)):
        if (Kind.ROLLOUT.value, rid) not in seen:
            return f"rollout {rid} has no audit row (rows were removed from the trail)"
        if status == "rolled_back" and (Kind.ROLLBACK.value, rid) not in seen:
            return f"the rollback of {rid} has no audit row (rows were removed from the trail)"
    return None
