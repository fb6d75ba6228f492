"""Shared fixtures: real SQLite files and a real throwaway PostgreSQL cluster.

Every database test runs on both. The One-Roof demo is built once per backend
into a template (a file, or a template database) and copied for each test, so
each test starts from a fresh, identical production replica.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import sqlalchemy as sa

from govgate import api
from govgate.config import Settings
from govgate.db.engine import make_engine

from pgcluster import PgCluster, fresh_database_name
from sqlhelp import sql_execute, sql_rows

AGENT_LOGIN = "gg_agent_login"
APPROVER_LOGIN = "gg_approver_login"
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Lab:
    """One fresh demo database and the ways a test reaches it."""

    backend: str
    settings: Settings  # main URL (owner/human); agent URL least-privilege on PostgreSQL
    approver_url: str

    @property
    def url(self) -> str:
        return self.settings.db_url

    def engine(self, url: str | None = None):
        return make_engine(url or self.url)

    def rows(self, sql: str, **params) -> list[tuple]:
        return sql_rows(self.engine(), sql, params)

    def scalar(self, sql: str, **params):
        return self.rows(sql, **params)[0][0]

    def execute(self, sql: str, **params) -> None:
        sql_execute(self.engine(), sql, params)

    def snapshot(self, exclude: tuple[str, ...] = ()) -> dict[str, list[tuple]]:
        """Every table's rows, sorted: compare two snapshots row by row."""
        engine = self.engine()
        try:
            with engine.connect() as conn:
                insp = sa.inspect(conn)
                out = {}
                for name in sorted(insp.get_table_names()):
                    if name in exclude:
                        continue
                    rows = conn.execute(sa.text(f'SELECT * FROM "{name}"')).fetchall()
                    out[name] = sorted((tuple(r) for r in rows), key=repr)
                out["<views>"] = sorted(insp.get_view_names())
                return out
        finally:
            engine.dispose()


@pytest.fixture(scope="session")
def pg():
    with PgCluster() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "oneroof.db"
    api.demo(Settings(), str(path), actor="test-builder")
    return path


def build_pg_template(cluster: PgCluster, name: str) -> str:
    """The One-Roof demo in database NAME, with the roles and the agent's and approver's logins."""
    cluster.create_database(name)
    settings = Settings(db_url=cluster.url(name))
    api.demo(settings, actor="test-builder")
    api.init(settings, actor="test-builder", roles=True)
    cluster.admin_execute(f"CREATE ROLE {AGENT_LOGIN} LOGIN IN ROLE govgate_agent")
    cluster.admin_execute(f"CREATE ROLE {APPROVER_LOGIN} LOGIN IN ROLE govgate_approver")
    return name


@pytest.fixture(scope="session")
def pg_template(pg) -> str:
    return build_pg_template(pg, "oneroof_template")


def _sqlite_lab(tmp_path: Path, template: Path) -> Lab:
    path = tmp_path / "production.db"
    shutil.copyfile(template, path)
    url = f"sqlite:///{path}"
    return Lab("sqlite", Settings(db_url=url, report_dir=str(tmp_path / "reports")), url)


def _pg_lab(pg: PgCluster, template: str, tmp_path: Path) -> Lab:
    name = fresh_database_name()
    pg.create_database(name, template=template)
    settings = Settings(
        db_url=pg.url(name),
        agent_db_url=pg.url(name, user=AGENT_LOGIN),
        report_dir=str(tmp_path / "reports"),
    )
    return Lab("postgres", settings, pg.url(name, user=APPROVER_LOGIN))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def lab(request, tmp_path) -> Lab:
    """A fresh One-Roof demo on each backend."""
    if request.param == "sqlite":
        yield _sqlite_lab(tmp_path, request.getfixturevalue("sqlite_template"))
        return
    pg = request.getfixturevalue("pg")
    created = _pg_lab(pg, request.getfixturevalue("pg_template"), tmp_path)
    yield created
    pg.drop_database(created.url.rsplit("/", 1)[1])


@pytest.fixture
def sqlite_lab(tmp_path, sqlite_template) -> Lab:
    return _sqlite_lab(tmp_path, sqlite_template)


def with_settings(lab: Lab, **changes) -> Lab:
    return replace(lab, settings=replace(lab.settings, **changes))


@dataclass
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def gg(capsys):
    """Run the govgate command line in-process: gg("--db", url, "status") -> Run."""
    from govgate.cli import main

    def run(*args: str) -> Run:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def lab_factory_big(request, tmp_path) -> Lab:
    """A One-Roof demo whose 42 app tables hold 100,800 rows."""
    rows = 2400
    if request.param == "sqlite":
        path = tmp_path / "big.db"
        api.demo(Settings(), str(path), actor="test-builder", rows_per_table=rows)
        yield Lab("sqlite", Settings(db_url=f"sqlite:///{path}"), f"sqlite:///{path}")
        return
    pg = request.getfixturevalue("pg")
    request.getfixturevalue("pg_template")  # the roles exist
    name = fresh_database_name()
    url = pg.create_database(name)
    settings = Settings(db_url=url)
    api.demo(settings, actor="test-builder", rows_per_table=rows)
    api.init(settings, actor="test-builder", roles=True)
    yield Lab(
        "postgres",
        Settings(db_url=url, agent_db_url=pg.url(name, user=AGENT_LOGIN)),
        pg.url(name, user=APPROVER_LOGIN),
    )
    pg.drop_database(name)


PROPOSAL = "PROP-AUTHMODEL-1"
APPROVER = "approver@oneroof.example"


def ratify(lab: Lab, approval_id: str | None = None, settings: Settings | None = None):
    """A human ratifies the demo proposal through the library, as if typing the approval id."""
    return api.ratify(
        settings or lab.settings,
        PROPOSAL,
        approver=APPROVER,
        confirm=lambda request: request.approval_id,
        interactive=True,
        approval_id=approval_id,
    )


@pytest.fixture(scope="session")
def mariadb():
    from support.mariadb import MariaDbServer

    with MariaDbServer() as server:
        yield server
