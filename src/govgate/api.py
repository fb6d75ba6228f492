"""The library: one function per command, each returning a value.

The CLI and the web page only parse, call these and render what they return.
Nothing here prints or exits; failures raise GovgateError subclasses.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import audit as audit_mod
from . import demo as demo_mod
from . import directus_meta
from . import doctor as doctor_mod
from . import gate as gate_mod
from . import proposal as prop
from . import ratify as ratify_mod
from . import rehearse as rehearse_mod
from . import rollout
from . import schema as s
from . import setup
from .config import Settings, mask_url
from .db import Mode, connect, make_engine, transaction
from .errors import BadInput, GovgateError, Refused
from .gap import GapReport, gap_report
from .plan import load_plan
from .state import read_state
from .verify import VerifyResult, checks


@contextmanager
def _session(settings: Settings, mode: Mode = Mode.WRITE, *, agent: bool = False,
             lock: bool = False) -> Iterator[Connection]:
    """One transaction on a fresh engine that is disposed afterwards.

    READ sessions use a read-only connection (PostgreSQL read-only transactions,
    SQLite mode=ro), so a read command cannot write even by mistake.
    """
    engine = make_engine(settings.agent_url if agent else settings.db_url, read_only=mode is Mode.READ)
    try:
        with transaction(engine, mode, lock=lock) as conn:
            yield conn
    finally:
        engine.dispose()


# -- demo / init ---------------------------------------------------------------------


@dataclass(frozen=True)
class DemoResult:
    url: str
    governed: int
    protected: int
    sample_rows: int
    proposal: prop.Proposal


def demo(settings: Settings, path: str | None = None, *, actor: str, rows_per_table: int = 5) -> DemoResult:
    """Build the One-Roof replica at PATH (SQLite) or at the configured database.

    An existing SQLite demo file is rebuilt; any other existing file, or a
    PostgreSQL database that already holds tables, is refused (BadInput).
    """
    url = f"sqlite:///{path}" if path else settings.db_url
    if rows_per_table < 1:
        raise BadInput("--rows must be at least 1")
    engine = make_engine(url, create=True)
    sqlite = engine.dialect.name == "sqlite"
    try:
        _clear_sqlite_demo(engine, engine.url.database) if sqlite else _require_empty(engine, url)
        try:
            with transaction(engine) as conn:
                content, frozen = demo_mod.build(conn, rows_per_table, actor)
        except BaseException:
            if sqlite:  # the transaction rolled back; leave no empty file behind either
                engine.dispose()
                Path(engine.url.database).unlink(missing_ok=True)
            raise
    finally:
        engine.dispose()
    return DemoResult(mask_url(url), content.governed, content.protected, content.sample_rows, frozen)


def _clear_sqlite_demo(engine, path: str) -> None:
    if not Path(path).exists():
        return
    with engine.connect() as conn:
        names = set(sa.inspect(conn).get_table_names())
        is_demo = "os_settings" in names and conn.execute(
            sa.select(s.settings.c.value).where(s.settings.c.key == "demo")).scalar() == "oneroof"
    engine.dispose()
    if not is_demo and names:
        raise BadInput(f"{path} exists and is not a govgate demo",
                       hint="choose another path; govgate only rebuilds its own demo files")
    os.remove(path)


def _require_empty(engine, url: str) -> None:
    with connect(engine) as conn:
        names = sa.inspect(conn).get_table_names()
    if names:
        raise BadInput(f"the database at {mask_url(url)} already holds {len(names)} tables",
                       hint="build the demo into an empty database")


def init(settings: Settings, *, actor: str, roles: bool = False) -> setup.InitResult:
    """Create missing governance tables (and, with ROLES, the PostgreSQL roles)."""
    with _session(settings, lock=True) as conn:
        result = setup.create_missing(conn, actor)
        if roles:
            result = setup.create_roles(conn, result)
    return directus_meta.after_init(settings, result)  # after the commit: Directus reloads its schema


# -- read commands ---------------------------------------------------------------


def status(settings: Settings, proposal_id: str | None = None) -> gate_mod.GateVerdict:
    """The gate's verdict, seen through the agent's own connection."""
    with _session(settings, Mode.READ, agent=True) as conn:
        return gate_mod.evaluate(conn, settings, proposal_id)


def gap(settings: Settings, proposal_id: str | None = None) -> GapReport:
    """The ownership gap by authority, domain and collection."""
    with _session(settings, Mode.READ) as conn:
        pid = proposal_id or prop.current_id(conn)
        state = read_state(conn, pid)
        return gap_report(state, prop.load(conn, pid) if pid else None)


def proposal(settings: Settings, proposal_id: str | None = None) -> prop.Proposal | None:
    """The proposal PROPOSAL_ID (default: the current one), or None when there is none."""
    with _session(settings, Mode.READ) as conn:
        pid = proposal_id or prop.current_id(conn)
        return prop.load(conn, pid) if pid else None


# -- propose ---------------------------------------------------------------------


def propose(settings: Settings, plan_path: str, *, actor: str) -> prop.ProposeResult:
    """Validate the plan and freeze it as a proposal (no-op when identical)."""
    plan = load_plan(plan_path)
    with _session(settings, lock=True) as conn:
        return prop.freeze(conn, plan, actor)


def audit_trail(settings: Settings, limit: int | None = None) -> list[audit_mod.AuditEvent]:
    with _session(settings, Mode.READ) as conn:
        return audit_mod.events(conn, limit)


def audit_verify(settings: Settings) -> audit_mod.ChainCheck:
    with _session(settings, Mode.READ) as conn:
        return audit_mod.verify_chain(conn)


# -- ratify (the human path) --------------------------------------------------------


def ratify(settings: Settings, proposal_id: str, *, approver: str, confirm: ratify_mod.Confirm,
           interactive: bool, approval_id: str | None = None,
           statement: str | None = None) -> ratify_mod.RatifyResult:
    """Record a human's approval of PROPOSAL_ID after CONFIRM shows it and they type its id.

    The human reads without holding any lock; the write re-checks that the
    proposal did not change meanwhile. Refused (nothing written) without an
    interactive terminal, for the agent's identity, or when the typed id differs.
    """
    ratify_mod.require_terminal(interactive)
    with _session(settings, Mode.READ) as conn:
        request = ratify_mod.prepare(conn, settings, proposal_id, approver, approval_id, statement)
    typed = confirm(request)
    with _session(settings, lock=True) as conn:
        again = ratify_mod.prepare(conn, settings, proposal_id, approver, request.approval_id, request.statement)
        if again.proposal.sha256 != request.proposal.sha256:
            raise Refused("the proposal changed while you read it; nothing was approved",
                          hint="run `govgate ratify` again and read the new summary")
        return ratify_mod.record(conn, again, typed, interactive=interactive)


# -- the agent's commands ------------------------------------------------------------


def apply(settings: Settings, *, dry_run: bool = False, hook: rollout.StepHook | None = None) -> rollout.RolloutResult:
    """Run the ratified rollout through the agent's connection (see rollout.apply)."""
    engine = make_engine(settings.agent_url)
    try:
        return rollout.apply(engine, settings, dry_run=dry_run, hook=hook)
    finally:
        engine.dispose()


