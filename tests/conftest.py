"""Shared fixtures: real SQLite files, a real throwaway PostgreSQL cluster and MariaDB server.

Every database test runs on all three. The One-Roof demo is built once per backend
into a template (a file, or a template database) and copied for each test, so
each test starts from a fresh, identical production replica. The helpers these
fixtures use, and the constants, live in tests/support/ (see tests/README.md).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from govgate import api
from govgate.config import Settings

from support import signing
from support.constants import AGENT_LOGIN, APPROVER_LOGIN
from support.labs import (
    Lab,
    Run,
    build_pg_template,
    copy_pg_lab,
    copy_sqlite_lab,
    runbook,
)
from support.mariadb_labs import build_mariadb_template, copy_mariadb_lab
from support.pgcluster import PgCluster, fresh_database_name
from support.tinyserver import TinyServer

# Every govgate the suite runs, in-process or as a command, trusts the suite's approvers' keys,
# as an operator's govgate.toml names their allowed_signers file.
os.environ["GOVGATE_ALLOWED_SIGNERS"] = signing.allowed_signers()
# A govgate.toml in the folder the suite runs from (`make demo` writes one) must not reach
# the tests: each test that wants a configuration names it.
os.environ["GOVGATE_CONFIG"] = os.devnull


@pytest.fixture(scope="session")
def pg():
    with PgCluster() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "oneroof.db"
    api.demo(Settings(), str(path), actor="test-builder")
    return path


@pytest.fixture(scope="session")
def pg_template(pg) -> str:
    return build_pg_template(pg, "oneroof_template")


@pytest.fixture(scope="session")
def mariadb_template(mariadb) -> str:
    return build_mariadb_template(mariadb, "oneroof_template")


# MariaDB runs the files that carry the runbook's guarantees (and its own file), not the whole
# suite: plan parsing, rendering, signatures and the web page run the same Python on every
# database, and a third backend over everything would add the suite's own length again (CI has a
# hard limit). The `lab` cases of other files are deselected on MariaDB; fixtures that ask for
# the `mariadb` server directly (test_fingerprint.py's cross-backend equality) always run.
MARIADB_FILES = frozenset(
    {
        "test_agent.py", "test_apply.py", "test_audit.py", "test_change_marker.py",
        "test_confinement.py", "test_containment.py", "test_custody.py", "test_demo.py",
        "test_faults.py", "test_gate.py", "test_mariadb_roles.py", "test_observability.py",
        "test_reliability_quick.py", "test_rehearse.py", "test_rollback.py", "test_runbook.py",
        "test_verify.py",
    }
)  # fmt: skip


def pytest_collection_modifyitems(config, items):
    dropped = [
        item
        for item in items
        if getattr(item, "callspec", None) is not None
        and item.callspec.params.get("lab") == "mariadb"
        and item.path.name not in MARIADB_FILES
    ]
    if dropped:
        gone = set(map(id, dropped))
        items[:] = [item for item in items if id(item) not in gone]
        config.hook.pytest_deselected(items=dropped)


BACKENDS = [
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("mariadb", marks=pytest.mark.mariadb),
]


@pytest.fixture(params=BACKENDS)
def lab(request, tmp_path) -> Lab:
    """A fresh One-Roof demo on each backend."""
    if request.param == "sqlite":
        yield copy_sqlite_lab(tmp_path, request.getfixturevalue("sqlite_template"))
        return
    if request.param == "mariadb":
        server = request.getfixturevalue("mariadb")
        created = copy_mariadb_lab(server, request.getfixturevalue("mariadb_template"), tmp_path)
        yield created
        server.drop_database(created.db_name)
        return
    pg = request.getfixturevalue("pg")
    created = copy_pg_lab(pg, request.getfixturevalue("pg_template"), tmp_path)
    yield created
    pg.drop_database(created.db_name)


@pytest.fixture
def sqlite_lab(tmp_path, sqlite_template) -> Lab:
    return copy_sqlite_lab(tmp_path, sqlite_template)


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
    api.init(settings, actor="test-builder", roles=True, sql_registration=True)
    yield Lab(
        "postgres",
        Settings(db_url=url, agent_db_url=pg.url(name, user=AGENT_LOGIN)),
        pg.url(name, user=APPROVER_LOGIN),
    )
    pg.drop_database(name)


@pytest.fixture
def edited_rollout(lab) -> str:
    """An applied rollout one of whose records a person changed by hand afterwards."""
    rollout_id = runbook(lab, rollback=False)
    lab.execute(
        "UPDATE os_accountability SET authority = 'GOV-MOIT' "
        "WHERE collection = 'transport_routes' AND duty = 'ownership'"
    )
    return rollout_id


@pytest.fixture
def server():
    """A local TCP server (not the database) that counts the connections reaching it."""
    s = TinyServer()
    yield s
    s.close()


@pytest.fixture(scope="session")
def mariadb():
    from support.mariadb import MariaDbServer

    with MariaDbServer() as server:
        yield server
