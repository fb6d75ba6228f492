"""Custody: nothing but a used-once human approval makes the gate READY or APPLIED.

Each attack is tried with the grants the attacker has: on PostgreSQL through the agent's
own least-privilege login, on SQLite (no roles) as any writer of the file. Each test fails
if the attack succeeds.
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from govgate import api
from govgate.db import custody
from govgate.db.engine import make_engine
from govgate.db.privileges import privileges
from govgate.runbook.gate import Status

from support.constants import APPROVAL, PROPOSAL
from support.labs import Lab, copy_pg_lab, insert_approval, ratify, with_settings


def _apply_and_roll_back(lab: Lab) -> str:
    ratify(lab)
    rollout = api.apply(lab.settings).rollout_id
    api.rollback(lab.settings)
    return rollout


def test_a_fresh_database_is_at_the_current_revision_with_custody_installed(lab):
    engine = make_engine(lab.url)
    try:
        with engine.connect() as conn:
            assert custody.revision(conn) == custody.HEAD
            assert "os_approval_uses" in sa.inspect(conn).get_table_names()
    finally:
        engine.dispose()


def test_the_alembic_head_is_the_revision_the_gate_expects():
    from govgate.db import migrate

    assert migrate.head() == custody.HEAD


def test_rearming_a_spent_approval_by_renaming_it_in_the_journal_is_refused(lab):
    rollout = _apply_and_roll_back(lab)
    with pytest.raises(sa.exc.DBAPIError, match="custody"):
        lab.execute_as_agent(
            "UPDATE os_rollouts SET approval_id = 'APR-REARMED' WHERE id = :r", r=rollout
        )
    verdict = api.status(lab.settings)
    assert verdict.status is Status.BLOCKED
    assert "approval-used" in {r.code for r in verdict.reasons}
    with pytest.raises(api.Refused):
        api.apply(lab.settings)


def test_a_rollout_row_naming_an_approval_that_does_not_exist_is_refused(lab):
    sha = lab.scalar("SELECT sha256 FROM os_proposals WHERE id = :p", p=PROPOSAL)
    with pytest.raises(sa.exc.DBAPIError, match="custody"):
        lab.execute_as_agent(
            "INSERT INTO os_rollouts (id, proposal_id, proposal_sha256, approval_id, status, "
            "pre_fingerprint, created_objects, records, started_at) VALUES ('RO-FORGED', :p, "
            ":h, 'APR-NOBODY', 'applied', 'x', '[]', '[]', '2026-01-01')",
            p=PROPOSAL,
            h=sha,
        )
    assert api.status(lab.settings).status is Status.BLOCKED


# Refused by a custody trigger, or before it by the role's grants (PostgreSQL: "permission
# denied"; MariaDB: "DELETE command denied").
REFUSED = "custody|permission denied|command denied"


def test_an_approval_is_used_once_ever_even_when_the_journal_row_is_gone(lab):
    rollout = _apply_and_roll_back(lab)
    assert lab.rows("SELECT approval_id, rollout_id FROM os_approval_uses") == [(APPROVAL, rollout)]
    with pytest.raises(sa.exc.DBAPIError, match=REFUSED):
        lab.execute_as_agent("DELETE FROM os_approval_uses")
    with pytest.raises(sa.exc.DBAPIError, match=REFUSED):
        lab.execute_as_agent("DELETE FROM os_rollouts")
    if lab.backend == "sqlite":  # where every connection owns everything, the trigger refuses
        with pytest.raises(sa.exc.DBAPIError, match="custody"):
            lab.execute("DELETE FROM os_approval_uses")


def test_a_rolled_back_rollout_can_never_be_applied_again_by_editing_its_status(lab):
    rollout = _apply_and_roll_back(lab)
    with pytest.raises(sa.exc.DBAPIError, match="custody"):
        lab.execute_as_agent("UPDATE os_rollouts SET status = 'applied' WHERE id = :r", r=rollout)
    assert lab.scalar("SELECT status FROM os_rollouts WHERE id = :r", r=rollout) == "rolled_back"


def test_an_approval_is_never_edited_after_it_was_made(lab):
    ratify(lab)
    for url in (lab.settings.agent_url, lab.approver_url):
        engine = make_engine(url)
        try:
            with pytest.raises(sa.exc.DBAPIError, match=REFUSED), engine.begin() as conn:
                conn.exec_driver_sql("UPDATE os_proposal_approvals SET statement = 'edited'")
        finally:
            engine.dispose()


def test_applied_needs_the_approval_behind_the_rollout_to_be_genuine(lab):
    """A rollout whose approval was made by the agent's identity is not APPLIED."""
    ratify(lab)
    rollout = api.apply(lab.settings).rollout_id
    assert api.status(lab.settings).status is Status.APPLIED
    # The owner rewrites history (only the owner can): the approval now names the agent.
    if lab.backend == "postgres":
        lab.execute("UPDATE os_proposal_approvals SET approved_by = 'govgate-agent'")
    else:
        lab.execute("DROP TRIGGER os_approvals_custody_update")
        lab.execute("UPDATE os_proposal_approvals SET approved_by = 'govgate-agent'")
    verdict = api.status(lab.settings)
    assert verdict.status is Status.BLOCKED
    assert any(r.code == "custody" and rollout in r.message for r in verdict.reasons)


