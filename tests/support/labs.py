"""The labs the tests run on, and what a test does to one.

A `Lab` is one fresh copy of the One-Roof demo (a SQLite file, or a PostgreSQL database made
from a template) with the URLs of its owner, of the agent's login and of the approver's
login. The fixtures that hand labs to tests live in tests/conftest.py; the functions that
build labs, ratify, read the gate and the journals, and snapshot every table live here.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from govgate import api
from govgate.config import Settings
from govgate.db import schema as s
from govgate.db.engine import make_engine
from govgate.db.session import transaction
from govgate.directus import identity
from govgate.directus import tables as dx
from govgate.runbook import approve
from govgate.runbook import ratify as ratify_mod

from support import signing
from support.constants import (
    AGENT_LOGIN,
    APPROVAL,
    APPROVER,
    APPROVER_LOGIN,
    GOVGATE,
    NO_CONFIG,
    PROMPT,
    PROPOSAL,
)
from support.pgcluster import PgCluster, fresh_database_name
from support.ptyrun import PtyRun, run_in_pty
from support.sqlhelp import sql_execute, sql_rows

# -- snapshots ------------------------------------------------------------------------------


def snapshot(engine: sa.Engine, exclude: tuple[str, ...] = (), columns: bool = False) -> dict:
    """Every table's rows, sorted, and the list of views: compare two snapshots row by row.

    With COLUMNS each table maps to (its column names, its rows). Disposes of ENGINE.
    """
    try:
        with engine.connect() as conn:
            insp = sa.inspect(conn)
            out: dict = {}
            for name in sorted(insp.get_table_names()):
                if name in exclude:
                    continue
                quoted = conn.dialect.identifier_preparer.quote(name)
                rows = conn.execute(sa.text(f"SELECT * FROM {quoted}")).fetchall()
                rows = sorted((tuple(r) for r in rows), key=repr)
                out[name] = ([c["name"] for c in insp.get_columns(name)], rows) if columns else rows
            out["<views>"] = sorted(insp.get_view_names())
            return out
    finally:
        engine.dispose()


# -- the lab --------------------------------------------------------------------------------


@dataclass
class Lab:
    """One fresh demo database and the ways a test reaches it."""

    backend: str
    settings: Settings  # main URL (owner/human); agent URL least-privilege on PostgreSQL
    approver_url: str

    @property
    def url(self) -> str:
        return self.settings.db_url

    @property
    def db_name(self) -> str:
        """The server database's name (PostgreSQL, MariaDB)."""
        return sa.engine.make_url(self.url).database

    def engine(self, url: str | None = None):
        return make_engine(url or self.url)

    def rows(self, sql: str, **params) -> list[tuple]:
        return sql_rows(self.engine(), sql, params)

    def scalar(self, sql: str, **params):
        return self.rows(sql, **params)[0][0]

    def execute(self, sql: str, **params) -> None:
        sql_execute(self.engine(), sql, params)

    def execute_as_agent(self, sql: str, **params) -> None:
        """Run SQL as the agent's database login (the main login on SQLite)."""
        sql_execute(self.engine(self.settings.agent_url), sql, params)

    def snapshot(self, exclude: tuple[str, ...] = ()) -> dict[str, list[tuple]]:
        """Every table's rows, sorted, and the list of views; not the agents' heartbeats,
        which every agent writes while it runs, whatever the gate says (docs/OPERATIONS.md)."""
        return snapshot(self.engine(), (*exclude, "os_agent_heartbeats"))


def with_settings(lab: Lab, **changes) -> Lab:
    """The same lab seen through other settings (e.g. db_url=lab.settings.agent_url)."""
    return replace(lab, settings=replace(lab.settings, **changes))


@dataclass
class Run:
    """What the `gg` fixture returns: one in-process run of the govgate command line."""

    code: int
    out: str
    err: str


