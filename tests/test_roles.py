"""PostgreSQL roles (SPEC 3, 4.1): the agent cannot forge an approval, and needs not to.

`govgate init --roles` made `govgate_agent` (held here by the login gg_agent_login)
and `govgate_approver` (held by gg_approver_login). The database itself refuses the
agent's writes to approvals and protected collections; an agent connection that
could write approvals blocks the gate; `doctor` says what the agent can write; and
a whole rollout runs as the agent's login, reading approvals only. SQLite has no
roles, so every test here runs on PostgreSQL only.
"""

from __future__ import annotations

import json

import psycopg
import pytest
import sqlalchemy as sa

from govgate import api
from govgate.runbook.gate import Status

from support.constants import AGENT_LOGIN, APPROVAL
from support.labs import agent_args, ratify

pytestmark = pytest.mark.parametrize(
    "lab", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


FORBIDDEN = {
    "insert_approval": "INSERT INTO os_proposal_approvals (id, proposal_id, proposal_sha256, "
    "approved_by) "
    "VALUES ('APR-FORGED', 'PROP-AUTHMODEL-1', :sha, 'someone')",
    "update_approval": "UPDATE os_proposal_approvals SET proposal_sha256 = :sha",
    "delete_approval": "DELETE FROM os_proposal_approvals",
    "insert_billing_invoice": (
        "INSERT INTO billing_invoices (id, name, status) VALUES (9001, 'forged', 'draft')"
    ),
    "update_billing_invoice": "UPDATE billing_invoices SET status = 'paid'",
    "forge_directus_activity": "INSERT INTO directus_activity (action, collection, item, "
    "timestamp) "
    "VALUES ('create', 'os_proposal_approvals', 'APR-FORGED', now())",
    "activate_authority": "UPDATE os_authorities SET active = true",
}


@pytest.mark.parametrize("statement", FORBIDDEN)
def test_the_agent_login_gets_a_real_permission_error_writing_what_it_must_not(lab, statement):
    ratify(lab)
    sha = api.status(lab.settings).proposal_sha256
    before = lab.snapshot()
    engine = lab.engine(lab.settings.agent_url)
    try:
        with engine.connect() as conn, pytest.raises(sa.exc.ProgrammingError) as denied:
            conn.execute(sa.text(FORBIDDEN[statement]), {"sha": sha})
    finally:
        engine.dispose()
    assert isinstance(denied.value.orig, psycopg.errors.InsufficientPrivilege)
    assert "permission denied for table" in str(denied.value.orig)
    assert lab.snapshot() == before


def test_an_agent_connection_that_could_forge_approvals_blocks_the_gate_naming_insert(lab, gg):
    ratify(lab)  # otherwise READY: the forge reason alone blocks it
    assert api.status(lab.settings).status is Status.READY
    superuser = ("--db", lab.url, "--agent-db", lab.url)
    result = gg(*superuser, "status", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["status"] == "BLOCKED"
    assert [r["code"] for r in data["reasons"]] == ["agent-can-forge"]
    reason = data["reasons"][0]
    assert (
        "the agent's database role (postgres) can INSERT and UPDATE os_proposal_approvals"
        in reason["message"]
    )
    assert "govgate init --roles" in reason["fix"]

    before = lab.snapshot()
    refused = gg(*superuser, "apply")
    assert refused.code == 1
    assert "could forge an approval" in refused.err
    assert lab.snapshot() == before


def test_doctor_says_the_agent_login_cannot_write_approvals_and_can_write_accountability(lab, gg):
    result = gg(*agent_args(lab), "doctor")
    assert result.code == 0, result.out + result.err
    assert (
        "agent on os_proposal_approvals: role gg_agent_login cannot write os_proposal_approvals"
        in result.out
    )
    assert (
        "agent on os_accountability: role gg_agent_login can insert/delete os_accountability"
        in result.out
    )
    assert (
        "agent on billing_invoices: role gg_agent_login cannot write billing_invoices" in result.out
    )
    assert "FAIL" not in result.out


def test_doctor_fails_when_the_agent_connects_as_a_role_that_can_write_approvals(lab, gg):
    result = gg("--db", lab.url, "--agent-db", lab.url, "doctor")
    assert result.code == 1
    assert (
        "FAIL agent on os_proposal_approvals: role postgres can insert/update/delete "
        "os_proposal_approvals — it must not" in result.out
    )


def test_a_whole_rollout_and_its_rollback_run_as_the_agent_login_reading_approvals_only(lab):
    ratify(lab)
    approvals = lab.rows("SELECT * FROM os_proposal_approvals")
    engine = lab.engine(lab.settings.agent_url)
    try:
        with engine.connect() as conn:
            who = conn.execute(sa.text("SELECT current_user")).scalar_one()
            can = {
                p: conn.execute(
                    sa.text("SELECT has_table_privilege('os_proposal_approvals', :p)"), {"p": p}
                ).scalar_one()
                for p in ("SELECT", "INSERT", "UPDATE", "DELETE")
            }
    finally:
        engine.dispose()
    assert who == AGENT_LOGIN
    assert can == {"SELECT": True, "INSERT": False, "UPDATE": False, "DELETE": False}

    applied = api.apply(lab.settings)
    assert (applied.records, applied.gap_after, applied.approval_id) == (
        210,
        0,
        APPROVAL,
    )
    assert api.status(lab.settings).status is Status.APPLIED
    assert lab.rows("SELECT applied_by FROM os_rollouts") == [("govgate-agent",)]
    rolled = api.rollback(lab.settings)
    assert rolled.restored and rolled.gap_after == 210
    assert lab.rows("SELECT * FROM os_proposal_approvals") == approvals


def test_the_approver_login_can_ratify_as_the_human(lab):
    as_approver = lab.settings.with_db(lab.approver_url, lab.settings.agent_url)
    result = ratify(lab, settings=as_approver)
    assert result.approval_id == APPROVAL
    assert api.status(lab.settings).status is Status.READY