def test_records_changed_after_the_rollout_make_the_gate_drifted_naming_the_rows(lab, gg):
    ratify(lab)
    api.apply(lab.settings)
    lab.execute(
        "UPDATE os_accountability SET authority = 'GOV-DOT' "
        "WHERE collection = 'kg_entities' AND duty = 'ownership'"
    )
    verdict = api.status(lab.settings)
    assert verdict.status is Status.DRIFTED
    assert any("kg_entities/ownership" in r.message for r in verdict.reasons)
    run = gg("--db", lab.url, "--agent-db", lab.settings.agent_url, "status", "--why")
    assert run.out.splitlines()[0] == "DRIFTED"
    assert "kg_entities/ownership now names GOV-DOT" in run.out
    assert gg("--db", lab.url, "--agent-db", lab.settings.agent_url, "verify").code == 1


def test_a_v1_database_is_blocked_until_upgrade_migrates_it_in_one_step(lab, gg):
    insert_approval(lab)  # as the Directus app makes one: the row and its activity
    as_older_revision(lab, "v1")
    verdict = api.status(lab.settings)
    assert verdict.status is Status.BLOCKED
    assert "schema-upgrade" in {r.code for r in verdict.reasons}
    assert "govgate upgrade" in str(verdict.reasons)

    run = gg("--db", lab.url, "upgrade")
    assert run.code == 0, run.err
    assert f"from revision v1 to {custody.HEAD}" in run.out
    assert api.status(lab.settings).status is Status.READY
    again = gg("--db", lab.url, "upgrade", "--json")
    assert json.loads(again.out)["before"] == custody.HEAD
    # and custody now holds on the upgraded database
    rollout = api.apply(lab.settings).rollout_id
    assert lab.rows("SELECT rollout_id FROM os_approval_uses") == [(rollout,)]


def test_upgrading_a_v2_database_adds_evidence_and_an_id_and_takes_directus_grants_away(lab, gg):
    insert_approval(lab)
    as_older_revision(lab, "v2")
    if lab.backend == "postgres":  # what govgate 0.1 granted the approver
        lab.execute("GRANT INSERT ON directus_activity, directus_revisions TO govgate_approver")
    assert lab.rows("SELECT value FROM os_settings WHERE os_settings.key = 'database_id'") == []
    run = gg("--db", lab.url, "upgrade")
    assert run.code == 0, run.err
    assert f"from revision v2 to {custody.HEAD}" in run.out
    assert (
        len(lab.scalar("SELECT value FROM os_settings WHERE os_settings.key = 'database_id'")) == 36
    )
    assert lab.scalar("SELECT COUNT(*) FROM os_approval_signatures") == 0
    assert lab.rows("SELECT not_after FROM os_proposal_approvals") == [(None,)]
    if lab.backend == "postgres":
        grants = lab.rows(
            "SELECT privilege_type FROM information_schema.role_table_grants "
            "WHERE grantee = 'govgate_approver' "
            "AND table_name IN ('directus_activity', 'directus_revisions')"
        )
        assert grants == []
    ratify(lab, approval_id="APR-SIGNED")  # a signed approval on the upgraded database
    assert api.status(lab.settings).status is Status.READY


