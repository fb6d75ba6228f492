"""The audit trail: an append-only hash chain in os_audit.

Each row's hash covers its own fields and the previous row's hash, so editing,
deleting or reordering any row breaks the chain from there on. Appends happen
inside the caller's transaction, after govgate's lock, so the chain is linear.

The chain alone cannot see rows cut from its end, nor a chain re-hashed from an
edited row onwards. Two things see them:

- the journal: every proposal, rollout, rollback and forced rollback, and every
  approval `govgate ratify` made, must have its audit row (`_unrecorded`);
- a checkpoint (db.anchor: the head.json of an export, or a report file): the row it
  names must still exist and still have the hash it recorded. A truncation back to
  or before it, or any rewrite of the rows up to it, changes that row or removes it.

An `abort` leaves no journal row (the rollout it stopped left nothing behind), so
deleting the newest abort, or any newest row nothing in the journal points to, is
only detectable against a checkpoint or a report that saw it.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import custody, evidence
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
    UPGRADE = "upgrade"


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
    """Result of `audit verify`: ok, how many rows, the first broken row, and the head."""

    ok: bool
    rows: int
    broken_at: int | None = None
    problem: str | None = None
    head_seq: int = 0  # the newest row as read (0 and GENESIS: an empty trail)
    head_hash: str = GENESIS


@dataclass(frozen=True)
class Checkpoint:
    """A head of the trail kept outside the database: row SEQ had HASH at AT (read from SOURCE)."""

    seq: int
    hash: str
    at: str
    source: str
    database_id: str | None = None


@dataclass(frozen=True)
class AnchoredCheck(ChainCheck):
    """`audit verify --checkpoint`: the chain check, held against CHECKPOINT as well."""

    checkpoint: Checkpoint | None = None


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
    row = dict(
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
    if custody.appends_through_function(conn):
        # Roles may not insert into os_audit: govgate's function checks the kind the role
        # may write and that the row follows the last one (db/custody.py).
        conn.execute(custody.APPEND_CALL, row)
    else:
        conn.execute(s.audit.insert().values(**row))
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


def verify_chain(
    conn: Connection, *, directus: bool | None = None, checkpoint: Checkpoint | None = None
) -> ChainCheck:
    """Walks the whole chain, then holds it against CHECKPOINT and the journal.

    Reports the first row that was edited, removed or reordered; else the first
    difference from the checkpoint (rows cut from the end back to it, or the chain
    rewritten up to it); else the first journal entry with no audit row. DIRECTUS
    (None: detected from the tables) exempts approvals created in the Directus app,
    which have no `ratification` row. Deleting the newest `abort` row (or any newest
    row nothing in the journal points to) is only seen against a checkpoint that saw it.
    """
    trail = events(conn)
    head = {"head_seq": trail[-1].seq, "head_hash": trail[-1].hash} if trail else {}
    if checkpoint is not None:
        head["checkpoint"] = checkpoint
    result = AnchoredCheck if checkpoint is not None else ChainCheck
    prev, expected_seq, count = GENESIS, 1, 0
    for event in trail:
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
            return result(False, count, event.seq, problem, **head)
        prev, expected_seq = event.hash, expected_seq + 1
    if checkpoint is not None:
        differs = checkpoint_problem(trail, checkpoint, database_id(conn))
        if differs:
            return result(False, count, differs[1], differs[0], **head)
    missing = _unrecorded(conn, trail, _is_directus(conn) if directus is None else directus)
    if missing:
        return result(False, count, None, missing, **head)
    return result(True, count, **head)


def checkpoint_problem(
    trail: list[AuditEvent], checkpoint: Checkpoint, db_id: str | None
) -> tuple[str, int | None] | None:
    """How TRAIL (a walked chain) differs from CHECKPOINT, and the row; None when it does not.

    The chain links every row to the one before, so the checkpoint's row keeping its
    hash vouches for every row up to it.
    """
    cp = checkpoint
    if cp.database_id is not None and cp.database_id != db_id:
        this = f"this is database {db_id}" if db_id else "this database has no database id"
        return f"the checkpoint of {cp.at} was taken of database {cp.database_id}, but {this}", None
    if cp.seq == 0:
        return None
    by_seq = {e.seq: e.hash for e in trail}
    if cp.seq not in by_seq:
        ends = f"ends at row {trail[-1].seq}" if trail else "is empty"
        return (
            f"the trail {ends} but the checkpoint of {cp.at} saw row {cp.seq}: "
            "rows were cut from its end",
            None,
        )
    if by_seq[cp.seq] != cp.hash:
        return (
            f"row {cp.seq} no longer has the hash the checkpoint of {cp.at} recorded: "
            "the trail was rewritten",
            cp.seq,
        )
    return None


def database_id(conn: Connection) -> str | None:
    """The database's id (os_settings `database_id`), or None when it has none."""
    if not sa.inspect(conn).has_table(s.settings.name):
        return None
    return evidence.database_id(conn)