def rollback(settings: Settings, *, force: bool = False,
             hook: rollout.StepHook | None = None) -> rollout.RollbackResult:
    """Undo the current proposal's rollout (see rollout.rollback)."""
    engine = make_engine(settings.agent_url)
    try:
        return rollout.rollback(engine, settings, force=force, hook=hook)
    finally:
        engine.dispose()


def verify(settings: Settings) -> VerifyResult:
    """Re-run the rollout's post-conditions on committed state."""
    with _session(settings, Mode.READ, agent=True) as conn:
        pid = prop.current_id(conn)
        state = read_state(conn, pid)
        if not pid or not state.rollouts:
            return VerifyResult(pid, None, ())
        proposal = prop.load(conn, pid)
        return VerifyResult(pid, state.rollouts[0], tuple(checks(conn, proposal, state.rollouts[0], state)))


@dataclass(frozen=True)
class Report:
    """The last rollout's report, and whether it is still in effect."""

    data: dict


def report(settings: Settings, rollout_id: str | None = None) -> Report:
    """The report of ROLLOUT_ID (default: the most recent rollout). Refused when there is none."""
    r = s.rollouts.c
    with _session(settings, Mode.READ) as conn:
        query = sa.select(r.id, r.report, r.status, r.rolled_back_at).order_by(r.started_at.desc()).limit(1)
        if rollout_id:
            query = query.where(r.id == rollout_id)
        row = conn.execute(query).first()
    if row is None or row.report is None:
        raise Refused("there is no rollout to report on yet" if not rollout_id else f"no rollout {rollout_id}",
                      hint="the agent writes a report after each rollout")
    data = json.loads(row.report)
    data["state"] = row.status
    if row.status == "rolled_back":
        data["rolled_back_at"] = row.rolled_back_at
    return Report(data)


def doctor(settings: Settings) -> doctor_mod.DoctorResult:
    """Connectivity, schema version, and what the agent's credentials can and cannot write."""
    findings = []
    for name, url, agent in (("database", settings.db_url, False), ("agent connection", settings.agent_url, True)):
        try:
            with _session(settings, Mode.READ, agent=agent) as conn:
                conn.execute(sa.text("SELECT 1"))
                findings.append(doctor_mod.connection_finding(name, url, None))
                if agent:
                    findings += doctor_mod.schema_findings(conn)
                    pid = prop.current_id(conn) if "os_proposals" in sa.inspect(conn).get_table_names() else None
                    protected = prop.load(conn, pid).protected if pid else ()
                    findings += doctor_mod.agent_findings(conn, settings, protected)
                    findings += doctor_mod.directus_findings(conn, settings)
        except GovgateError as exc:
            findings.append(doctor_mod.connection_finding(name, url, exc.message))
    return doctor_mod.DoctorResult(tuple(findings))


def rehearse(settings: Settings, plan_path: str | None = None, *, hook: rollout.StepHook | None = None,
             progress: rehearse_mod.Progress | None = None) -> rehearse_mod.RehearsalResult:
    """The whole runbook on a fresh copy of production; production is only read."""
    return rehearse_mod.rehearse(settings, plan_path, hook=hook, progress=progress)


# -- the unattended agent -------------------------------------------------------------


def run_agent(settings: Settings, *, once: bool = False, interval: float | None = None,
              hook: rollout.StepHook | None = None, stop=None):
    """The agent's structured events, one at a time (see agent.run): it watches the
    gate, applies once READY, verifies and reports. The last event, `stopped`,
    carries the exit code."""
    from . import agent  # agent uses this module: imported when needed

    return agent.run(settings, once=once, interval=interval, hook=hook, stop=stop)
