"""MariaDB (SPEC 4.1, 4.2, 4.5, 4.8): the roles `init --roles` makes, what the gate and `doctor`
read from the grants, govgate's lock, read-only snapshots, and a rehearsal's copy.

Each test runs on the suite's throwaway MariaDB 10.11 only: these are the ways MariaDB differs
from PostgreSQL (table-level GRANTs to roles, GET_LOCK, START TRANSACTION READ ONLY,
mariadb-dump); the runbook itself runs on MariaDB in every other file through `lab`.
"""

from __future__ import annotations

import json
import threading

import pytest
import sqlalchemy as sa

from govgate import api
from govgate.db import mysql
from govgate.db.engine import Mode, make_engine
from govgate.db.session import Database, session
from govgate.errors import Aborted, DatabaseError, DatabaseUnreachable, Refused
from govgate.runbook.gate import Status

from support.constants import AGENT_LOGIN, APPROVER_LOGIN
from support.labs import Lab, ratify_as_approver_login, with_settings

pytestmark = pytest.mark.parametrize(
    "lab", [pytest.param("mariadb", marks=pytest.mark.mariadb)], indirect=True
)
AGENT = f"'{AGENT_LOGIN}'@'127.0.0.1'"


def _as(lab: Lab, url: str, sql: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(sql))
    finally:
        engine.dispose()


def test_init_roles_makes_two_roles_whose_logins_get_them_by_default(lab):
    roles = {r[0] for r in lab.rows("SELECT User FROM mysql.user WHERE is_role = 'Y'")}
    assert {"govgate_agent", "govgate_approver"} <= roles
    for url, role in ((lab.settings.agent_url, "govgate_agent"),
                      (lab.approver_url, "govgate_approver")):  # fmt: skip
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                assert conn.exec_driver_sql("SELECT CURRENT_ROLE()").scalar() == role
        finally:
            engine.dispose()


@pytest.mark.parametrize(
    "url,sql,denied",
    [
        ("agent", "INSERT INTO os_proposal_approvals (id, proposal_id, proposal_sha256) "
                  "VALUES ('APR-FORGED', 'P', 'x')", "INSERT command denied"),
        ("agent", "UPDATE billing_invoices SET notes = 'x'", "UPDATE command denied"),
        ("agent", "DELETE FROM os_audit", "DELETE command denied"),
        ("agent", "CREATE TABLE os_stray (id int)", "CREATE command denied"),
        ("agent", "DROP TRIGGER os_rollouts_custody_insert", "TRIGGER command denied"),
        ("approver", "UPDATE os_accountability SET authority = 'GOV-DOT'", "UPDATE command denied"),
        ("approver", "INSERT INTO directus_activity (action, collection, item) "
                     "VALUES ('create', 'os_proposal_approvals', 'APR-X')", "command denied"),
    ],
    ids=["agent-approvals", "agent-billing", "agent-audit-delete", "agent-ddl",
         "agent-drop-trigger", "approver-records", "approver-activity"],
)  # fmt: skip
def test_each_login_gets_a_real_permission_error_writing_what_it_must_not(lab, url, sql, denied):
    before = lab.snapshot()
    target = lab.settings.agent_url if url == "agent" else lab.approver_url
    with pytest.raises(sa.exc.DBAPIError, match=denied):
        _as(lab, target, sql)
    assert lab.snapshot() == before


def test_doctor_finds_the_agent_login_least_privileged_and_the_gate_trusts_it(lab, gg):
    run = gg("--db", lab.url, "--agent-db", lab.settings.agent_url, "doctor", "--json")
    findings = {f["name"]: f for f in json.loads(run.out)["findings"]}
    assert findings["agent on os_proposal_approvals"]["ok"], findings
    assert "cannot write" in findings["agent on os_proposal_approvals"]["detail"]
    assert findings["agent on os_accountability"]["ok"]
    assert "insert/delete" in findings["agent on os_accountability"]["detail"]
    assert "agent-can-forge" not in {r.code for r in api.status(lab.settings).reasons}


