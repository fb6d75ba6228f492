"""Post-conditions of a rollout: the same checks inside `apply` and in `verify`.

Each check returns plain-word failures; an empty list is green.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..db import schema as s
from ..db.state import State, conflicts, plain_rows, read_state, sorted_rows
from ..directus import tables as dx
from ..errors import Difference
from . import proposal as prop


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class VerifyResult:
    """`govgate verify`: every check, green or not."""

    proposal_id: str | None
    rollout_id: str | None
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def failures(self) -> list[str]:
        return [c.detail for c in self.checks if not c.ok]


def rollout_row(conn: Connection, rollout_id: str):
    return conn.execute(sa.select(s.rollouts).where(s.rollouts.c.id == rollout_id)).one()


def in_effect(conn: Connection) -> list[tuple[str, str]]:
    """(rollout, proposal) of every rollout in effect, the latest first."""
    r = s.rollouts.c
    query = sa.select(r.id, r.proposal_id).where(r.status == "applied")
    return [tuple(row) for row in conn.execute(query.order_by(r.started_at.desc(), r.id.desc()))]


def checks(
    conn: Connection, proposal, rollout_id: str, state: State | None = None, row=None, records=None
) -> list[Check]:
    """The rollout's post-conditions on what the connection sees now. ROW (the rollout's) and
    RECORDS (its journaled records) spare a caller that has them reading them again."""
    state = state or read_state(conn, proposal.id)
    row = row if row is not None else rollout_row(conn, rollout_id)
    found = conflicts(state)
    records = records if records is not None else json.loads(row.records)
    missing = _missing_records(state, records, rollout_id)
    absent = _absent_objects(conn, json.loads(row.created_objects))
    emission = state.external_emission
    outbox = _outbox_during(conn, row.started_at, row.finished_at)
    return [
        Check(
            "gap",
            state.gap == proposal.predicted_gap,
            f"the gap is {state.gap}, predicted {proposal.predicted_gap}",
        ),
        Check(
            "conflicts", not found, f"{len(found)} conflicts" + (f": {found[0]}" if found else "")
        ),
        Check(
            "records",
            not missing,
            f"{len(missing)} of the rollout's records are missing or changed"
            + (f", e.g. {missing[0]}" if missing else ""),
        ),
        Check(
            "dashboards",
            not absent,
            "dashboard objects missing: " + ", ".join(absent)
            if absent
            else "dashboard views in place",
        ),
        Check(
            "external emission",
            emission == "off" and outbox == 0,
            f"external emission is '{emission}', {outbox} outbox rows written during the rollout",
        ),
    ]


def check_rollout(
    conn: Connection, proposal, rollout_id: str, state: State | None = None
) -> list[str]:
    """The failures among `checks`, in plain words (empty: all green)."""
    return [c.detail for c in checks(conn, proposal, rollout_id, state) if not c.ok]


def _missing_records(state: State, records, rollout_id: str) -> list[str]:
    # The common case first, compared in C: the rollout's rows (in the state's order) are
    # exactly its sorted records. Only a difference pays for finding which ones.
    present_rows = state.records_under(rollout_id)
    if present_rows == sorted(_as_tuples(records)):
        return []
    present = set(present_rows)
    return [f"{c}/{d} → {a}" for c, d, a in records if (c, d, a) not in present]


def _as_tuples(records) -> list[tuple] | tuple:
    """RECORDS as tuples: journaled ones come back from JSON as lists, a proposal's slots
    are tuples already (and a list never equals a tuple)."""
    if records and isinstance(records[0], tuple):
        return records
    return list(map(tuple, records))


def _absent_objects(conn: Connection, objects: list[dict]) -> list[str]:
    views = set(sa.inspect(conn).get_view_names())
    absent = [o["name"] for o in objects if o["kind"] == "view" and o["name"] not in views]
    for obj in (o for o in objects if o["kind"] == "dashboard"):
        found = conn.execute(
            sa.select(sa.func.count())
            .select_from(dx.panels)
            .where(dx.panels.c.dashboard == obj["id"])
        ).scalar_one()
        if found != len(obj["panels"]):
            absent.append(f"dashboard '{obj['name']}' ({found} of {len(obj['panels'])} panels)")
    return absent


def _outbox_during(conn: Connection, started_at: str, finished_at: str | None) -> int:
    """Outbox rows written while the rollout ran (still running: since it began).

    Later rows belong to later, separately approved work, not to the rollout.
    """
    query = (
        sa.select(sa.func.count()).select_from(s.outbox).where(s.outbox.c.created_at >= started_at)
    )
    if finished_at:
        query = query.where(s.outbox.c.created_at <= finished_at)
    return conn.execute(query).scalar_one()


def verify_rollout(conn: Connection, rollout_id: str | None = None) -> VerifyResult:
    """`govgate verify`: the checks of ROLLOUT_ID, default the current proposal's rollout in effect.

    Nothing in effect gives a result with no checks.
    """
    if rollout_id is None:
        pid = prop.current_id(conn)
        state = read_state(conn, pid)
        if not pid or not state.rollouts:
            return VerifyResult(pid, None, ())
        proposal, rollout_id = prop.load(conn, pid), state.rollouts[0]
        return VerifyResult(pid, rollout_id, tuple(checks(conn, proposal, rollout_id, state)))
    pid = rollout_row(conn, rollout_id).proposal_id
    proposal = prop.load(conn, pid)
    return VerifyResult(pid, rollout_id, tuple(checks(conn, proposal, rollout_id)))


def record_edits(
    conn: Connection, rollout_id: str, records: list, state: State | None = None
) -> list[Difference]:
    """How the rows under ROLLOUT_ID differ from the RECORDS it journaled, row by row.
    STATE, read in the same transaction, holds those rows already: no second read."""
    if state is not None:
        rows = state.records_under(rollout_id)
    else:
        a = s.accountability.c
        query = sa.select(a.collection, a.duty, a.authority).where(a.rollout_id == rollout_id)
        rows = list(sorted_rows(plain_rows(conn, query)))
    made_rows = sorted(_as_tuples(records))
    if rows == made_rows:  # the rollback's usual case, decided in one comparison
        return []
    now = {(c, d): auth for c, d, auth in rows}
    made = {(c, d): auth for c, d, auth in made_rows}
    out = [
        Difference(
            f"{c}/{d} was removed or detached from the rollout (it named {auth})", auth, None
        )
        for (c, d), auth in sorted(made.items())
        if (c, d) not in now
    ]
    out += [
        Difference(f"{c}/{d} now names {now[(c, d)]}, the rollout set {auth}", auth, now[(c, d)])
        for (c, d), auth in sorted(made.items())
        if (c, d) in now and now[(c, d)] != auth
    ]
    out += [
        Difference(f"{c}/{d} → {auth} was added under the rollout's id", None, auth)
        for (c, d), auth in sorted(now.items())
        if (c, d) not in made
    ]
    return out
