"""The demo's Directus tables are the real ones, column for column.

tests/directus/data/directus-12.4.0-schema.json was dumped from a running Directus
12.4.0 on PostgreSQL 15 and on SQLite (tests/directus/dump_schema.py; the Directus
suite re-checks it against the live lab). Here `govgate demo` is built on both
backends and every Directus table govgate touches is compared with it: same column
names in the same order, same types, nullability, defaults and primary keys; on
SQLite the very CREATE TABLE / CREATE INDEX text.
"""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from directus import dump_schema as dump
from govgate import api
from govgate.config import Settings
from govgate.db import schema as s
from govgate.directus import tables as dx

from support.constants import APPROVER, DIRECTUS_SCHEMA
from support.pgcluster import fresh_database_name

REAL = json.loads(DIRECTUS_SCHEMA.read_text(encoding="utf-8"))
TOUCHED = sorted(REAL["postgresql"])
# The tables `govgate init` registers in Directus, asserted by two tests below.
REGISTERED = {
    "os_proposal_approvals", "os_proposals", "os_accountability", "os_authorities",
    "os_governed_collections", "os_duties", "os_rollouts", "os_audit", "os_approval_signatures",
    "os_passkeys",
}  # fmt: skip


def test_the_reference_covers_every_directus_table_govgate_defines():
    assert REAL["directus_version"] == dx.DIRECTUS_VERSION
    assert sorted(dx.TABLES) == TOUCHED
    assert set(REAL["sqlite"]) == set(REAL["sqlite_create_sql"]) == set(TOUCHED)


def test_govgate_carries_directus_own_sqlite_ddl_verbatim():
    for table in TOUCHED:
        statements = dx.SQLITE_DDL[table]
        assert statements[0] == REAL["sqlite_create_sql"][table], table
        assert list(statements[1:]) == REAL["sqlite_index_sql"][table], table


def _columns(lab, table: str) -> list[dict]:
    if lab.backend == "sqlite":
        with sqlite3.connect(lab.url.removeprefix("sqlite:///")) as conn:
            return dump.sqlite_columns(conn, table)
    engine = lab.engine()
    try:
        with engine.connect() as conn:
            return dump.postgres_columns(conn, table)
    finally:
        engine.dispose()


@pytest.mark.parametrize("table", TOUCHED)
def test_demo_table_matches_real_directus_column_for_column(lab, table):
    real = REAL["sqlite" if lab.backend == "sqlite" else "postgresql"][table]
    demo = _columns(lab, table)
    assert [c["name"] for c in demo] == [c["name"] for c in real], "column names or order differ"
    for got, want in zip(demo, real, strict=False):
        assert (got["type"], got["nullable"], got["primary_key"]) == (
            want["type"],
            want["nullable"],
            want["primary_key"],
        ), got["name"]
        assert got["default"] == want["default"], got["name"]


def test_sqlite_demo_holds_the_exact_create_statements(sqlite_lab):
    with sqlite3.connect(sqlite_lab.url.removeprefix("sqlite:///")) as conn:
        for table in TOUCHED:
            assert dump.sqlite_create_sql(conn, table) == REAL["sqlite_create_sql"][table], table
            assert dump.sqlite_index_sql(conn, table) == REAL["sqlite_index_sql"][table], table


