"""`govgate init` creates what is missing and never alters what exists (SPEC 5, 7).

And a database without the governance tables is an environment error (exit 3)
that names the missing tables and the command that creates them. What init registers
in Directus's own tables is in test_directus_schema.py; `init --roles` in test_roles.py.
"""

from __future__ import annotations

import json
import sqlite3

import pytest
import sqlalchemy as sa

from govgate.db.engine import Mode, make_engine
from govgate.db.schema import require_tables
from govgate.db.session import Database
from govgate.errors import SchemaMissing

from support.labs import snapshot
from support.pgcluster import fresh_database_name

# SPEC section 5: the columns that must exist, and each table's key.
SPEC_COLUMNS = {
    "os_authorities": {"code", "name", "active"},
    "os_governed_collections": {"collection", "domain"},
    "os_duties": {"code", "title"},
    "os_proposal_approvals": {
        "id",
        "proposal_id",
        "proposal_sha256",
        "approved_by",
        "approved_at",
        "statement",
    },
    "os_accountability": {"collection", "duty", "authority", "rollout_id"},
}
SPEC_KEYS = {
    "os_authorities": ["code"],
    "os_governed_collections": ["collection"],
    "os_duties": ["code"],
    "os_proposal_approvals": ["id"],
}
GOVERNANCE = set(SPEC_COLUMNS)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request, tmp_path):
    """The URL of an empty database that exists."""
    if request.param == "sqlite":
        path = tmp_path / "empty.db"
        sqlite3.connect(path).close()
        yield f"sqlite:///{path}"
        return
    pg = request.getfixturevalue("pg")
    name = fresh_database_name()
    pg.create_database(name)
    yield pg.url(name)
    pg.drop_database(name)


def _inspect(url: str, fn):
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return fn(sa.inspect(conn), conn)
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    return _inspect(url, lambda insp, _: set(insp.get_table_names()))


def _snapshot(url: str) -> dict:
    """Every table's column names and rows (and the list of views)."""
    return snapshot(make_engine(url), columns=True)


