"""The rollback: remove exactly what a rollout created, in one transaction, and prove it.

It refuses when the rollout's records were edited since (`force` overrides, audited)
and proves that the state is back at the pre-rollout fingerprint.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..config import Settings
from ..db import audit
from ..db import schema as s
from ..db.engine import quote
from ..db.session import Database
from ..db.state import differences, read_state
from ..directus import identity
from ..directus import insights as dashboard
from ..errors import CheckFailed, Difference, Refused, RollbackRefused
from ..guards import confinement as confine
from . import proposal as prop
from .steps import StepHook, Steps, run_steps
from .verify import rollout_row

ROLLBACK_STEPS = ("find", "records", "views", "dashboard", "journal", "audit", "prove", "commit")


@dataclass(frozen=True)
class RollbackResult:
    rollout_id: str
    proposal_id: str
    records_removed: int
    objects_removed: tuple[dict, ...]
    gap_after: int
    fingerprint: str
    pre_fingerprint: str
    restored: bool  # fingerprint equals the pre-rollout one
    forced: bool
    differences: tuple[Difference, ...]
    duration_ms: int


def rollback(
    db: Database,
    settings: Settings,
    *,
    force: bool = False,
    hook: StepHook | None = None,
    actor: str | None = None,
) -> RollbackResult:
    """Remove exactly what the current proposal's rollout created, and prove it.

    Refuses (RollbackRefused, nothing changed) when the rollout's records were
    edited since or the state would not return to the pre-rollout fingerprint;
    `force` removes the rollout's records anyway and audits that it was forced.
    """
    clock = time.monotonic()
    actor = actor or settings.agent_identity
    return run_steps(
        db,
        settings,
        actor,
        lambda conn, steps: _rollback_steps(conn, settings, steps, force, clock, actor),
        hook=hook,
    )


def _rollback_steps(
    conn: Connection, settings: Settings, steps: Steps, force: bool, clock: float, actor: str
) -> RollbackResult:
    steps("find")
    pid = prop.current_id(conn)
    state = read_state(conn, pid) if pid else None
    if not state or not state.rollouts:
        raise Refused("there is no rollout in effect to roll back; nothing was changed")
    rollout_id = state.rollouts[0]
    row = rollout_row(conn, rollout_id)
    edits = _edits(conn, rollout_id, json.loads(row.records))
    if edits and not force:
        raise RollbackRefused(
            f"the records of rollout {rollout_id} were edited since it ran; "
            "nothing was changed: " + "; ".join(map(str, edits)),
            tuple(edits),
            hint="review the differences; `govgate rollback --force` removes the "
            "rollout's rows anyway (audited)",
        )
    directus = identity.in_use(conn, settings)
    guard = confine.Guard(confine.allowed_tables(directus))
    objects = json.loads(row.created_objects)
    with confine.confined(conn, guard):
        steps("records")
        removed = conn.execute(
            s.accountability.delete().where(s.accountability.c.rollout_id == rollout_id)
        ).rowcount
        steps("views")
        for obj in objects:
            if obj["kind"] == "view":
                conn.execute(sa.text(f"DROP VIEW IF EXISTS {quote(conn, obj['name'])}"))
        steps("dashboard")
        dashboard.remove(conn, [o for o in objects if o["kind"] == "dashboard"])
        steps("journal")
        conn.execute(
            s.rollouts.update()
            .where(s.rollouts.c.id == rollout_id)
            .values(status="rolled_back", rolled_back_at=audit.now_iso(), rolled_back_by=actor)
        )
        steps("prove")
        after = read_state(conn, pid)
        expected = prop.expected_state(conn, pid)
        diffs = tuple(differences(expected, after))
        restored = after.fingerprint == row.pre_fingerprint
        violations = guard.violations(conn)
        if violations:
            raise CheckFailed("rollback wrote outside its allow-list", failures=tuple(violations))
        if not restored and not force:
            raise RollbackRefused(
                "after removing the rollout the state would not equal the "
                "pre-rollout state; nothing was changed: " + "; ".join(map(str, diffs)),
                diffs,
                hint="production changed elsewhere since the rollout; "
                "`--force` removes the rollout's rows anyway (audited)",
            )
        steps("audit")
        detail = {
            "records_removed": removed,
            "restored": restored,
            "gap_after": after.gap,
            "forced": force,
        }
        audit.append(
            conn, audit.Kind.ROLLBACK, actor, proposal_id=pid, rollout_id=rollout_id, detail=detail
        )
        if force:
            audit.append(
                conn,
                audit.Kind.FORCED,
                actor,
                proposal_id=pid,
                rollout_id=rollout_id,
                detail={
                    "action": "rollback",
                    "edits": [str(e) for e in edits],
                    "differences": [str(d) for d in diffs],
                },
            )
        steps("commit")
    return RollbackResult(
        rollout_id,
        pid,
        removed,
        tuple(objects),
        after.gap,
        after.fingerprint,
        row.pre_fingerprint,
        restored,
        force,
        tuple(edits) + diffs,
        int((time.monotonic() - clock) * 1000),
    )


def _edits(conn: Connection, rollout_id: str, records: list) -> list[Difference]:
    a = s.accountability.c
    now = {
        (c, d): auth
        for c, d, auth in conn.execute(
            sa.select(a.collection, a.duty, a.authority).where(a.rollout_id == rollout_id)
        )
    }
    made = {(c, d): auth for c, d, auth in records}
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