def test_upgrading_a_v3_database_adds_the_heartbeats_that_the_agent_may_write_and_no_more(lab, gg):
    insert_approval(lab)
    as_older_revision(lab, "v3")
    assert "schema-upgrade" in {r.code for r in api.status(lab.settings).reasons}
    run = gg("--db", lab.url, "upgrade")
    assert run.code == 0, run.err
    assert f"from revision v3 to {custody.HEAD}" in run.out
    verdict = api.status(lab.settings, liveness=True)  # through the agent's own login
    assert verdict.status is Status.READY and verdict.agent.words == "no agent has ever been seen"
    if lab.backend != "sqlite":
        engine = make_engine(lab.settings.agent_url)
        try:
            with engine.connect() as conn:
                can = privileges(
                    conn, "os_agent_heartbeats", ("SELECT", "INSERT", "UPDATE", "DELETE")
                )
                forge = privileges(conn, "os_proposal_approvals", ("INSERT", "UPDATE"))
        finally:
            engine.dispose()
        assert [p.split()[0] for p in can] == ["SELECT", "INSERT", "UPDATE"]
        assert forge == []


def as_older_revision(lab, revision: str) -> None:
    """Make the database look like one an older govgate built (v1: no revision table, no
    custody; v2: custody, but no evidence of approvals; v3: no agent heartbeats), as its
    owner can."""
    engine = make_engine(lab.url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE os_agent_heartbeats")
            if revision == "v3":
                conn.exec_driver_sql(f"UPDATE {custody.VERSION_TABLE} SET version_num = 'v3'")
                return
            if lab.backend == "postgres":
                triggers = conn.exec_driver_sql(
                    "SELECT tgname, tgrelid::regclass::text FROM pg_trigger "
                    "WHERE tgname LIKE 'os_custody%%'"
                ).all()
                for name, table in triggers:
                    if revision == "v1" or name == "os_custody_evidence":
                        conn.exec_driver_sql(f'DROP TRIGGER "{name}" ON {table}')
            else:  # SQLite and MariaDB: the same trigger names
                names = conn.exec_driver_sql(
                    "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS "
                    "WHERE TRIGGER_SCHEMA = DATABASE()"
                    if lab.backend == "mariadb"
                    else "SELECT name FROM sqlite_master WHERE type = 'trigger'"
                ).scalars()
                for name in names.all():
                    v2 = not any(x in name for x in ("signatures", "settings", "uses_custody_ins"))
                    if name.startswith("os_") and (revision == "v1" or not v2):
                        quoted = conn.dialect.identifier_preparer.quote(name)
                        conn.exec_driver_sql(f"DROP TRIGGER {quoted}")
            conn.exec_driver_sql("DROP TABLE os_approval_signatures")
            conn.exec_driver_sql("ALTER TABLE os_proposal_approvals DROP COLUMN not_after")
            conn.exec_driver_sql("DELETE FROM os_settings WHERE os_settings.key = 'database_id'")
            if revision == "v1":
                conn.exec_driver_sql("DROP TABLE os_approval_uses")
                conn.exec_driver_sql(f"DROP TABLE {custody.VERSION_TABLE}")
            else:
                conn.exec_driver_sql(f"UPDATE {custody.VERSION_TABLE} SET version_num = 'v2'")
    finally:
        engine.dispose()


@pytest.fixture
def pg_lab(pg, pg_template, tmp_path):
    """A fresh One-Roof demo on PostgreSQL alone: roles exist only there."""
    made = copy_pg_lab(pg, pg_template, tmp_path)
    yield made
    pg.drop_database(made.url.rsplit("/", 1)[1])


@pytest.mark.postgres
@pytest.mark.parametrize(
    "grant, shown",
    [
        (
            "GRANT INSERT (id, proposal_id, proposal_sha256) ON os_proposal_approvals TO {login}",
            "INSERT (on some columns)",
        ),
        (
            "CREATE ROLE gg_forger NOLOGIN; GRANT UPDATE ON os_proposal_approvals TO gg_forger; "
            "GRANT gg_forger TO {login}",
            "UPDATE (through role gg_forger)",
        ),
    ],
    ids=["column-grant", "through-a-role"],
)
def test_an_agent_that_could_write_an_approval_by_any_path_is_never_trusted(
    pg_lab, gg, grant, shown
):
    lab = pg_lab
    login = sa.engine.make_url(lab.settings.agent_url).username
    lab.execute(grant.format(login=login))
    try:
        ratify(lab)
        verdict = api.status(lab.settings)
        assert verdict.status is Status.BLOCKED
        forge = [r for r in verdict.reasons if r.code == "agent-can-forge"]
        assert forge and shown in forge[0].message
        doctor = gg("--db", lab.url, "--agent-db", lab.settings.agent_url, "doctor")
        assert doctor.code == 1
        assert shown.split(" (")[0].lower() in doctor.out.split("os_proposal_approvals")[1]
    finally:
        if "gg_forger" in grant:
            lab.execute("DROP OWNED BY gg_forger; DROP ROLE gg_forger")


NEXT_PLAN = """\
proposal: PROP-NEXT-1
approval: APR-NEXT-1
title: Govern the new collection
protected: [billing_*, signoff_*, law_*]
assign:
  GOV-DOT: [new_things]
"""


def test_an_older_rollout_stays_undoable_after_a_newer_proposal_is_frozen(lab, gg, tmp_path):
    ratify(lab)
    first = api.apply(lab.settings).rollout_id
    lab.execute(
        "INSERT INTO os_governed_collections (collection, domain) VALUES ('new_things', 'x')"
    )
    plan = tmp_path / "next.yaml"
    plan.write_text(NEXT_PLAN)
    assert gg("--db", lab.url, "propose", str(plan)).code == 0
    why = gg("--db", lab.url, "--agent-db", lab.settings.agent_url, "status", "--why")
    assert f"rollout {first} of proposal {PROPOSAL} is also in effect" in why.out

    unknown = gg(
        "--db",
        lab.url,
        "--agent-db",
        lab.settings.agent_url,
        "rollback",
        "--rollout",
        "RO-NOPE",
        "--force",
        "--yes",
    )
    assert unknown.code == 1 and first in unknown.err

    done = gg(
        "--db",
        lab.url,
        "--agent-db",
        lab.settings.agent_url,
        "rollback",
        "--force",
        "--yes",
        "--json",
    )
    assert done.code == 0, done.err
    result = json.loads(done.out)
    assert (result["rollout"], result["records_removed"]) == (first, 210)
    assert lab.scalar("SELECT status FROM os_rollouts WHERE id = :r", r=first) == "rolled_back"
    # a person's rollback is recorded as that person, never as the agent
    assert lab.scalar("SELECT rolled_back_by FROM os_rollouts WHERE id = :r", r=first) not in (
        "govgate-agent",
        None,
    )


def _as_login(url: str, sql: str, **params) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(sql), params)
    finally:
        engine.dispose()


