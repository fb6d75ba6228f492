"""The rollout: one transaction, under govgate's lock, verified before commit.

It re-checks the gate inside its own transaction and acts on exactly what that verdict
judged; it writes only the accountability records, its dashboard views (and, on
Directus, an Insights dashboard), its journal row and audit rows; it verifies gap,
conflicts, outbox and confinement before commit. Any failure rolls everything back
(see `steps`).
"""

from __future__ import annotations

import json
import operator
import time
from dataclasses import dataclass, replace
from itertools import repeat

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..config import Settings
from ..db import audit
from ..db import schema as s
from ..db.differences import differences
from ..db.engine import quote
from ..db.mysql import is_mysql
from ..db.session import Database
from ..db.state import State, read_state
from ..directus import identity
from ..directus import insights as dashboard
from ..errors import CheckFailed, Refused
from ..guards import confinement as confine
from ..guards import emission
from . import proposal as prop
from .gate import Status, evaluate
from .report import build_report
from .steps import StepHook, Steps, count, new_rollout_id, run_steps
from .verify import checks

APPLY_STEPS = ("gate", "records", "views", "dashboard", "journal", "audit", "verify", "commit")

__all__ = ["APPLY_STEPS", "RolloutResult", "StepHook", "apply"]


@dataclass(frozen=True)
class RolloutResult:
    """What `apply` did (or, with dry_run, would have done)."""

    rollout_id: str
    proposal_id: str
    approval_id: str
    dry_run: bool
    records: int
    created_objects: tuple[dict, ...]
    gap_before: int
    gap_after: int
    pre_fingerprint: str
    post_fingerprint: str
    duration_ms: int
    report: dict


def apply(
    db: Database,
    settings: Settings,
    *,
    dry_run: bool = False,
    hook: StepHook | None = None,
    actor: str | None = None,
) -> RolloutResult:
    """Run the rollout of the current proposal, all or nothing, as ACTOR (default the agent).

    Refused (nothing written) unless the gate, re-evaluated inside the
    transaction under the lock, is READY. Any failure rolls back and raises
    Aborted naming the step; a failed check raises it with the failures. With
    dry_run everything runs and is then rolled back.
    """
    started, clock = audit.now_iso(), time.monotonic()
    actor = actor or settings.agent_identity
    # No external emission: only the database and the local Directus are reachable
    # while the rollout runs; a refused attempt aborts it.
    with emission.guarded(emission.allowance(settings, db.engine.url)) as guard:

        def body(conn: Connection, steps: Steps) -> RolloutResult:
            result = _apply_steps(conn, settings, steps, started, clock, dry_run, actor)
            guard.check()  # an attempt that something caught and swallowed still aborts
            return result

        return run_steps(db, settings, actor, body, hook=hook, dry_run=dry_run)


def _apply_steps(
    conn: Connection,
    settings: Settings,
    steps: Steps,
    started: str,
    clock: float,
    dry_run: bool,
    actor: str,
) -> RolloutResult:
    steps("gate")
    verdict = evaluate(conn, settings)
    if verdict.status is not Status.READY:
        reasons = "; ".join(r.message for r in verdict.reasons)
        raise Refused(
            f"the gate is {verdict.status.value}, not READY; nothing was changed"
            + (f": {reasons}" if reasons else ""),
            hint="`govgate status --why` says what would clear it",
        )
    proposal = verdict.proposal  # exactly what the gate judged: read once
    directus = identity.in_use(conn, settings)
    guard = confine.Guard(confine.allowed_tables(directus))
    outbox_before = count(conn, s.outbox)
    rollout_id = new_rollout_id()
    with confine.confined(conn, guard):
        steps("records")
        _insert_records(conn, proposal, rollout_id)
        steps("views")
        created = _create_views(conn)
        steps("dashboard")
        if directus:
            created += dashboard.create(
                conn, rollout_id, proposal, identity.user_id(conn, settings.directus_agent_user)
            )
        steps("journal")
        conn.execute(
            s.rollouts.insert().values(
                id=rollout_id,
                proposal_id=proposal.id,
                proposal_sha256=proposal.sha256,
                approval_id=verdict.approval_id,
                status="applied",
                pre_fingerprint=verdict.fingerprint,
                created_objects=json.dumps(created),
                records=json.dumps(proposal.slots, check_circular=False),  # tuples: JSON arrays
                started_at=started,
                applied_by=actor,
            )
        )
        co_approvals = verdict.approval_ids[1:]  # the first is recorded by the trigger
        if co_approvals:
            conn.execute(
                s.approval_uses.insert(),
                [
                    {"approval_id": a, "rollout_id": rollout_id, "used_at": started}
                    for a in co_approvals
                ],
            )
        steps("audit")
        audit.append(
            conn,
            audit.Kind.ROLLOUT,
            actor,
            proposal_id=proposal.id,
            rollout_id=rollout_id,
            detail={
                "approval": verdict.approval_id,
                "approvals": list(verdict.approval_ids),
                "approvers": list(verdict.approvers),
                "records": len(proposal.slots),
                "dry_run": dry_run,
            },
        )
        steps("verify")
        post = read_state(conn, proposal.id)  # the one read of the state after the writes
        failures = _verify_in_transaction(conn, proposal, rollout_id, guard, outbox_before, post)
        if failures:
            raise CheckFailed("verification failed before commit", failures=tuple(failures))
        duration = int((time.monotonic() - clock) * 1000)
        report = build_report(
            conn, proposal, rollout_id, verdict, post, created, duration, guard, dry_run
        )
        conn.execute(
            s.rollouts.update()
            .where(s.rollouts.c.id == rollout_id)
            .values(
                post_fingerprint=post.fingerprint,
                finished_at=audit.now_iso(),
                duration_ms=duration,
                report=json.dumps(report),
            )
        )
        steps("commit")
    return RolloutResult(
        rollout_id,
        proposal.id,
        verdict.approval_id,
        dry_run,
        len(proposal.slots),
        tuple(created),
        proposal.gap_before,
        post.gap,
        verdict.fingerprint,
        post.fingerprint,
        duration,
        report,
    )