def _unrecorded(conn: Connection, trail: list[AuditEvent], directus: bool) -> str | None:
    """A journal entry with no audit event means rows were cut from the chain's end."""
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
    unratified = _unratified(conn, trail, directus)
    if unratified:
        return (
            f"approval {unratified} has no `ratification` audit row (rows were removed from "
            "the trail, or the approval was written outside `govgate ratify`)"
        )
    for rid, status in conn.execute(sa.select(s.rollouts.c.id, s.rollouts.c.status)):
        if (Kind.ROLLOUT.value, rid) not in seen:
            return f"rollout {rid} has no audit row (rows were removed from the trail)"
        if status == "rolled_back" and (Kind.ROLLBACK.value, rid) not in seen:
            return f"the rollback of {rid} has no audit row (rows were removed from the trail)"
    return None


# runbook.approval.REHEARSAL_PREFIX and what runbook.ratify writes as the `origin` of the
# Directus activity it records (both above this layer, so named again here).
REHEARSAL_PREFIX = "REHEARSAL-"
RATIFY_ORIGIN = "govgate ratify"
_activity = sa.table(
    "directus_activity",
    sa.column("id"),
    sa.column("action"),
    sa.column("collection"),
    sa.column("item"),
    sa.column("origin"),
)


def _unratified(conn: Connection, trail: list[AuditEvent], directus: bool) -> str | None:
    """The first approval that needs a `ratification` row and has none.

    Every approval but rehearsal-only ones needs one, except, on a Directus database,
    one a person created in the Directus app: its `create` activity (after the item's
    last delete, as directus.identity.provenance reads it) came from elsewhere than
    `govgate ratify`, and the app writes no audit row.
    """
    ratified = {e.detail.get("approval") for e in trail if e.kind == Kind.RATIFICATION.value}
    directus = directus and sa.inspect(conn).has_table(_activity.name)
    for (aid,) in conn.execute(sa.select(s.approvals.c.id).order_by(s.approvals.c.id)):
        if aid in ratified or aid.startswith(REHEARSAL_PREFIX):
            continue
        if directus and _made_in_directus(conn, aid):
            continue
        return aid
    return None


def _made_in_directus(conn: Connection, approval_id: str) -> bool:
    a = _activity.c
    rows = conn.execute(
        sa.select(a.action, a.origin)
        .where(a.collection == s.approvals.name, a.item == str(approval_id))
        .order_by(a.id)
    ).all()
    deletes = [n for n, (action, _o) in enumerate(rows) if action == "delete"]
    since = rows[deletes[-1] + 1 :] if deletes else rows
    return any(action == "create" and origin != RATIFY_ORIGIN for action, origin in since)


def _is_directus(conn: Connection) -> bool:
    # directus.identity.is_directus, which this layer cannot import
    return {"directus_collections", "directus_activity"} <= set(sa.inspect(conn).get_table_names())
