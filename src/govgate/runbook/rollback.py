"""The rollback: remove exactly what a rollout created, in one transaction, and prove it.

It refuses when the rollout's records were edited since (`force` overrides, audited)
and proves that the state is back at the pre-rollout fingerprint. A dry run does all of it
in a transaction that is always rolled back: what would be removed, and the proof.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..config import Settings
from ..db import audit
from ..db import schema as s
from ..db.differences import differences
from ..db.engine import quote
from ..db.session import Database
from ..db.state import read_state
from ..directus import identity
from ..directus import insights as dashboard
from ..errors import CheckFailed, Difference, Refused, RollbackRefused
from ..guards import confinement as confine
from . import proposal as prop
from .steps import StepHook, Steps, run_steps
from .verify import in_effect, record_edits, rollout_row

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
    records_by_authority: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False  # everything ran and was rolled back: nothing was removed


# Shown a dry run's result, answers whether to remove it for real (a person at a terminal).
Confirm = Callable[[RollbackResult], bool]


def rollback(
    db: Database,
    settings: Settings,
    *,
    force: bool = False,
    hook: StepHook | None = None,
    actor: str | None = None,
    rollout_id: str | None = None,
    proposal_id: str | None = None,
    dry_run: bool = False,
    confirm: Confirm | None = None,
    interactive: bool = False,
) -> RollbackResult:
    """Remove exactly what a rollout in effect created, and prove it, as ACTOR.

    The rollout is ROLLOUT_ID, else PROPOSAL_ID's, else the latest one in effect whatever
    proposal is newest; Refused when it is not in effect.

    Refuses (RollbackRefused, nothing changed) when the rollout's records were
    edited since or the state would not return to the pre-rollout fingerprint;
    `force` removes the rollout's records anyway and audits that it was forced.

    DRY_RUN does everything, the proof included, in a transaction that is rolled back.
    With CONFIRM a dry run comes first and is shown to it; the same rollout is removed only
    when it answers yes (Refused otherwise, and without INTERACTIVE, a terminal to ask at).
    """
    if confirm is not None and not dry_run:
        if not interactive:
            raise Refused(
                "rollback asks for confirmation at a terminal, and there is none; "
                "nothing was changed",
                hint="pass --yes to roll back without asking (scripts, CI); "
                "`govgate rollback --dry-run` shows what it would remove",
            )
        preview = rollback(
            db,
            settings,
            force=force,
            actor=actor,
            rollout_id=rollout_id,
            proposal_id=proposal_id,
            dry_run=True,
        )
        if not confirm(preview):
            raise Refused("rollback cancelled; nothing was changed")
        rollout_id = preview.rollout_id
    clock = time.monotonic()
    actor = actor or settings.agent_identity
    return run_steps(
        db,
        settings,
        actor,
        lambda conn, steps: _rollback_steps(
            conn, settings, steps, force, clock, actor, rollout_id, proposal_id, dry_run
        ),
        hook=hook,
        dry_run=dry_run,
    )


def _target(conn: Connection, rollout_id: str | None, proposal_id: str | None) -> tuple[str, str]:
    """The rollout to undo: ROLLOUT_ID, else PROPOSAL_ID's, else the latest in effect."""
    effective = in_effect(conn)
    chosen = [
        (rid, pid)
        for rid, pid in effective
        if (rollout_id is None or rid == rollout_id) and (proposal_id is None or pid == proposal_id)
    ]
    if chosen:
        return chosen[0]
    what = (
        f"rollout {rollout_id}"
        if rollout_id
        else f"a rollout of proposal {proposal_id}"
        if proposal_id
        else "a rollout"
    )
    names = ", ".join(f"{rid} (proposal {pid})" for rid, pid in effective) or "none"
    raise Refused(
        f"{what} is not in effect, so there is nothing to roll back; nothing was changed",
        hint=f"rollouts in effect: {names}",
    )


def _rollback_steps(
    conn: Connection,
    settings: Settings,
    steps: Steps,
    force: bool,
    clock: float,
    actor: str,
    rollout_id: str | None = None,
    proposal_id: str | None = None,
    dry_run: bool = False,
) -> RollbackResult:
    steps("find")
    rollout_id, pid = _target(conn, rollout_id, proposal_id)
    row = rollout_row(conn, rollout_id)
    edits = record_edits(conn, rollout_id, json.loads(row.records))
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
    acc = s.accountability.c
    by_authority = dict(
        conn.execute(
            sa.select(acc.authority, sa.func.count())
            .where(acc.rollout_id == rollout_id)
            .group_by(acc.authority)
            .order_by(acc.authority)
        ).all()
    )
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
        restored = after.fingerprint == row.pre_fingerprint
        # Equal fingerprints are equal states: only a state that differs is compared in words.
        diffs = () if restored else tuple(differences(prop.expected_state(conn, pid), after))
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
        by_authority,
        dry_run,
    )