def build_pg_template(cluster: PgCluster, name: str) -> str:
    """The One-Roof demo in database NAME, with the roles and the agent's and approver's logins."""
    cluster.create_database(name)
    settings = Settings(db_url=cluster.url(name))
    api.demo(settings, actor="test-builder")
    api.init(settings, actor="test-builder", roles=True, sql_registration=True)
    cluster.admin_execute(f"CREATE ROLE {AGENT_LOGIN} LOGIN IN ROLE govgate_agent")
    cluster.admin_execute(f"CREATE ROLE {APPROVER_LOGIN} LOGIN IN ROLE govgate_approver")
    return name


def copy_sqlite_lab(folder: Path, template: Path) -> Lab:
    """A lab on a copy of the SQLite TEMPLATE file, its reports in FOLDER/reports."""
    path = folder / "production.db"
    shutil.copyfile(template, path)
    url = f"sqlite:///{path}"
    settings = Settings(
        db_url=url, report_dir=str(folder / "reports"), allowed_signers=signing.allowed_signers()
    )
    return Lab("sqlite", settings, url)


def copy_pg_lab(cluster: PgCluster, template: str, folder: Path) -> Lab:
    """A lab on a new database made from TEMPLATE (see build_pg_template); drop it after use."""
    name = fresh_database_name()
    cluster.create_database(name, template=template)
    settings = Settings(
        db_url=cluster.url(name),
        agent_db_url=cluster.url(name, user=AGENT_LOGIN),
        report_dir=str(folder / "reports"),
        allowed_signers=signing.allowed_signers(),
    )
    return Lab("postgres", settings, cluster.url(name, user=APPROVER_LOGIN))


# -- a human ratifies -------------------------------------------------------------------------


def ratify(
    lab: Lab,
    approval_id: str | None = None,
    settings: Settings | None = None,
    approver: str = APPROVER,
    proposal: str = PROPOSAL,
    signer_as: str | None = None,
):
    """A human ratifies the demo proposal through the library, as if typing the approval id,
    signing it with their key (the demo database is Directus-shaped, with no server)."""
    return api.ratify(
        settings or lab.settings,
        proposal,
        approver=approver,
        confirm=lambda request: request.approval_id,
        interactive=True,
        approval_id=approval_id,
        signer=signing.signer(signer_as or approver),
    )


def ratify_as_approver_login(
    lab: Lab, cluster: PgCluster | None = None, approval_id: str | None = None
):
    """A human's signed ratification, written as `govgate ratify --sign-key` writes it, as the
    approver's login (on PostgreSQL: with nothing but the govgate_approver role's grants)."""
    engine = make_engine(lab.approver_url)
    try:
        with transaction(engine, lock=True) as conn:
            request = ratify_mod.prepare(conn, lab.settings, PROPOSAL, APPROVER, approval_id)
            sign = approve.signing_function(lab.settings, signing.signer(), request.principal)
            return approve.record(conn, request, request.approval_id, interactive=True, sign=sign)
    finally:
        engine.dispose()


def ratify_on_terminal(
    lab: Lab, approval_id: str, who: str = APPROVER, env: dict | None = None
) -> PtyRun:
    """`govgate ratify --as WHO` on a pseudo-terminal, typing APPROVAL_ID at the prompt.

    Runs as the approver's login, with no configuration file; returns the run with the
    terminal's colour codes removed from its output.
    """
    run = run_in_pty(
        [GOVGATE, "--db", lab.approver_url, "ratify", PROPOSAL, "--as", who]
        + ["--sign-key", str(signing.key_path(who))],
        [(PROMPT, approval_id)],
        env={**NO_CONFIG, **(env or {})},
    )
    run.output = re.sub(r"\x1b\[[0-9;]*m", "", run.output)
    return run


def insert_approval(
    lab: Lab,
    approval_id: str = APPROVAL,
    sha256: str | None = None,
    approved_by: str | None = None,
    proposal: str = PROPOSAL,
) -> None:
    """An approval written with SQL, as a person does in the Directus app: the row and the
    `create` activity of the human approver.

    By default it is the right one (the current proposal's hash, approved by the approver's
    Directus user), so a test can make exactly one field wrong.
    """
    sha256 = sha256 or api.status(lab.settings).proposal_sha256
    engine = lab.engine()
    try:
        with engine.begin() as conn:
            human = identity.user_id(conn, APPROVER)
            conn.execute(
                s.approvals.insert().values(
                    id=approval_id,
                    proposal_id=proposal,
                    proposal_sha256=sha256,
                    approved_by=approved_by or human,
                    approved_at=datetime.now(UTC),
                    statement="I approve the One-Roof authorization model",
                )
            )
            conn.execute(
                dx.activity.insert().values(
                    action="create",
                    user=human,
                    collection=s.approvals.name,
                    item=approval_id,
                    origin="app",
                )
            )
    finally:
        engine.dispose()