APPEND = (
    "SELECT os_audit_append(s.seq + 1, 'now', :kind, 'mallory', NULL, NULL, '{}', s.hash, "
    "repeat('f', 64)) FROM (SELECT seq, hash FROM os_audit ORDER BY seq DESC LIMIT 1) AS s"
)


@pytest.mark.postgres
def test_no_role_writes_the_audit_trail_but_through_govgates_function_and_its_own_kinds(pg_lab):
    lab = pg_lab
    rows = lab.scalar("SELECT COUNT(*) FROM os_audit")
    direct = (
        "INSERT INTO os_audit (seq, at, kind, actor, detail, prev_hash, hash) "
        "VALUES (999, 'now', 'ratification', 'mallory', '{}', 'x', 'y')"
    )
    for url in (lab.approver_url, lab.settings.agent_url):
        with pytest.raises(sa.exc.DBAPIError, match="permission denied"):
            _as_login(url, direct)
    with pytest.raises(sa.exc.DBAPIError, match="approver may append only ratifications"):
        _as_login(lab.approver_url, APPEND, kind="rollout")
    with pytest.raises(sa.exc.DBAPIError, match="agent may not append ratification"):
        _as_login(lab.settings.agent_url, APPEND, kind="ratification")
    with pytest.raises(sa.exc.DBAPIError, match="does not follow the last one"):
        _as_login(
            lab.settings.agent_url,
            "SELECT os_audit_append(1, 'now', 'abort', 'mallory', NULL, NULL, '{}', "
            "repeat('0', 64), repeat('f', 64))",
        )
    assert lab.scalar("SELECT COUNT(*) FROM os_audit") == rows
    # and the real paths still append: a ratification by the approver, a rollout by the agent
    ratify(lab, settings=with_settings(lab, db_url=lab.approver_url).settings)
    api.apply(lab.settings)
    kinds = [k for (k,) in lab.rows("SELECT kind FROM os_audit ORDER BY seq")][-2:]
    assert kinds == ["ratification", "rollout"]