@pytest.mark.parametrize(
    "lab", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_postgres_demo_uses_uuid_and_timestamptz_like_directus(lab):
    types = {c["name"]: c["type"] for c in _columns(lab, "directus_activity")}
    assert types["user"] == "uuid" and types["timestamp"] == "timestamp with time zone"
    assert {c["name"]: c["type"] for c in _columns(lab, "directus_panels")}["dashboard"] == "uuid"


# -- how Directus stores values, and govgate reading them ----------------------------------


def test_uuids_are_stored_as_directus_stores_them(sqlite_lab):
    # Directus keeps the canonical text with dashes in char(36); SQLAlchemy's own Uuid would not.
    approver = sqlite_lab.scalar("SELECT id FROM directus_users WHERE email = :e", e=APPROVER)
    assert len(approver) == 36 and approver.count("-") == 4


def test_sqlite_timestamps_are_epoch_ms_and_read_loosely(sqlite_lab):
    when = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    engine = sqlite_lab.engine()
    try:
        with engine.begin() as conn:
            conn.execute(
                dx.activity.insert().values(
                    action="login", user=None, timestamp=when, collection="directus_users", item="x"
                )
            )
            # as Directus itself writes it, and as the column default leaves it
            conn.exec_driver_sql(
                "INSERT INTO directus_activity (action, timestamp, collection, item) "
                "VALUES ('login', 1795552585144, 'directus_users', 'y')"
            )
            conn.exec_driver_sql(
                "INSERT INTO directus_activity (action, collection, item) "
                "VALUES ('login', 'directus_users', 'z')"
            )
            rows = dict(
                conn.execute(
                    sa.select(dx.activity.c.item, dx.activity.c.timestamp).where(
                        dx.activity.c.item.in_(["x", "y", "z"])
                    )
                ).all()
            )
            stored = conn.exec_driver_sql(
                "SELECT typeof(timestamp), timestamp FROM directus_activity WHERE item = 'x'"
            ).one()
    finally:
        engine.dispose()
    assert stored == ("integer", int(when.timestamp() * 1000))
    assert rows["x"] == when
    assert rows["y"] == datetime.fromtimestamp(1795552585.144, tz=UTC)
    assert rows["z"].tzinfo is not None


def test_a_directus_style_activity_with_epoch_ms_proves_an_approval(sqlite_lab):
    """What Directus on SQLite writes when a person creates the approval: the gate accepts it."""
    verdict = api.status(sqlite_lab.settings)
    approver = sqlite_lab.scalar("SELECT id FROM directus_users WHERE email = :e", e=APPROVER)
    now_ms = int(time.time() * 1000)
    sqlite_lab.execute(
        "INSERT INTO os_proposal_approvals (id, proposal_id, proposal_sha256, approved_by, "
        "approved_at, statement) VALUES ('APR-BOOT-AUTHMODEL-1', :p, :h, :u, :t, 'ok')",
        p=verdict.proposal_id,
        h=verdict.proposal_sha256,
        u=approver,
        t=now_ms,
    )
    sqlite_lab.execute(
        'INSERT INTO directus_activity (action, "user", timestamp, ip, user_agent, collection, '
        "item, origin) VALUES ('create', :u, :t, '127.0.0.1', 'Mozilla', "
        "'os_proposal_approvals', 'APR-BOOT-AUTHMODEL-1', 'http://127.0.0.1:8055')",
        u=approver,
        t=now_ms,
    )
    assert api.status(sqlite_lab.settings).status.value == "READY"


# -- registration on the demo (both backends) ----------------------------------------------


def test_demo_registers_the_governance_tables_in_directus(lab):
    registered = {
        r[0]
        for r in lab.rows("SELECT collection FROM directus_collections WHERE collection LIKE 'os%'")
    }
    assert registered == REGISTERED
    specials = dict(
        lab.rows(
            "SELECT field, special FROM directus_fields WHERE collection = 'os_proposal_approvals' "
            "AND special IS NOT NULL"
        )
    )
    assert specials == {"approved_by": "user-created", "approved_at": "date-created"}
    assert lab.rows(
        "SELECT one_collection FROM directus_relations WHERE many_collection = "
        "'os_proposal_approvals' "
        "AND many_field = 'approved_by'"
    ) == [("directus_users",)]
    assert (
        lab.scalar(
            "SELECT accountability FROM directus_collections "
            "WHERE collection = 'os_proposal_approvals'"
        )
        == "all"
    )
    # every column of every registered table has its field row, in table order
    for table in registered:
        fields = [
            r[0]
            for r in lab.rows(
                "SELECT field FROM directus_fields WHERE collection = :t ORDER BY sort", t=table
            )
        ]
        assert fields == [c.name for c in s.metadata.tables[table].columns], table


def test_init_never_changes_an_operators_own_directus_rows(lab):
    lab.execute("DELETE FROM directus_fields WHERE collection = 'os_duties'")
    lab.execute(
        "UPDATE directus_collections SET icon = 'star', note = 'mine' WHERE collection = "
        "'os_duties'"
    )
    lab.execute(
        "UPDATE directus_fields SET note = 'operator note', special = NULL "
        "WHERE collection = 'os_proposal_approvals' AND field = 'approved_at'"
    )
    result = api.init(lab.settings, actor="test", sql_registration=True)
    assert result.directus_registered == ("os_duties",)  # only its missing field rows
    assert result.registered_via == "sql"
    assert lab.rows(
        "SELECT icon, note FROM directus_collections WHERE collection = 'os_duties'"
    ) == [("star", "mine")]
    assert lab.rows(
        "SELECT note, special FROM directus_fields WHERE collection = 'os_proposal_approvals' "
        "AND field = 'approved_at'"
    ) == [("operator note", None)]
    assert lab.scalar("SELECT COUNT(*) FROM directus_fields WHERE collection = 'os_duties'") == 2


def test_without_directus_tables_init_registers_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'plain.db'}"
    sqlite3.connect(tmp_path / "plain.db").close()
    result = api.init(Settings(db_url=url), actor="test")
    assert result.directus_registered == () and result.directus_cache == ""
    assert result.registered_via == ""  # no Directus: neither a token nor the flag is needed
    assert "os_proposal_approvals" in result.created_tables