@pytest.mark.parametrize(
    "grant,shown",
    [
        ("GRANT INSERT ON os_proposal_approvals TO {agent}", "INSERT"),
        ("GRANT INSERT (id, proposal_id) ON os_proposal_approvals TO {agent}",
         "INSERT (on some columns)"),
        ("CREATE ROLE IF NOT EXISTS gg_writer; GRANT UPDATE ON os_proposal_approvals TO gg_writer; "
         "GRANT gg_writer TO {agent}", "UPDATE (through role gg_writer)"),
        ("GRANT INSERT ON `{db_pattern}`.* TO {agent}", "INSERT"),
    ],
    ids=["table", "columns", "inactive-role", "database-wildcard"],
)  # fmt: skip
def test_an_agent_login_that_could_forge_an_approval_by_any_grant_blocks_the_gate(
    lab, mariadb, grant, shown
):
    ratify_as_approver_login(lab)
    assert api.status(lab.settings).status is Status.READY
    pattern = lab.db_name[:3].replace("_", "\\_") + "%"
    mariadb.admin_execute(grant.format(agent=AGENT, db_pattern=pattern), lab.db_name)
    try:
        verdict = api.status(lab.settings)
        assert verdict.status is Status.BLOCKED
        forge = [r.message for r in verdict.reasons if r.code == "agent-can-forge"]
        assert forge and shown in forge[0], verdict.reasons
        with pytest.raises(Refused):
            api.apply(lab.settings)
    finally:
        mariadb.admin_execute(f"DROP USER {AGENT}; CREATE USER {AGENT}; "
                              f"GRANT govgate_agent TO {AGENT}; "
                              f"SET DEFAULT ROLE govgate_agent FOR {AGENT}")  # fmt: skip


def test_a_read_session_sees_one_snapshot_and_cannot_write(lab):
    with session(lab.url, Mode.READ) as conn:
        first = conn.execute(sa.text("SELECT COUNT(*) FROM os_authorities")).scalar()
        lab.execute("INSERT INTO os_authorities (code, name, active) VALUES ('GOV-X', 'X', 1)")
        assert conn.execute(sa.text("SELECT COUNT(*) FROM os_authorities")).scalar() == first
        with pytest.raises(sa.exc.DBAPIError, match="1792"):
            conn.execute(sa.text("DELETE FROM os_duties"))
    assert lab.scalar("SELECT COUNT(*) FROM os_authorities") == first + 1


def test_the_lock_is_held_for_the_transaction_and_released_with_it_on_the_same_session(lab):
    db = Database(lab.url)
    try:
        with db.transaction(lock=True) as conn:
            name = mysql.lock_name(conn)
            holder = conn.exec_driver_sql("SELECT CONNECTION_ID()").scalar()
            assert lab.scalar("SELECT IS_USED_LOCK(:n)", n=name) == holder
            waited = threading.Event()

            def second():  # another govgate waits for the lock, then runs
                with Database(lab.url) as other, other.transaction(lock=True):
                    waited.set()

            thread = threading.Thread(target=second)
            thread.start()
            thread.join(1.0)
            assert not waited.is_set()
        thread.join(30)
        assert waited.is_set()
        assert lab.scalar("SELECT IS_FREE_LOCK(:n)", n=name) == 1
        # the pooled connection the lock was taken on no longer holds it
        with db.transaction() as conn:
            assert conn.exec_driver_sql("SELECT IS_USED_LOCK(%s)", (name,)).scalar() is None
    finally:
        db.close()


def test_a_rollout_on_a_database_without_its_views_is_refused_before_any_ddl(lab):
    ratify_as_approver_login(lab)
    lab.execute("DROP VIEW os_v_gap_by_authority")
    before = lab.snapshot(exclude=("os_audit",))
    with pytest.raises(Aborted, match="run no DDL|runs no DDL"):
        api.apply(lab.settings)
    assert lab.snapshot(exclude=("os_audit",)) == before
    api.init(with_settings(lab).settings, actor="owner", roles=True, sql_registration=True)
    assert api.apply(lab.settings).gap_after == 0


def test_a_rehearsal_refuses_a_governed_table_that_is_not_innodb(lab, gg):
    lab.execute("ALTER TABLE transport_routes ENGINE = Aria")
    before = lab.snapshot()
    run = gg("--db", lab.url, "rehearse")
    assert run.code == 1, run.out + run.err
    assert "transport_routes (Aria)" in run.err and "InnoDB" in run.err
    assert lab.snapshot() == before
    assert lab.rows("SHOW DATABASES LIKE 'govgate\\\\_rehearsal\\\\_%'") == []


def test_a_statement_error_is_a_database_error_and_a_dead_server_port_is_unreachable(lab):
    with pytest.raises(DatabaseError) as raised, session(lab.url) as conn:
        conn.execute(sa.text("SELECT * FROM no_such_table"))
    assert type(raised.value).__name__ == "DatabaseError"
    url = sa.engine.make_url(lab.url).set(port=1).render_as_string(hide_password=False)
    with pytest.raises(DatabaseUnreachable), session(url):
        pass


def test_the_approver_login_sees_a_directus_database_without_reading_its_activity(lab):
    engine = make_engine(lab.approver_url)
    try:
        with engine.connect() as conn:
            names = set(sa.inspect(conn).get_table_names())
            assert "directus_activity" not in names  # no grant, so not even listed
            from govgate.directus import identity

            assert identity.is_directus(conn)
    finally:
        engine.dispose()
    assert APPROVER_LOGIN in lab.approver_url
