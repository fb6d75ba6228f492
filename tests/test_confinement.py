"""Confined writes (SPEC 4.4, 4.5): a rollout writes only what it may write.

A stray statement run inside the rollout's own transaction (through the step hook,
on the same connection) is caught: on SQLite the authorizer denies it as it is
prepared; on MariaDB the statement guard refuses it before it reaches the server; on
PostgreSQL the agent's least-privilege role is refused by the database, and, should
that role have been granted too much, the pre-commit check (`pg_stat_xact_user_tables`,
`pg_class`) catches the write. On MariaDB a write sent around the guard (the driver's
own cursor) meets the agent's table grants, and past an overgranted role the pre-commit
count of the session's rows. Either way the rollout aborts naming what was written, and
every table is exactly as before.
The same inside a rollback is in test_rollback.py.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from govgate import api
from govgate.runbook.gate import Status

from support.labs import ratify
from support.steps import (
    CREATE_TABLE,
    WRITE_AUTHORITIES,
    WRITE_BILLING,
    assert_aborted_and_nothing_written,
    grant_too_much,
    stray,
)


@pytest.mark.parametrize("step", ["dashboard", "verify"])
def test_a_write_to_billing_invoices_inside_apply_is_caught_and_nothing_is_written(lab, step):
    ratify(lab)
    invoices = lab.rows("SELECT * FROM billing_invoices ORDER BY id")
    assert_aborted_and_nothing_written(
        lab, api.apply, stray(step, WRITE_BILLING), step, "billing_invoices"
    )
    assert lab.rows("SELECT * FROM billing_invoices ORDER BY id") == invoices
    assert api.status(lab.settings).status is Status.READY


def test_a_write_to_os_authorities_inside_apply_is_caught_and_nothing_is_written(lab):
    ratify(lab)
    assert_aborted_and_nothing_written(
        lab, api.apply, stray("records", WRITE_AUTHORITIES), "records", "os_authorities"
    )
    assert (
        lab.scalar("SELECT name FROM os_authorities WHERE code = 'GOV-DOT'")
        == "Department of Transport"
    )
    assert api.status(lab.settings).status is Status.READY


def test_a_create_table_inside_apply_is_caught_and_nothing_is_created(lab):
    ratify(lab)
    # SQLite and MariaDB deny the statement itself (on MariaDB it would commit the
    # transaction); PostgreSQL lets the agent create tables and the pre-commit check finds
    # the relation its transaction created.
    caught_at = "verify" if lab.backend == "postgres" else "views"
    assert_aborted_and_nothing_written(
        lab, api.apply, stray("views", CREATE_TABLE), caught_at, "os_stray"
    )
    assert "os_stray" not in sa.inspect(lab.engine()).get_table_names()
    assert api.status(lab.settings).status is Status.READY


def test_on_sqlite_the_authorizer_denies_the_stray_statement_itself(sqlite_lab):
    ratify(sqlite_lab)
    aborted = assert_aborted_and_nothing_written(
        sqlite_lab,
        api.apply,
        stray("verify", WRITE_BILLING),
        "verify",
        "confinement: insert into billing_invoices",
    )
    assert "not authorized" in str(aborted.__cause__.__cause__)


postgres_only = pytest.mark.parametrize(
    "lab", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


@postgres_only
def test_on_postgres_the_agent_role_is_refused_the_stray_write_by_the_database(lab):
    ratify(lab)
    assert_aborted_and_nothing_written(
        lab,
        api.apply,
        stray("verify", WRITE_BILLING),
        "verify",
        "permission denied for table billing_invoices",
    )


@postgres_only
@pytest.mark.parametrize(
    "sql,step,phrase",
    [
        (
            WRITE_BILLING,
            "verify",
            "confinement: wrote billing_invoices (1 inserted, 0 updated, 0 deleted)",
        ),
        (
            WRITE_BILLING,
            "dashboard",
            "confinement: wrote billing_invoices (1 inserted, 0 updated, 0 deleted)",
        ),
        (
            WRITE_AUTHORITIES,
            "records",
            "confinement: wrote os_authorities (0 inserted, 1 updated, 0 deleted)",
        ),
        (CREATE_TABLE, "views", "confinement: created or altered os_stray"),
    ],
    ids=[
        "billing-at-verify",
        "billing-at-dashboard",
        "authorities-at-records",
        "create-table-at-views",
    ],
)
def test_on_postgres_the_pre_commit_check_catches_what_an_overgranted_role_could_write(
    lab, sql, step, phrase
):
    ratify(lab)
    grant_too_much(lab)
    assert_aborted_and_nothing_written(
        lab, api.apply, stray(step, sql), "verify", "verification failed before commit", phrase
    )
    assert api.status(lab.settings).status is Status.READY


mariadb_only = pytest.mark.parametrize(
    "lab", [pytest.param("mariadb", marks=pytest.mark.mariadb)], indirect=True
)


def around_the_guard(at_step: str, sql: str):
    """A hook that sends SQL on the driver's own cursor of the rollout's connection: what
    neither govgate nor SQLAlchemy sees, as a library with a connection of its own might."""

    def hook(name, conn):
        if name == at_step:
            with conn.connection.driver_connection.cursor() as cursor:
                cursor.execute(sql)

    return hook


@mariadb_only
@pytest.mark.parametrize(
    "sql,step,phrase",
    [
        (WRITE_BILLING, "verify", "confinement: insert into billing_invoices"),
        (WRITE_AUTHORITIES, "records", "confinement: update into os_authorities"),
        ("CREATE VIEW os_stray AS SELECT 1 AS x", "journal", "confinement: CREATE inside"),
        ("DROP VIEW os_v_gap_by_authority", "audit", "confinement: DROP inside"),
        ("COMMIT", "journal", "confinement: COMMIT inside"),
        ("LOCK TABLES os_audit WRITE", "records", "confinement: LOCK inside"),
    ],
    ids=["billing", "authorities", "create-view", "drop-view", "commit", "lock"],
)
def test_on_mariadb_the_statement_guard_refuses_a_stray_statement_before_the_server_sees_it(
    lab, sql, step, phrase
):
    ratify(lab)
    # At "journal" the records are written: a CREATE VIEW or a COMMIT sent there would commit
    # them. The guard refuses it unsent, so the rollback takes everything back.
    assert_aborted_and_nothing_written(lab, api.apply, stray(step, sql), step, phrase)
    assert "os_stray" not in sa.inspect(lab.engine()).get_view_names()
    assert api.status(lab.settings).status is Status.READY


@mariadb_only
def test_on_mariadb_the_agent_role_is_refused_a_write_around_the_guard_by_the_database(lab):
    ratify(lab)
    assert_aborted_and_nothing_written(
        lab,
        api.apply,
        around_the_guard("verify", WRITE_BILLING),
        "verify",
        "INSERT command denied",
        "billing_invoices",
    )


@mariadb_only
@pytest.mark.parametrize(
    "sql,step,phrase",
    [
        (WRITE_BILLING, "verify", "Handler_write moved by"),
        (WRITE_AUTHORITIES, "records", "Handler_update moved by 1, but the rollout's own"),
    ],
    ids=["billing-at-verify", "authorities-at-records"],
)
def test_on_mariadb_the_pre_commit_count_catches_what_an_overgranted_role_wrote_around_the_guard(
    lab, sql, step, phrase
):
    ratify(lab)
    grant_too_much(lab)
    assert_aborted_and_nothing_written(
        lab,
        api.apply,
        around_the_guard(step, sql),
        "verify",
        "verification failed before commit",
        phrase,
    )
    assert api.status(lab.settings).status is Status.READY


@mariadb_only
def test_on_mariadb_a_commit_sent_around_the_guard_is_detected_and_the_rest_rolled_back(lab):
    ratify(lab)
    # Before "records" nothing is written yet: the stray COMMIT commits nothing, but every
    # later row lands in a new transaction, which the missing savepoint gives away.
    assert_aborted_and_nothing_written(
        lab,
        api.apply,
        around_the_guard("records", "COMMIT"),
        "verify",
        "the transaction was committed before its end",
    )
    assert api.status(lab.settings).status is Status.READY