@pytest.mark.postgres
def test_init_as_another_role_lets_directus_see_the_new_tables(pg):
    """Directus connects as the owner of its tables; govgate may run init as another role (here the
    superuser). Directus's role then gets the governance tables (read and write: people write them
    through Directus) and govgate's journals (read only), and approved_by is Directus's uuid."""
    owner, name = fresh_database_name("dxowner"), fresh_database_name("dxgrants")
    pg.admin_execute(f"CREATE ROLE {owner} LOGIN")
    pg.create_database(name)
    pg.admin_execute(f"ALTER DATABASE {name} OWNER TO {owner}")
    pg.admin_execute(f"GRANT ALL ON SCHEMA public TO {owner}", database=name)
    try:
        engine = sa.create_engine(pg.url(name, user=owner))
        with (
            engine.begin() as conn
        ):  # what Directus's bootstrap leaves (the tables govgate touches)
            dx.create_tables(conn)
            conn.exec_driver_sql(
                "CREATE TABLE directus_migrations (version varchar(255) PRIMARY KEY, "
                "name varchar(255) NOT NULL, timestamp timestamptz DEFAULT CURRENT_TIMESTAMP)"
            )
        engine.dispose()
        result = api.init(Settings(db_url=pg.url(name)), actor="dba", sql_registration=True)
        assert set(result.directus_registered) == REGISTERED
        engine = sa.create_engine(pg.url(name))
        with engine.connect() as conn:

            def can(table: str, privilege: str) -> bool:
                return conn.execute(
                    sa.text("SELECT has_table_privilege(:r, :t, :p)"),
                    {"r": owner, "t": table, "p": privilege},
                ).scalar()

            assert (
                conn.execute(
                    sa.text(
                        "SELECT tableowner FROM pg_tables WHERE tablename = 'os_proposal_approvals'"
                    )
                ).scalar()
                == "postgres"
            )
            for table in ("os_proposal_approvals", "os_accountability", "os_authorities"):
                assert all(can(table, p) for p in ("SELECT", "INSERT", "UPDATE", "DELETE")), table
            for table in ("os_proposals", "os_rollouts", "os_audit"):
                assert (
                    can(table, "SELECT") and not can(table, "INSERT") and not can(table, "UPDATE")
                ), table
            assert not can("os_settings", "SELECT") and not can("os_outbox", "SELECT")
            assert conn.execute(
                sa.text("SELECT has_sequence_privilege(:r, 'os_accountability_id_seq', 'USAGE')"),
                {"r": owner},
            ).scalar()
            types = dict(
                conn.execute(
                    sa.text(
                        "SELECT column_name, data_type FROM information_schema.columns "
                        "WHERE table_name = 'os_proposal_approvals'"
                    )
                ).all()
            )
            assert (types["approved_by"], types["approved_at"]) == (
                "uuid",
                "timestamp with time zone",
            )
        engine.dispose()
    finally:
        pg.drop_database(name)
        pg.admin_execute(f"DROP ROLE IF EXISTS {owner}")
