"""The fingerprint is canonical (SPEC section 2).

It is the same for the same facts on SQLite and PostgreSQL and in any row order;
it changes when any fact a rollout depends on changes; and it ignores approvals,
the audit log and app data, which a rollout must not depend on.
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govgate import api
from govgate.config import Settings
from govgate.db.engine import make_engine
from govgate.db.state import read_state
from govgate.ops import init as setup
from govgate.runbook import proposal as prop

from support.labs import lift_custody
from support.pgcluster import fresh_database_name

# -- building the same content through plain SQL --------------------------------------

CONTENT = {
    "authorities": [
        ("AUTH-ROADS", "Direction des Routes", True),
        ("AUTH-WATER", "Water Board", True),
        ("AUTH-OLD", "Retired Committee", False),
    ],
    "governed": [
        ("road_segments", "mobility"),
        ("road_signs", "mobility"),
        ("water_meters", "utilities"),
        ("water_mains", "utilities"),
    ],
    "duties": [
        ("owner", "Owns it"),
        ("steward", "Keeps it right"),
        ("auditor", "Checks it — yearly"),
    ],
    "accountability": [
        ("road_segments", "owner", "AUTH-ROADS", None),
        ("road_signs", "owner", "AUTH-ROADS", "R-1"),
        ("water_meters", "steward", "AUTH-WATER", None),
        ("water_mains", "auditor", "AUTH-OLD", "R-2"),
    ],
    "settings": [("external_emission", "off")],
}

INSERT = {
    "authorities": "INSERT INTO os_authorities (code, name, active) VALUES (:a, :b, :c)",
    "governed": "INSERT INTO os_governed_collections (collection, domain) VALUES (:a, :b)",
    "duties": "INSERT INTO os_duties (code, title) VALUES (:a, :b)",
    "accountability": "INSERT INTO os_accountability (collection, duty, authority, rollout_id) "
    "VALUES (:a, :b, :c, :d)",
    "settings": "UPDATE os_settings SET value = :b WHERE os_settings.key = :a",
}


def _fill(url: str, content: dict, table_order: list[str], reverse_rows: bool) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for table in table_order:
                rows = content[table][::-1] if reverse_rows else content[table]
                for row in rows:
                    conn.execute(sa.text(INSERT[table]), dict(zip("abcd", row, strict=False)))
    finally:
        engine.dispose()


def _fresh_sqlite(directory: Path) -> str:
    path = directory / "fresh.db"
    sqlite3.connect(path).close()
    url = f"sqlite:///{path}"
    api.init(Settings(db_url=url), actor="test")
    return url


def _fingerprint(url: str, proposal_id: str | None = None) -> str:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return read_state(conn, proposal_id).fingerprint
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_same_non_demo_content_has_the_same_fingerprint_on_sqlite_and_postgres(tmp_path, pg):
    on_sqlite = _fresh_sqlite(tmp_path)
    name = fresh_database_name()
    pg.create_database(name)
    on_postgres = pg.url(name)
    try:
        api.init(Settings(db_url=on_postgres), actor="test")
        _fill(
            on_sqlite,
            CONTENT,
            ["authorities", "governed", "duties", "accountability", "settings"],
            False,
        )
        _fill(
            on_postgres,
            CONTENT,
            ["settings", "accountability", "duties", "governed", "authorities"],
            True,
        )

        sqlite_print, postgres_print = _fingerprint(on_sqlite), _fingerprint(on_postgres)
        assert len(sqlite_print) == 64 and int(sqlite_print, 16) >= 0
        assert sqlite_print == postgres_print
        # and the gate, seen through the command's own path, agrees
        assert (
            api.status(Settings(db_url=on_sqlite)).fingerprint
            == api.status(Settings(db_url=on_postgres)).fingerprint
            == sqlite_print
        )
    finally:
        pg.drop_database(name)


@pytest.mark.mariadb
def test_same_non_demo_content_has_the_same_fingerprint_on_sqlite_and_mariadb(tmp_path, mariadb):
    on_sqlite = _fresh_sqlite(tmp_path)
    name = fresh_database_name()
    on_mariadb = mariadb.create_database(name)
    try:
        api.init(Settings(db_url=on_mariadb), actor="test")
        _fill(on_sqlite, CONTENT, ["authorities", "governed", "duties", "accountability",
                                   "settings"], False)  # fmt: skip
        _fill(on_mariadb, CONTENT, ["settings", "accountability", "duties", "governed",
                                    "authorities"], True)  # fmt: skip
        assert _fingerprint(on_sqlite) == _fingerprint(on_mariadb)
        assert (
            api.status(Settings(db_url=on_sqlite)).fingerprint
            == api.status(Settings(db_url=on_mariadb)).fingerprint
        )
    finally:
        mariadb.drop_database(name)


@pytest.mark.postgres
@pytest.mark.mariadb
def test_the_mariadb_demo_has_the_same_fingerprint_and_proposal_hash_as_postgres_and_sqlite(
    sqlite_template, pg_template, pg, mariadb_template, mariadb
):
    on_sqlite = api.status(Settings(db_url=f"sqlite:///{sqlite_template}"))
    on_postgres = api.status(Settings(db_url=pg.url(pg_template)))
    on_mariadb = api.status(Settings(db_url=mariadb.url(mariadb_template)))
    assert on_mariadb.fingerprint == on_postgres.fingerprint == on_sqlite.fingerprint
    assert on_mariadb.proposal_sha256 == on_postgres.proposal_sha256 == on_sqlite.proposal_sha256
    assert on_mariadb.gap == 210


@pytest.mark.postgres
def test_postgres_demo_has_the_same_fingerprint_as_the_sqlite_demo(
    sqlite_template, pg_template, pg
):
    on_sqlite = api.status(Settings(db_url=f"sqlite:///{sqlite_template}"))
    on_postgres = api.status(Settings(db_url=pg.url(pg_template)))
    assert on_sqlite.fingerprint == on_postgres.fingerprint
    assert on_sqlite.proposal_sha256 == on_postgres.proposal_sha256
    assert (on_sqlite.gap, on_postgres.gap) == (210, 210)


def test_a_different_insertion_order_gives_the_same_fingerprint_on_sqlite(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    url_a, url_b = _fresh_sqlite(first), _fresh_sqlite(second)
    _fill(
        url_a, CONTENT, ["authorities", "governed", "duties", "accountability", "settings"], False
    )
    _fill(url_b, CONTENT, ["accountability", "settings", "governed", "authorities", "duties"], True)
    assert _fingerprint(url_a) == _fingerprint(url_b)


# -- row order never matters (property) -------------------------------------------------

_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=10)
_words = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCXYZ é—'", min_size=1, max_size=16)


@st.composite
def _content_and_two_orders(draw):
    authorities = draw(
        st.lists(
            st.tuples(_names.map(str.upper), _words, st.booleans()),
            min_size=1,
            max_size=5,
            unique_by=lambda r: r[0],
        )
    )
    governed = draw(
        st.lists(st.tuples(_names, _names), min_size=1, max_size=6, unique_by=lambda r: r[0])
    )
    duties = draw(
        st.lists(st.tuples(_names, _words), min_size=1, max_size=4, unique_by=lambda r: r[0])
    )
    slots = [(c, d) for c, _ in governed for d, _ in duties]
    held = draw(st.lists(st.sampled_from(slots), max_size=len(slots), unique=True))
    accountability = [
        (
            c,
            d,
            draw(st.sampled_from([a for a, _, _ in authorities])),
            draw(st.sampled_from([None, "R-1", "R-2"])),
        )
        for c, d in held
    ]
    content = {
        "authorities": authorities,
        "governed": governed,
        "duties": duties,
        "accountability": accountability,
        "settings": [("external_emission", draw(st.sampled_from(["off", "on"])))],
    }
    shuffled = {table: draw(st.permutations(rows)) for table, rows in content.items()}
    table_order = draw(st.permutations(list(content)))
    return content, shuffled, table_order


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_content_and_two_orders())
def test_row_order_never_changes_the_fingerprint(example):
    content, shuffled, table_order = example
    with tempfile.TemporaryDirectory() as tmp:
        first, second = Path(tmp) / "a", Path(tmp) / "b"
        first.mkdir()
        second.mkdir()
        url_a, url_b = _fresh_sqlite(first), _fresh_sqlite(second)
        _fill(url_a, content, list(content), False)
        _fill(url_b, shuffled, table_order, False)
        assert _fingerprint(url_a) == _fingerprint(url_b)


# -- sensitive to every fact of SPEC section 2 ----------------------------------------------

ROW = "INSERT INTO os_accountability (collection, duty, authority, rollout_id) VALUES ({})"
ROLLOUT = (
    "INSERT INTO os_rollouts (id, proposal_id, proposal_sha256, approval_id, status, "
    "pre_fingerprint, "
    "created_objects, records, started_at) VALUES ('R-9', '{proposal}', 'x', 'APR-9', '{status}', "
    "'y', '[]', '[]', '2026-01-01T00:00:00Z')"
)

# id -> (SQL that sets the scene before the first fingerprint, SQL that changes one fact)
CHANGES = {
    "authority_name": (
        (),
        ("UPDATE os_authorities SET name = 'Transport Department' WHERE code = 'GOV-DOT'",),
    ),
    "authority_name_case_only": (
        (),
        ("UPDATE os_authorities SET name = 'department of transport' WHERE code = 'GOV-DOT'",),
    ),
    "authority_active_flag": (
        (),
        ("UPDATE os_authorities SET active = :false WHERE code = 'GOV-DOT'",),
    ),
    "authority_added": (
        (),
        ("INSERT INTO os_authorities (code, name, active) VALUES ('GOV-NEW', 'New Board', :true)",),
    ),
    "authority_removed": ((), ("DELETE FROM os_authorities WHERE code = 'GOV-MOIT'",)),
    "governed_collection_domain": (
        (),
        (
            "UPDATE os_governed_collections SET domain = 'mobility' "
            "WHERE collection = 'transport_routes'",
        ),
    ),
    "governed_collection_added": (
        (),
        (
            "INSERT INTO os_governed_collections (collection, domain) "
            "VALUES ('billing_invoices', 'finance')",
        ),
    ),
    "governed_collection_removed": (
        (),
        ("DELETE FROM os_governed_collections WHERE collection = 'transport_routes'",),
    ),
    "duty_title": ((), ("UPDATE os_duties SET title = 'Owns it' WHERE code = 'ownership'",)),
    "duty_added": ((), ("INSERT INTO os_duties (code, title) VALUES ('audit', 'Audits it')",)),
    "duty_removed": ((), ("DELETE FROM os_duties WHERE code = 'incident'",)),
    "accountability_row_added": (
        (),
        (ROW.format("'transport_routes', 'ownership', 'GOV-DOT', NULL"),),
    ),
    "accountability_row_removed": (
        (ROW.format("'transport_routes', 'ownership', 'GOV-DOT', NULL"),),
        ("DELETE FROM os_accountability",),
    ),
    "accountability_row_authority_changed": (
        (ROW.format("'transport_routes', 'ownership', 'GOV-DOT', NULL"),),
        ("UPDATE os_accountability SET authority = 'GOV-MOIT'",),
    ),
    "accountability_row_duty_changed": (
        (ROW.format("'transport_routes', 'ownership', 'GOV-DOT', NULL"),),
        ("UPDATE os_accountability SET duty = 'access'",),
    ),
    "accountability_row_rollout_changed": (
        (ROW.format("'transport_routes', 'ownership', 'GOV-DOT', NULL"),),
        ("UPDATE os_accountability SET rollout_id = 'R-1'",),
    ),
    "external_emission_setting": (
        (),
        ("UPDATE os_settings SET value = 'on' WHERE os_settings.key = 'external_emission'",),
    ),
    "schema_version_setting": (
        (),
        ("UPDATE os_settings SET value = '2' WHERE os_settings.key = 'schema_version'",),
    ),
    "rollout_of_this_proposal_in_effect": (
        (),
        (ROLLOUT.format(proposal="PROP-AUTHMODEL-1", status="applied"),),
    ),
}

# id -> SQL that must leave the fingerprint as it is
NON_FACTS = {
    "approval_added": (
        "INSERT INTO os_proposal_approvals (id, proposal_id, proposal_sha256, approved_by, "
        "statement) "
        "VALUES ('APR-BOOT-AUTHMODEL-1', 'PROP-AUTHMODEL-1', 'abc', 'jane', 'approved')",
    ),
    "audit_event_added": (
        "INSERT INTO os_audit (seq, at, kind, actor, detail, prev_hash, hash) "
        "VALUES (9999, '2026-01-01T00:00:00Z', 'note', 'jane', '{}', 'x', 'y')",
    ),
    "audit_log_emptied": ("DELETE FROM os_audit",),
    "app_row_added": (
        "INSERT INTO transport_routes (id, name, status, notes) VALUES (999, 'Route 9', "
        "'active', NULL)",
    ),
    "app_row_changed": ("UPDATE transport_routes SET status = 'archived'",),
    "app_rows_deleted": ("DELETE FROM citizen_feedback",),
    "protected_row_changed": ("UPDATE billing_invoices SET notes = 'changed'",),
    "rollout_of_another_proposal": (ROLLOUT.format(proposal="PROP-OTHER", status="applied"),),
    "rolled_back_rollout_of_this_proposal": (
        ROLLOUT.format(proposal="PROP-AUTHMODEL-1", status="rolled_back"),
    ),
}


def _run(lab, statements) -> None:
    # Synthetic rollout rows (and, on MariaDB, an audit row off the chain, which its custody
    # trigger refuses to every login): the owner writes what govgate never would.
    if any("os_rollouts" in sql or "INSERT INTO os_audit" in sql for sql in statements):
        lift_custody(lab)
    for sql in statements:
        params = {k: v for k, v in (("false", False), ("true", True)) if f":{k}" in sql}
        lab.execute(sql, **params)


def _current_fingerprint(lab) -> str:
    engine = lab.engine()
    try:
        with engine.connect() as conn:
            return read_state(conn, prop.current_id(conn)).fingerprint
    finally:
        engine.dispose()


@pytest.mark.parametrize("change", list(CHANGES), ids=list(CHANGES))
def test_every_fact_a_rollout_depends_on_changes_the_fingerprint(change, lab):
    scene, edit = CHANGES[change]
    _run(lab, scene)
    before = _current_fingerprint(lab)
    _run(lab, edit)
    after = _current_fingerprint(lab)
    assert after != before
    assert api.status(lab.settings).fingerprint == after


@pytest.mark.parametrize("change", list(NON_FACTS), ids=list(NON_FACTS))
def test_approvals_audit_and_app_data_leave_the_fingerprint_alone(change, lab):
    before = _current_fingerprint(lab)
    _run(lab, NON_FACTS[change])
    assert _current_fingerprint(lab) == before
    assert api.status(lab.settings).fingerprint == before


def test_undoing_a_change_restores_the_fingerprint(lab):
    before = _current_fingerprint(lab)
    _run(lab, ["UPDATE os_authorities SET active = :false WHERE code = 'GOV-DOT'"])
    assert _current_fingerprint(lab) != before
    _run(lab, ["UPDATE os_authorities SET active = :true WHERE code = 'GOV-DOT'"])
    assert _current_fingerprint(lab) == before


def test_init_writes_the_same_state_on_a_fresh_database_every_time(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    url_a, url_b = _fresh_sqlite(first), _fresh_sqlite(second)
    engine = make_engine(url_a)
    try:
        with engine.begin() as conn:  # init a second time: nothing new
            assert setup.create_missing(conn, "test").created_tables == ()
    finally:
        engine.dispose()
    assert _fingerprint(url_a) == _fingerprint(url_b)


_CELL = st.one_of(st.none(), st.text(max_size=3))


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=1, max_value=4).flatmap(
        lambda width: st.lists(st.tuples(*[_CELL] * width), max_size=30)
    )
)
def test_the_fast_row_order_is_the_order_the_fingerprint_was_always_taken_in(rows):
    # The fingerprints of existing proposals hold only if rows sort exactly as they did: None
    # before any string, column by column, whichever columns hold a None.
    from govgate.db.state import sorted_rows

    reference = sorted(rows, key=lambda r: [(v is not None, v) for v in r])
    assert list(sorted_rows(rows)) == reference
