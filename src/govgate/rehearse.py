"""Rehearsal on a fresh copy of production (SPEC 4.8).

Production is only ever read: through read-only transactions for its
fingerprint and row counts, and as the source of the copy (SQLite's backup API
on a `mode=ro` connection; `pg_dump`, which reads one consistent snapshot).
Every write happens on the copy, which is dropped afterwards, also on failure
or Ctrl-C.

Why pg_dump/pg_restore and not `CREATE DATABASE … TEMPLATE`: a template copy
needs the source to have no other connections, and a Directus production
always has some; pg_dump works beside them and never blocks them.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from glob import glob
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, make_url

from . import proposal as prop
from . import rollout
from . import schema as s
from .config import Settings, mask_url
from .db import Mode, make_engine, quote, transaction
from .errors import EnvironmentFault, GovgateError
from .gate import REHEARSAL_PREFIX, Status, evaluate
from .plan import load_plan
from .state import read_state

Progress = Callable[[str, int, int], None]  # (what, done, total)

# Tables whose rows must be exactly as at the start once the rollback ran.
COMPARED = ("os_authorities", "os_governed_collections", "os_duties", "os_accountability",
            "os_settings", "os_outbox")


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
        return (self.production_fingerprint_before == self.production_fingerprint_after
                and self.production_counts_equal)


def rehearse(settings: Settings, plan_path: str | None = None, *, hook: rollout.StepHook | None = None,
             progress: Progress | None = None) -> RehearsalResult:
    """Run propose → rehearsal approval → apply → verify → rollback → compare on a copy.

    Never raises for a failed step: the result says which step failed and what
    differs. Raises EnvironmentFault when production cannot be read or copied.
    """
    plan = load_plan(plan_path) if plan_path else None
    before = _production_facts(settings, plan.proposal if plan else None)
    run = _Run(settings, plan, hook)
    with _copy_of(settings.db_url, progress) as copy_url:
        run.copy_url = copy_url
        run.execute()
    after = _production_facts(settings, before[0])
    return RehearsalResult(
        ok=run.ok and before[1:] == after[1:], proposal_id=run.proposal_id, steps=tuple(run.steps),
        production_fingerprint_before=before[1], production_fingerprint_after=after[1],
        production_counts_equal=before[2] == after[2], predicted_gap_after=run.gap_after,
        predicted_records=run.records, predicted_objects=tuple(run.objects),
        copy=mask_url(run.copy_url or ""), copy_dropped=not _copy_exists(run.copy_url),
        differences=tuple(run.differences))


# -- production, read-only ------------------------------------------------------------


def _production_facts(settings: Settings, proposal_id: str | None) -> tuple[str | None, str, dict]:
    """(proposal id, fingerprint, row count of every table), read in one read-only transaction."""
    engine = make_engine(settings.db_url, read_only=True)
    try:
        with transaction(engine, Mode.READ) as conn:
            pid = proposal_id or prop.current_id(conn)
            fingerprint = read_state(conn, pid).fingerprint
            return pid, fingerprint, _row_counts(conn)
    finally:
        engine.dispose()


def _row_counts(conn: Connection) -> dict[str, int]:
    return {t: conn.execute(sa.text(f"SELECT COUNT(*) FROM {quote(conn, t)}")).scalar_one()
            for t in sorted(sa.inspect(conn).get_table_names())}


# -- the copy -----------------------------------------------------------------------------


@contextmanager
def _copy_of(url: str, progress: Progress | None) -> Iterator[str]:
    """A fresh copy of the database at URL, dropped when the block ends, however it ends."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        folder = tempfile.mkdtemp(prefix="govgate-rehearsal-")
        target = os.path.join(folder, "copy.db")
        try:
            _sqlite_backup(parsed.database, target, progress)
            yield f"sqlite:///{target}"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    name = "govgate_rehearsal_" + uuid.uuid4().hex[:12]
    copy_url = parsed.set(database=name).render_as_string(hide_password=False)
    _pg_admin(url, f'CREATE DATABASE "{name}"')
    try:
        _pg_copy(url, copy_url, progress)
        yield copy_url
    finally:
        _pg_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _sqlite_backup(source: str, target: str, progress: Progress | None) -> None:
    src = sqlite3.connect(f"file:{Path(source).resolve()}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        def report(_status, remaining, total):
            if progress:
                progress("copying production", total - remaining, total)
        src.backup(dst, pages=256, progress=report)
    finally:
        dst.close()
        src.close()


def _pg_admin(url: str, sql: str) -> None:
    engine = make_engine(url)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text(sql))
    except sa.exc.DBAPIError as exc:
        raise EnvironmentFault(f"cannot create or drop the rehearsal database: {str(exc.orig).strip()}",
                               hint="the main URL's role needs CREATEDB to rehearse on PostgreSQL") from exc
    finally:
        engine.dispose()