def _insert_records(conn: Connection, proposal: prop.Proposal, rollout_id: str) -> None:
    # (collection, duty, authority) + (rollout_id,): one tuple concatenation per slot, in C
    rows = list(map(operator.add, proposal.slots, repeat((rollout_id,))))
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        # COPY: one round trip streaming every row (at 60,000 slots 0.2 s instead of 1.6 s),
        # inside the rollout's transaction like any statement.
        columns = ", ".join(("collection", "duty", "authority", "rollout_id"))
        with conn.connection.driver_connection.cursor() as cursor:
            with cursor.copy(f"COPY {s.accountability.name} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    # The driver's own executemany with positional rows: SQLAlchemy's executemany builds a
    # parameter dict per row (most of a 60,000-row insert). Identifiers quoted by the dialect.
    table = s.accountability
    columns = ("collection", "duty", "authority", "rollout_id")
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(conn, table.name),
        ", ".join(quote(conn, c) for c in columns),
        ", ".join([mark] * len(columns)),
    )
    conn.exec_driver_sql(sql, rows)


def _create_views(conn: Connection) -> list[dict]:
    existing = set(sa.inspect(conn).get_view_names())
    missing = [name for name in s.VIEWS if name not in existing]
    if missing and is_mysql(conn):
        # DDL would commit this transaction halfway: on MySQL and MariaDB `init` makes them.
        raise CheckFailed(
            "the dashboard views are missing, and a rollout here runs no DDL",
            failures=tuple(
                f"views: {name} does not exist (or the agent cannot read it)" for name in missing
            ),
            hint="run `govgate init` (and `init --roles`) as the tables' owner",
        )
    created = []
    for name, select in s.VIEWS.items():
        if name not in existing:
            conn.execute(sa.text(f"CREATE VIEW {quote(conn, name)} AS {select}"))
            created.append({"kind": "view", "name": name})
    return created


def _verify_in_transaction(
    conn: Connection,
    proposal,
    rollout_id: str,
    guard: confine.Guard,
    outbox_before: int,
    post: State,
) -> list[str]:
    failures = [
        f"{c.name}: {c.detail}"
        for c in checks(conn, proposal, rollout_id, post, records=proposal.slots)
        if not c.ok
    ]
    failures += _changed_meanwhile(conn, proposal, rollout_id, post)
    if count(conn, s.outbox) != outbox_before:
        failures.append("external emission: the outbox changed during the rollout")
    failures += [f"confinement: {v}" for v in guard.violations(conn)]
    return failures


def _changed_meanwhile(conn: Connection, proposal, rollout_id: str, now: State) -> list[str]:
    # Other writers (people, Directus) do not take govgate's lock: whatever they
    # committed since the gate step must not be journaled as this rollout's doing.
    others = replace(
        now,
        accountability=tuple(r for r in now.accountability if r[3] != rollout_id),
        rollouts=tuple(r for r in now.rollouts if r != rollout_id),
    )
    if others.fingerprint == proposal.expected_fingerprint:
        return []
    return [
        f"production changed during the rollout: {d}"
        for d in differences(prop.expected_state(conn, proposal.id), others)
    ]