def _execute(url: str, *statements: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for sql in statements:
                conn.execute(sa.text(sql))
    finally:
        engine.dispose()


def _scalar(url: str, sql: str):
    return _inspect(url, lambda _, conn: conn.execute(sa.text(sql)).scalar())


def test_init_on_an_empty_database_creates_every_governance_table_with_the_spec_columns(
    empty_url, gg
):
    result = gg("--db", empty_url, "init")
    assert result.code == 0, result.err
    assert "schema version 1" in result.out
    for table in GOVERNANCE:
        assert table in result.out  # it says what it created

    def columns(insp, _):
        return {t: {c["name"] for c in insp.get_columns(t)} for t in GOVERNANCE}

    found = _inspect(empty_url, columns)
    for table, required in SPEC_COLUMNS.items():
        assert required <= found[table], (table, required - found[table])
    keys = _inspect(
        empty_url,
        lambda insp, _: {t: insp.get_pk_constraint(t)["constrained_columns"] for t in SPEC_KEYS},
    )
    assert keys == SPEC_KEYS
    assert (
        _scalar(empty_url, "SELECT value FROM os_settings WHERE os_settings.key = 'schema_version'")
        == "1"
    )
    assert (
        _scalar(
            empty_url, "SELECT value FROM os_settings WHERE os_settings.key = 'external_emission'"
        )
        == "off"
    )


def test_init_creates_empty_governance_tables_and_audits_itself_once(empty_url, gg):
    assert gg("--db", empty_url, "init").code == 0
    for table in GOVERNANCE:
        assert _scalar(empty_url, f"SELECT COUNT(*) FROM {table}") == 0
    assert _scalar(empty_url, "SELECT COUNT(*) FROM os_audit WHERE kind = 'init'") == 1


def test_accountability_holds_one_row_per_slot(empty_url, gg):
    assert gg("--db", empty_url, "init").code == 0
    row = (
        "INSERT INTO os_accountability (collection, duty, authority) "
        "VALUES ('roads', 'owner', '{}')"
    )
    _execute(empty_url, row.format("AUTH-A"))
    with pytest.raises(sa.exc.IntegrityError):
        _execute(empty_url, row.format("AUTH-B"))
    assert _scalar(empty_url, "SELECT COUNT(*) FROM os_accountability") == 1


def test_init_twice_is_a_no_op_that_changes_no_row(empty_url, gg):
    assert gg("--db", empty_url, "init").code == 0
    before = _snapshot(empty_url)
    again = gg("--db", empty_url, "init")
    assert again.code == 0, again.err
    assert "created tables: none (all present)" in again.out
    assert _snapshot(empty_url) == before


def test_init_on_a_demo_database_changes_nothing_and_registers_nothing_in_directus(lab, gg):
    before = lab.snapshot()
    result = gg("--db", lab.url, "init", "--sql-registration")
    assert result.code == 0, result.err
    assert "none (all present)" in result.out
    assert "registered in Directus" not in result.out and "schema cache" not in result.out
    assert lab.snapshot() == before  # directus_collections, _fields and _relations included


@pytest.mark.parametrize("lab", ["sqlite"], indirect=True)
def test_init_on_directus_without_a_token_or_the_flag_exits_2_naming_both(
    lab, gg, tmp_path, monkeypatch
):
    for name in ("GOVGATE_DIRECTUS_URL", "GOVGATE_DIRECTUS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no govgate.toml
    _execute(lab.url, "DROP TABLE os_outbox")  # something init would create
    before = lab.snapshot()
    result = gg("--db", lab.url, "init")
    assert result.code == 2, result.err
    assert "GOVGATE_DIRECTUS_TOKEN" in result.err and "--sql-registration" in result.err
    assert "REST API" in result.err
    assert lab.snapshot() == before and "os_outbox" not in _tables(lab.url)  # nothing written
    monkeypatch.setenv("GOVGATE_DIRECTUS_URL", "http://127.0.0.1:9")  # a URL alone is not enough
    result = gg("--db", lab.url, "init")
    assert result.code == 2 and "GOVGATE_DIRECTUS_TOKEN is not set" in result.err, result.err


def test_init_keeps_an_existing_authorities_table_its_extra_column_and_rows(empty_url, gg):
    _execute(
        empty_url,
        "CREATE TABLE os_authorities (code VARCHAR(64) PRIMARY KEY, name VARCHAR(255) NOT NULL, "
        "active BOOLEAN NOT NULL, legacy_ref VARCHAR(32))",
        "INSERT INTO os_authorities (code, name, active, legacy_ref) "
        "VALUES ('GOV-A', 'Board A', TRUE, 'L-1'), ('GOV-B', 'Board B', FALSE, NULL)",
    )
    before = _snapshot(empty_url)["os_authorities"]

    result = gg("--db", empty_url, "init")

    assert result.code == 0, result.err
    created = next(line for line in result.out.splitlines() if line.startswith("created tables:"))
    assert "os_authorities" not in created
    assert "os_duties" in created and "os_accountability" in created
    assert _snapshot(empty_url)["os_authorities"] == before  # same columns, same rows
    assert "legacy_ref" in before[0]
    assert _tables(empty_url) >= GOVERNANCE
    status = gg("--db", empty_url, "status", "--json")
    assert status.code == 0, status.err


def test_status_without_the_governance_tables_exits_3_naming_them_and_init(empty_url, gg):
    result = gg("--db", empty_url, "status")
    assert result.code == 3
    assert "missing governance tables" in result.err
    for table in GOVERNANCE:
        assert table in result.err
    assert "govgate init" in result.err
    assert _tables(empty_url) == set()  # it created nothing


def test_status_names_only_the_tables_that_are_missing(empty_url, gg):
    assert gg("--db", empty_url, "init").code == 0
    _execute(empty_url, "DROP TABLE os_duties")
    result = gg("--db", empty_url, "status")
    assert result.code == 3
    missing = next(line for line in result.err.splitlines() if "missing governance tables" in line)
    assert "os_duties" in missing
    assert "os_authorities" not in missing
    assert "govgate init" in result.err


def test_a_table_dropped_between_two_transactions_of_one_engine_is_still_named(empty_url, gg):
    # The agent and the page keep one engine (and its pooled connection) across polls: the
    # check of the tables, done once per transaction, must not be remembered beyond it.
    assert gg("--db", empty_url, "init").code == 0
    with Database(empty_url) as db:
        with db.transaction(Mode.READ) as conn:
            require_tables(conn)
            require_tables(conn)  # asked twice in one transaction, as `apply` does
        _execute(empty_url, "DROP TABLE os_duties")
        with pytest.raises(SchemaMissing, match="os_duties"), db.transaction(Mode.READ) as conn:
            require_tables(conn)


def test_propose_without_the_governance_tables_exits_3_and_creates_nothing(empty_url, gg, tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "proposal: P-1\napproval: A-1\ntitle: T\nprotected: []\nassign:\n  GOV-A: [roads]\n"
    )
    result = gg("--db", empty_url, "propose", str(plan))
    assert result.code == 3
    assert "missing governance tables" in result.err and "govgate init" in result.err
    assert _tables(empty_url) == set()


def test_status_after_init_is_blocked_with_no_proposal_and_no_gap(empty_url, gg):
    assert gg("--db", empty_url, "init").code == 0
    data = json.loads(gg("--db", empty_url, "status", "--json").out)
    assert data["status"] == "BLOCKED"
    assert data["gap"] == 0
    assert data["proposal"] is None
    assert [r["code"] for r in data["reasons"]] == ["no-proposal"]


def test_init_on_a_missing_sqlite_file_is_an_environment_error_and_creates_no_file(tmp_path, gg):
    path = tmp_path / "typo.db"
    result = gg("--db", f"sqlite:///{path}", "init")
    assert result.code == 3
    assert str(path) in result.err
    assert not path.exists()


def test_init_roles_on_sqlite_is_refused_as_bad_input(tmp_path, gg):
    path = tmp_path / "plain.db"
    sqlite3.connect(path).close()
    result = gg("--db", f"sqlite:///{path}", "init", "--roles")
    assert result.code == 2
    assert "SQLite has no database roles" in result.err
    assert _tables(f"sqlite:///{path}") == set()  # nothing half-made