def _pg_tool(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        raise EnvironmentFault(f"{name} is not installed", hint="install the PostgreSQL client tools")
    return found


def _libpq_env(url) -> tuple[list[str], dict[str, str]]:
    # The password goes through the environment, never the command line.
    args = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres"]
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    if url.password:
        env["PGPASSWORD"] = url.password
    return args, env


def _pg_copy(source_url: str, target_url: str, progress: Progress | None) -> None:
    src, dst = make_url(source_url), make_url(target_url)
    src_args, env = _libpq_env(src)
    dst_args, _ = _libpq_env(dst)
    if progress:
        progress("copying production", 0, 1)
    dump = subprocess.Popen([_pg_tool("pg_dump"), *src_args, "-d", src.database, "-Fc", "--no-owner"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    restore = subprocess.run([_pg_tool("pg_restore"), *dst_args, "-d", dst.database, "--no-owner",
                              "--exit-on-error", "--single-transaction"],
                             stdin=dump.stdout, capture_output=True, env=env)
    dump.stdout.close()
    dump_err = dump.communicate()[1]
    if dump.returncode or restore.returncode:
        message = (dump_err or restore.stderr).decode(errors="replace").strip().splitlines()
        raise EnvironmentFault(f"copying production failed: {message[-1] if message else 'unknown error'}",
                               hint="check that pg_dump matches the server's major version")
    if progress:
        progress("copying production", 1, 1)


def _copy_exists(url: str | None) -> bool:
    if not url:
        return False
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return Path(parsed.database).exists()
    return False  # dropped in _copy_of's finally, which raises if it cannot drop


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
        agent = make_url(self.settings.agent_url).set(database=make_url(self.copy_url).database)
        if make_url(self.copy_url).get_backend_name() == "sqlite":
            agent = make_url(self.copy_url)
        return replace(self.settings, db_url=self.copy_url, rehearsal=True,
                       agent_db_url=agent.render_as_string(hide_password=False))

    def execute(self) -> None:
        for name, action in (("snapshot", self._snapshot), ("propose", self._propose),
                             ("approve", self._approve), ("apply", self._apply), ("verify", self._verify),
                             ("rollback", self._rollback), ("compare", self._compare)):
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

    @contextmanager
    def _copy(self, mode: Mode = Mode.WRITE) -> Iterator[Connection]:
        engine = make_engine(self.copy_url)
        try:
            with transaction(engine, mode, lock=mode is Mode.WRITE) as conn:
                yield conn
        finally:
            engine.dispose()

    def _snapshot(self) -> str:
        with self._copy(Mode.READ) as conn:
            self.start_rows = _governance_rows(conn)
            self.proposal_id = self.proposal_id or prop.current_id(conn)
            self.start_fingerprint = read_state(conn, self.proposal_id).fingerprint
        return f"copy made; fingerprint {self.start_fingerprint[:16]}…"

    def _propose(self) -> str:
        if self.plan is None:
            if self.proposal_id is None:
                raise GovgateError("production has no proposal and no plan was given",
                                   hint="run `govgate rehearse PLAN`")
            return f"using proposal {self.proposal_id} as frozen in production"
        with self._copy() as conn:
            result = prop.freeze(conn, self.plan, "govgate-rehearsal")
        return f"proposal {result.proposal.id} frozen on the copy ({len(result.proposal.slots)} slots)"

    def _approve(self) -> str:
        with self._copy() as conn:
            p = prop.load(conn, self.proposal_id)
            approval_id = f"{REHEARSAL_PREFIX}{uuid.uuid4().hex[:8]}"
            # approved_by: nobody's (the column is uuid on a PostgreSQL Directus).
            conn.execute(s.approvals.insert().values(
                id=approval_id, proposal_id=p.id, proposal_sha256=p.sha256, approved_by=None,
                approved_at=datetime.now(timezone.utc),
                statement="REHEARSAL ONLY: made on a scratch copy; never valid in production"))
        return f"rehearsal-only approval {approval_id} on the copy"

    def _apply(self) -> str:
        copy = self.copy_settings
        engine = make_engine(copy.agent_url)
        try:
            ready = evaluate_ready(copy)
            if ready is not True:
                raise GovgateError(f"the copy's gate is not READY: {ready}")
            result = rollout.apply(engine, copy, hook=self.hook)
        finally:
            engine.dispose()
        self.gap_after, self.records = result.gap_after, result.records
        self.objects = [o.get("name", o["kind"]) for o in result.created_objects]
        return f"applied: gap {result.gap_before} → {result.gap_after}, {result.records} records"

    def _verify(self) -> str:
        with self._copy(Mode.READ) as conn:
            verdict = evaluate(conn, self.copy_settings, self.proposal_id)
        if verdict.status is not Status.APPLIED:
            raise GovgateError("verification failed: " + "; ".join(r.message for r in verdict.reasons))
        return "all green"

    def _rollback(self) -> str:
        engine = make_engine(self.copy_settings.agent_url)
        try:
            result = rollout.rollback(engine, self.copy_settings, hook=self.hook)
        finally:
            engine.dispose()
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
            self.differences.append(f"fingerprint {fingerprint[:16]}… differs from the start "
                                    f"{self.start_fingerprint[:16]}…")
        if self.differences:
            raise GovgateError(f"the copy is not back at its starting point ({len(self.differences)} differences)")
        return "every governance table equals the start, row by row; fingerprint equal"


def evaluate_ready(settings: Settings) -> bool | str:
    """True when the gate is READY through the agent's connection, else the reasons."""
    engine = make_engine(settings.agent_url, read_only=True)
    try:
        with transaction(engine, Mode.READ) as conn:
            verdict = evaluate(conn, settings)
    finally:
        engine.dispose()
    return True if verdict.status is Status.READY else "; ".join(r.message for r in verdict.reasons)


def _governance_rows(conn: Connection) -> dict:
    out = {}
    for table in COMPARED:
        rows = conn.execute(sa.select(s.metadata.tables[table])).all()
        out[table] = sorted((tuple(r) for r in rows), key=repr)
    out["<views>"] = sorted(sa.inspect(conn).get_view_names())
    return out
