"""The rollout and its rollback: one transaction each, verified before commit.

Both run as a fixed sequence of named steps inside `transaction(..., lock=True)`.
A step hook (tests use it to inject faults) is called before every step; any
exception anywhere rolls the whole transaction back, so production is left
exactly as before.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from . import audit, confine, dashboard, netguard
from . import directus as dx
from . import proposal as prop
from . import schema as s
from .config import Settings
from .db import Mode, quote, transaction
from .errors import (
    Aborted,
    CheckFailed,
    Difference,
    EmissionBlocked,
    GovgateError,
    Refused,
    RollbackRefused,
)
from .gate import Status, evaluate
from .report import build_report
from .state import differences, read_state
from .verify import checks, rollout_row

StepHook = Callable[[str, Connection], None]

APPLY_STEPS = ("gate", "records", "views", "dashboard", "journal", "audit", "verify", "commit")
ROLLBACK_STEPS = ("find", "records", "views", "dashboard", "journal", "audit", "prove", "commit")


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


class _Steps:
    """Runs the hook before each named step and remembers where it was."""

    def __init__(self, conn: Connection, hook: StepHook | None):
        self.conn, self.hook, self.current = conn, hook, "start"

    def __call__(self, name: str) -> None:
        self.current = name
        if self.hook:
            self.hook(name, self.conn)


def new_rollout_id() -> str:
    return "RO-" + datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


# -- apply -------------------------------------------------------------------------


def apply(engine: Engine, settings: Settings, *, dry_run: bool = False,
          hook: StepHook | None = None) -> RolloutResult:
    """Run the rollout of the current proposal, all or nothing.

    Refused (nothing written) unless the gate, re-evaluated inside the
    transaction under the lock, is READY. Any failure rolls back and raises
    Aborted naming the step; a failed check raises it with the failures. With
    dry_run everything runs and is then rolled back.
    """
    started, clock = audit.now_iso(), time.monotonic()
    mode = Mode.DRY_RUN if dry_run else Mode.WRITE
    step_name = ["connect"]
    try:
        # No external emission (SPEC 4.6): only the database and the local Directus
        # are reachable while the rollout runs; a refused attempt aborts it.
        with netguard.guarded(netguard.allowance(settings, engine.url)) as guard, \
                transaction(engine, mode, lock=True) as conn:
            steps = _Steps(conn, hook)
            try:
                result = _apply_steps(conn, settings, steps, started, clock, dry_run)
                guard.check()  # an attempt that something caught and swallowed still aborts
            finally:
                step_name[0] = steps.current
        return result
    except Refused as exc:
        if isinstance(exc, (CheckFailed, Aborted, EmissionBlocked)):
            _record_abort(engine, settings, step_name[0], exc, dry_run)
            raise _aborted(step_name[0], exc) from exc
        raise
    except GovgateError:
        raise
    except BaseException as exc:
        _record_abort(engine, settings, step_name[0], exc, dry_run)
        if isinstance(exc, Exception):
            raise Aborted(step_name[0], _describe(exc)) from exc
        raise


def _apply_steps(conn: Connection, settings: Settings, steps: _Steps, started: str,
                 clock: float, dry_run: bool) -> RolloutResult:
    steps("gate")
    verdict = evaluate(conn, settings)
    if verdict.status is not Status.READY:
        reasons = "; ".join(r.message for r in verdict.reasons)
        raise Refused(f"the gate is {verdict.status.value}, not READY; nothing was changed"
                      + (f": {reasons}" if reasons else ""),
                      hint="`govgate status --why` says what would clear it")
    proposal = prop.load(conn, verdict.proposal_id)
    directus = dx.in_use(conn, settings)
    guard = confine.Guard(confine.allowed_tables(directus))
    outbox_before = _count(conn, s.outbox)
    rollout_id = new_rollout_id()
    with confine.confined(conn, guard):
        steps("records")
        _insert_records(conn, proposal, rollout_id)
        steps("views")
        created = _create_views(conn)
        steps("dashboard")
        if directus:
            created += dashboard.create(conn, rollout_id, proposal,
                                        dx.user_id(conn, settings.directus_agent_user))
        steps("journal")
        conn.execute(s.rollouts.insert().values(
            id=rollout_id, proposal_id=proposal.id, proposal_sha256=proposal.sha256,
            approval_id=verdict.approval_id, status="applied", pre_fingerprint=verdict.fingerprint,
            created_objects=json.dumps(created), records=json.dumps([x.as_list() for x in proposal.slots]),
            started_at=started, applied_by=settings.agent_identity))
        steps("audit")
        audit.append(conn, audit.Kind.ROLLOUT, settings.agent_identity, proposal_id=proposal.id,
                     rollout_id=rollout_id, detail={"approval": verdict.approval_id,
                                                    "records": len(proposal.slots), "dry_run": dry_run})
        steps("verify")
        failures = _verify_in_transaction(conn, proposal, rollout_id, guard, outbox_before)
        if failures:
            raise CheckFailed("verification failed before commit", failures=tuple(failures))
        post = read_state(conn, proposal.id)
        duration = int((time.monotonic() - clock) * 1000)
        report = build_report(conn, proposal, rollout_id, verdict, post, created, duration, guard, dry_run)
        conn.execute(s.rollouts.update().where(s.rollouts.c.id == rollout_id).values(
            post_fingerprint=post.fingerprint, finished_at=audit.now_iso(), duration_ms=duration,
            report=json.dumps(report)))
        steps("commit")
    return RolloutResult(rollout_id, proposal.id, verdict.approval_id, dry_run, len(proposal.slots),
                         tuple(created), proposal.gap_before, post.gap, verdict.fingerprint,
                         post.fingerprint, duration, report)


def _insert_records(conn: Connection, proposal: prop.Proposal, rollout_id: str) -> None:
    rows = [{"collection": x.collection, "duty": x.duty, "authority": x.authority,
             "rollout_id": rollout_id} for x in proposal.slots]
    if rows:
        conn.execute(s.accountability.insert(), rows)


def _create_views(conn: Connection) -> list[dict]:
    existing = set(sa.inspect(conn).get_view_names())
    created = []
    for name, select in s.VIEWS.items():
        if name not in existing:
            conn.execute(sa.text(f"CREATE VIEW {quote(conn, name)} AS {select}"))
            created.append({"kind": "view", "name": name})
    return created


def _verify_in_transaction(conn: Connection, proposal, rollout_id: str, guard: confine.Guard,
                           outbox_before: int) -> list[str]:
    failures = [f"{c.name}: {c.detail}" for c in checks(conn, proposal, rollout_id) if not c.ok]
    failures += _changed_meanwhile(conn, proposal, rollout_id)
    if _count(conn, s.outbox) != outbox_before:
        failures.append("external emission: the outbox changed during the rollout")
    failures += [f"confinement: {v}" for v in guard.violations(conn)]
    return failures


def _changed_meanwhile(conn: Connection, proposal, rollout_id: str) -> list[str]:
    # Other writers (people, Directus) do not take govgate's lock: whatever they
    # committed since the gate step must not be journaled as this rollout's doing.
    now = read_state(conn, proposal.id)
    others = replace(now, accountability=tuple(r for r in now.accountability if r[3] != rollout_id),
                     rollouts=tuple(r for r in now.rollouts if r != rollout_id))
    return [f"production changed during the rollout: {d}"
            for d in differences(prop.expected_state(conn, proposal.id), others)]


def _record_abort(engine: Engine, settings: Settings, step: str, exc: BaseException, dry_run: bool) -> None:
    # In its own transaction, after the rollback: the trail keeps the abort even
    # though the rollout left nothing behind. Best effort: the database may be gone.
    if dry_run:
        return
    try:
        with transaction(engine, Mode.WRITE, lock=True) as conn:
            audit.append(conn, audit.Kind.ABORT, settings.agent_identity,
                         detail={"step": step, "cause": _describe(exc)})
    except Exception:
        pass


def _aborted(step: str, exc: Refused) -> Aborted:
    failures = getattr(exc, "failures", ()) or ()
    cause = exc.message if not failures else f"{exc.message}: " + "; ".join(failures)
    return Aborted(step, cause, tuple(failures))


def _describe(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}".rstrip(": ")


def _count(conn: Connection, table: sa.Table) -> int:
    return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


# -- rollback ------------------------------------------------------------------------


def rollback(engine: Engine, settings: Settings, *, force: bool = False,
             hook: StepHook | None = None) -> RollbackResult:
    """Remove exactly what the current proposal's rollout created, and prove it.

    Refuses (RollbackRefused, nothing changed) when the rollout's records were
    edited since or the state would not return to the pre-rollout fingerprint;
    `force` removes the rollout's records anyway and audits that it was forced.
    """
    clock = time.monotonic()
    step_name = ["connect"]
    try:
        with transaction(engine, Mode.WRITE, lock=True) as conn:
            steps = _Steps(conn, hook)
            try:
                return _rollback_steps(conn, settings, steps, force, clock)
            finally:
                step_name[0] = steps.current
    except (CheckFailed, Aborted) as exc:  # a failed check is an abort: audited, like apply's
        _record_abort(engine, settings, step_name[0], exc, False)
        raise _aborted(step_name[0], exc) from exc
    except GovgateError:
        raise
    except BaseException as exc:  # Ctrl-C included: rolled back, and audited like apply's
        _record_abort(engine, settings, step_name[0], exc, False)
        if isinstance(exc, Exception):
            raise Aborted(step_name[0], _describe(exc)) from exc
        raise


def _rollback_steps(conn: Connection, settings: Settings, steps: _Steps, force: bool,
                    clock: float) -> RollbackResult:
    steps("find")
    pid = prop.current_id(conn)
    state = read_state(conn, pid) if pid else None
    if not state or not state.rollouts:
        raise Refused("there is no rollout in effect to roll back; nothing was changed")
    rollout_id = state.rollouts[0]
    row = rollout_row(conn, rollout_id)
    edits = _edits(conn, rollout_id, json.loads(row.records))
    if edits and not force:
        raise RollbackRefused(f"the records of rollout {rollout_id} were edited since it ran; "
                              "nothing was changed: " + "; ".join(map(str, edits)), tuple(edits),
                              hint="review the differences; `govgate rollback --force` removes the "
                                   "rollout's rows anyway (audited)")
    directus = dx.in_use(conn, settings)
    guard = confine.Guard(confine.allowed_tables(directus))
    objects = json.loads(row.created_objects)
    with confine.confined(conn, guard):
        steps("records")
        removed = conn.execute(s.accountability.delete().where(
            s.accountability.c.rollout_id == rollout_id)).rowcount
        steps("views")
        for obj in objects:
            if obj["kind"] == "view":
                conn.execute(sa.text(f"DROP VIEW IF EXISTS {quote(conn, obj['name'])}"))
        steps("dashboard")
        dashboard.remove(conn, [o for o in objects if o["kind"] == "dashboard"])
        steps("journal")
        conn.execute(s.rollouts.update().where(s.rollouts.c.id == rollout_id).values(
            status="rolled_back", rolled_back_at=audit.now_iso(), rolled_back_by=settings.agent_identity))
        steps("prove")
        after = read_state(conn, pid)
        expected = prop.expected_state(conn, pid)
        diffs = tuple(differences(expected, after))
        restored = after.fingerprint == row.pre_fingerprint
        violations = guard.violations(conn)
        if violations:
            raise CheckFailed("rollback wrote outside its allow-list", failures=tuple(violations))
        if not restored and not force:
            raise RollbackRefused("after removing the rollout the state would not equal the "
                                  "pre-rollout state; nothing was changed: "
                                  + "; ".join(map(str, diffs)), diffs,
                                  hint="production changed elsewhere since the rollout; "
                                       "`--force` removes the rollout's rows anyway (audited)")
        steps("audit")
        detail = {"records_removed": removed, "restored": restored, "gap_after": after.gap, "forced": force}
        audit.append(conn, audit.Kind.ROLLBACK, settings.agent_identity, proposal_id=pid,
                     rollout_id=rollout_id, detail=detail)
        if force:
            audit.append(conn, audit.Kind.FORCED, settings.agent_identity, proposal_id=pid,
                         rollout_id=rollout_id, detail={"action": "rollback",
                                                        "edits": [str(e) for e in edits],
                                                        "differences": [str(d) for d in diffs]})
        steps("commit")
    return RollbackResult(rollout_id, pid, removed, tuple(objects), after.gap, after.fingerprint,
                          row.pre_fingerprint, restored, force, tuple(edits) + diffs,
                          int((time.monotonic() - clock) * 1000))


def _edits(conn: Connection, rollout_id: str, records: list) -> list[Difference]:
    a = s.accountability.c
    now = {(c, d): auth for c, d, auth in conn.execute(
        sa.select(a.collection, a.duty, a.authority).where(a.rollout_id == rollout_id))}
    made = {(c, d): auth for c, d, auth in records}
    out = [Difference(f"{c}/{d} was removed or detached from the rollout (it named {auth})", auth, None)
           for (c, d), auth in sorted(made.items()) if (c, d) not in now]
    out += [Difference(f"{c}/{d} now names {now[(c, d)]}, the rollout set {auth}", auth, now[(c, d)])
            for (c, d), auth in sorted(made.items()) if (c, d) in now and now[(c, d)] != auth]
    out += [Difference(f"{c}/{d} → {auth} was added under the rollout's id", None, auth)
            for (c, d), auth in sorted(now.items()) if (c, d) not in made]
    return out
