"""Rehearsal on a fresh copy of production (docs/GUARANTEES.md, "Rehearsal").

Production is only ever read: through read-only transactions for its
fingerprint and row counts, and as the source of the copy (`db.copy`). Every
write happens on the copy, which is dropped afterwards, also on failure or Ctrl-C.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..config import Settings
from ..db import schema as s
from ..db.copy import Progress, copy_exists, scratch_copy
from ..db.engine import Mode, quote
from ..db.session import Database, session
from ..db.state import read_state
from ..errors import GovgateError
from ..runbook import apply as apply_mod
from ..runbook import proposal as prop
from ..runbook import rollback as rollback_mod
from ..runbook.approval import REHEARSAL_PREFIX
from ..runbook.gate import Status, evaluate
from ..runbook.plan_file import load_plan
from ..urls import mask_url, parse_url, with_database

# Tables whose rows must be exactly as at the start once the rollback ran.
COMPARED = (
    "os_authorities",
    "os_governed_collections",
    "os_duties",
    "os_accountability",
    "os_settings",
    "os_outbox",
)


@dataclass(frozen=True)
class Step:
    name: str
    ok: bool
    duration_ms: int
    detail: str


@dataclass(frozen=True)
class RehearsalResult:
    """Each step with its result and duration, production before/after, the predicted end state."""

    ok: bool
    proposal_id: str | None
    steps: tuple[Step, ...]
    production_fingerprint_before: str
    production_fingerprint_after: str
    production_counts_equal: bool
    predicted_gap_after: int | None
    predicted_records: int | None
    predicted_objects: tuple[str, ...]
    copy: str
    copy_dropped: bool
    differences: tuple[str, ...]

    @property
    def failed_step(self) -> str | None:
        return next((x.name for x in self.steps if not x.ok), None)

    @property
    def production_untouched(self) -> bool:
        return (
            self.production_fingerprint_before == self.production_fingerprint_after
            and self.production_counts_equal
        )


def rehearse(
    settings: Settings,
    plan_path: str | None = None,
    *,
    hook: apply_mod.StepHook | None = None,
    progress: Progress | None = None,
) -> RehearsalResult:
    """Run propose → rehearsal approval → apply → verify → rollback → compare on a copy.

    Never raises for a failed step: the result says which step failed and what
    differs. Raises EnvironmentFault when production cannot be read or copied.
    """
    plan = load_plan(plan_path) if plan_path else None
    before = _production_facts(settings, plan.proposal if plan else None)
    run = _Run(settings, plan, hook)
    with scratch_copy(settings.db_url, progress) as copy_url:
        run.copy_url = copy_url
        run.execute()
    after = _production_facts(settings, before[0])
    return RehearsalResult(
        ok=run.ok and before[1:] == after[1:],
        proposal_id=run.proposal_id,
        steps=tuple(run.steps),
        production_fingerprint_before=before[1],
        production_fingerprint_after=after[1],
        production_counts_equal=before[2] == after[2],
        predicted_gap_after=run.gap_after,
        predicted_records=run.records,
        predicted_objects=tuple(run.objects),
        copy=mask_url(run.copy_url or ""),
        copy_dropped=not copy_exists(run.copy_url),
        differences=tuple(run.differences),
    )


# -- production, read-only ------------------------------------------------------------


def _production_facts(settings: Settings, proposal_id: str | None) -> tuple[str | None, str, dict]:
    """(proposal id, fingerprint, row count of every table), read in one read-only transaction."""
    with session(settings.db_url, Mode.READ) as conn:
        pid = proposal_id or prop.current_id(conn)
        fingerprint = read_state(conn, pid).fingerprint
        return pid, fingerprint, _row_counts(conn)


def _row_counts(conn: Connection) -> dict[str, int]:
    return {
        t: conn.execute(sa.text(f"SELECT COUNT(*) FROM {quote(conn, t)}")).scalar_one()
        for t in sorted(sa.inspect(conn).get_table_names())
    }


# -- the run on the copy ------------------------------------------------------------------


class _Run:
    """The rehearsal's steps on the copy, each timed; stops at the first failure."""

    def __init__(self, settings: Settings, plan, hook):
        self.settings, self.plan, self.hook = settings, plan, hook
        self.copy_url: str | None = None
        self.steps: list[Step] = []
        self.differences: list[str] = []
        self.proposal_id = plan.proposal if plan else None
        self.gap_after = self.records = None
        self.objects: list[str] = []
        self.start_rows: dict = {}

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(x.ok for x in self.steps)

    @property
    def copy_settings(self) -> Settings:
        copy = parse_url(self.copy_url)
        # SQLite has no logins; on MySQL and MariaDB grants name the database, and the agent's
        # role has none on the scratch copy: there the copy's own login plays the agent.
        # On PostgreSQL the agent's own URL (its socket, sslmode, service, passfile) names the
        # copy instead of production.
        if copy.get_backend_name() in ("sqlite", "mysql", "mariadb"):
            agent = self.copy_url
        else:
            agent = with_database(self.settings.agent_url, copy.database)
        return replace(self.settings, db_url=self.copy_url, rehearsal=True, agent_db_url=agent)

    def execute(self) -> None:
        for name, action in (
            ("snapshot", self._snapshot),
            ("propose", self._propose),
            ("approve", self._approve),
            ("apply", self._apply),
            ("verify", self._verify),
            ("rollback", self._rollback),
            ("compare", self._compare),
        ):
            if not self._timed(name, action):
                return

    def _timed(self, name: str, action) -> bool:
        clock = time.monotonic()
        try:
            detail, ok = action(), True
        except GovgateError as exc:
            detail, ok = exc.message, False
            self.differences += [str(d) for d in getattr(exc, "differences", ())]
            self.differences += list(getattr(exc, "failures", ()) or ())
        except Exception as exc:  # a broken copy must still produce a report
            detail, ok = f"{type(exc).__name__}: {exc}", False
        self.steps.append(Step(name, ok, int((time.monotonic() - clock) * 1000), detail))
        return ok

    def _copy(self, mode: Mode = Mode.WRITE):
        # READ on the copy through a writable engine: the copy is ours to open as we like.
        return session(
            self.copy_url, Mode.DRY_RUN if mode is Mode.READ else mode, lock=mode is Mode.WRITE
        )

    def _snapshot(self) -> str:
        with self._copy(Mode.READ) as conn:
            self.start_rows = _governance_rows(conn)
            self.proposal_id = self.proposal_id or prop.current_id(conn)
            self.start_fingerprint = read_state(conn, self.proposal_id).fingerprint
        return f"copy made; fingerprint {self.start_fingerprint[:16]}…"

    def _propose(self) -> str:
        if self.plan is None:
            if self.proposal_id is None:
                raise GovgateError(
                    "production has no proposal and no plan was given",
                    hint="run `govgate rehearse PLAN`",
                )
            return f"using proposal {self.proposal_id} as frozen in production"
        with self._copy() as conn:
            result = prop.freeze(conn, self.plan, "govgate-rehearsal")
        return (
            f"proposal {result.proposal.id} frozen on the copy ({len(result.proposal.slots)} slots)"
        )

    def _approve(self) -> str:
        with self._copy() as conn:
            p = prop.load(conn, self.proposal_id)
            approval_id = f"{REHEARSAL_PREFIX}{uuid.uuid4().hex[:8]}"
            # approved_by: nobody's (the column is uuid on a PostgreSQL Directus).
            conn.execute(
                s.approvals.insert().values(
                    id=approval_id,
                    proposal_id=p.id,
                    proposal_sha256=p.sha256,
                    approved_by=None,
                    approved_at=datetime.now(UTC),
                    statement="REHEARSAL ONLY: made on a scratch copy; never valid in production",
                )
            )
        return f"rehearsal-only approval {approval_id} on the copy"

    def _apply(self) -> str:
        copy = self.copy_settings
        ready = evaluate_ready(copy)
        if ready is not True:
            raise GovgateError(f"the copy's gate is not READY: {ready}")
        with Database(copy.agent_url) as db:
            result = apply_mod.apply(db, copy, hook=self.hook)
        self.gap_after, self.records = result.gap_after, result.records
        self.objects = [o.get("name", o["kind"]) for o in result.created_objects]
        return f"applied: gap {result.gap_before} → {result.gap_after}, {result.records} records"

    def _verify(self) -> str:
        with self._copy(Mode.READ) as conn:
            verdict = evaluate(conn, self.copy_settings, self.proposal_id)
        if verdict.status is not Status.APPLIED:
            raise GovgateError(
                "verification failed: " + "; ".join(r.message for r in verdict.reasons)
            )
        return "all green"

    def _rollback(self) -> str:
        with Database(self.copy_settings.agent_url) as db:
            result = rollback_mod.rollback(db, self.copy_settings, hook=self.hook)
        return f"rolled back: gap {result.gap_after}, fingerprint restored"

    def _compare(self) -> str:
        with self._copy(Mode.READ) as conn:
            rows = _governance_rows(conn)
            fingerprint = read_state(conn, self.proposal_id).fingerprint
        for table in COMPARED:
            if rows.get(table) != self.start_rows.get(table):
                self.differences.append(f"{table}: rows differ from the start")
        if rows.get("<views>") != self.start_rows.get("<views>"):
            self.differences.append("dashboard views differ from the start")
        if fingerprint != self.start_fingerprint:
            self.differences.append(
                f"fingerprint {fingerprint[:16]}… differs from the start "
                f"{self.start_fingerprint[:16]}…"
            )
        if self.differences:
            raise GovgateError(
                f"the copy is not back at its starting point ({len(self.differences)} differences)"
            )
        return "every governance table equals the start, row by row; fingerprint equal"


def evaluate_ready(settings: Settings) -> bool | str:
    """True when the gate is READY through the agent's connection, else the reasons."""
    with session(settings.agent_url, Mode.READ) as conn:
        verdict = evaluate(conn, settings)
    return True if verdict.status is Status.READY else "; ".join(r.message for r in verdict.reasons)


def _governance_rows(conn: Connection) -> dict:
    out = {}
    for table in COMPARED:
        rows = conn.execute(sa.select(s.metadata.tables[table])).all()
        out[table] = sorted((tuple(r) for r in rows), key=repr)
    out["<views>"] = sorted(sa.inspect(conn).get_view_names())
    return out