def runbook(lab: Lab, *, rollback: bool = True) -> str:
    """Ratify, apply and (by default) roll back through the library; returns the rollout id."""
    ratify(lab)
    rollout_id = api.apply(lab.settings).rollout_id
    if rollback:
        api.rollback(lab.settings)
    return rollout_id


# -- reading the gate and the journals ---------------------------------------------------------


def agent_args(lab: Lab) -> tuple[str, ...]:
    """The command line's database options as the agent runs it: main URL and agent URL."""
    return ("--db", lab.url, "--agent-db", lab.settings.agent_url)


def gate(lab: Lab) -> dict:
    """The gate's verdict as the agent sees it: status word, reason codes and messages."""
    verdict = api.status(lab.settings)
    return {
        "status": verdict.status.value,
        "codes": [r.code for r in verdict.reasons],
        "messages": [r.message for r in verdict.reasons],
        "proposal": verdict.proposal_id,
    }


def audit_rows(lab: Lab) -> list[tuple]:
    """(seq, kind, detail, hash) of every audit row, in order."""
    return lab.rows("SELECT seq, kind, detail, hash FROM os_audit ORDER BY seq")


def last_audit(lab: Lab) -> tuple[str, dict]:
    """The kind and the parsed detail of the newest audit row."""
    kind, detail = lab.rows("SELECT kind, detail FROM os_audit ORDER BY seq DESC LIMIT 1")[0]
    return kind, json.loads(detail)


def rollouts(lab: Lab) -> list[tuple]:
    """(id, approval_id, status) of every rollout in the journal."""
    return lab.rows("SELECT id, approval_id, status FROM os_rollouts")


def assert_apply_refused_and_nothing_written(lab: Lab, gg, *phrases: str) -> None:
    """`govgate apply` (run through the GG fixture) exits 1 naming PHRASES, not one row of any
    table changes, and the gate says BLOCKED."""
    before = lab.snapshot()
    result = gg(*agent_args(lab), "apply")
    assert result.code == 1, result.out + result.err
    assert "nothing was changed" in result.err
    for phrase in phrases:
        assert phrase in result.err, result.err
    assert lab.snapshot() == before
    assert gate(lab)["status"] == "BLOCKED"


def lift_custody(lab: Lab) -> None:
    """Drop the custody triggers, as the tables' owner can: for tests that write journal rows
    govgate itself never writes (synthetic rollouts, rewritten history)."""
    engine = lab.engine()
    try:
        with engine.begin() as conn:
            if lab.backend == "postgres":
                names = conn.exec_driver_sql(
                    "SELECT tgname, tgrelid::regclass::text FROM pg_trigger "
                    "WHERE tgname LIKE 'os_custody%%'"
                ).all()
                for name, table in names:
                    conn.exec_driver_sql(f'DROP TRIGGER "{name}" ON {table}')
            elif lab.backend == "mariadb":
                names = conn.exec_driver_sql(
                    "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS "
                    "WHERE TRIGGER_SCHEMA = DATABASE() AND TRIGGER_NAME LIKE 'os\\_%%custody%%'"
                ).scalars()
                for name in list(names):
                    conn.exec_driver_sql(f"DROP TRIGGER `{name}`")
            else:
                names = (
                    conn.exec_driver_sql(
                        "SELECT name FROM sqlite_master WHERE type = 'trigger' "
                        "AND name LIKE 'os\\_%custody%' ESCAPE '\\'"
                    )
                    .scalars()
                    .all()
                )
                for name in names:
                    conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
    finally:
        engine.dispose()
