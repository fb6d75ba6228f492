"""The gate on a real Directus 12.4.0: only a person's approval, made through Directus, counts.

Each test freezes its own proposal (the One-Roof plan under a fresh id), so the tests
do not depend on each other's order; none of them leaves a rollout in place.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from govgate import api
from govgate.directus import rest
from govgate.errors import Refused

from .dlab import AGENT_EMAIL, APPROVER_EMAIL, ROGUE_EMAIL, set_password
from support.constants import NO_CONFIG


def _codes(verdict) -> set[str]:
    return {r.code for r in verdict.reasons}


def test_a_person_approving_through_the_rest_api_makes_the_gate_ready(world):
    proposal = world.propose("rest")
    assert api.status(world.settings).status.value == "BLOCKED"
    # approved_by/approved_at are spoofed: Directus must fill them itself (user-created,
    # date-created).
    sent = world.approve(
        APPROVER_EMAIL,
        proposal,
        approved_by=world.users[AGENT_EMAIL],
        approved_at="2001-01-01T00:00:00Z",
    )
    assert sent.status_code == 200, sent.text
    verdict = api.status(world.settings)
    assert verdict.status.value == "READY", [str(r) for r in verdict.reasons]
    assert verdict.approval_id == proposal.approval_id
    by, at = world.lab.rows(
        "SELECT approved_by, approved_at FROM os_proposal_approvals WHERE id = :i",
        i=proposal.approval_id,
    )[0]
    assert str(by) == world.users[APPROVER_EMAIL]
    assert abs(at - datetime.now(UTC)) < timedelta(minutes=5)
    assert world.lab.rows(
        'SELECT action, "user"::text FROM directus_activity WHERE collection = '
        "'os_proposal_approvals' AND item = :i",
        i=proposal.approval_id,
    ) == [("create", world.users[APPROVER_EMAIL])]


def test_the_agents_directus_user_gets_403_creating_an_approval(world):
    proposal = world.propose("agent403")
    sent = world.approve(AGENT_EMAIL, proposal)
    assert sent.status_code == 403, sent.text
    assert sent.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (
        world.lab.scalar(
            "SELECT COUNT(*) FROM os_proposal_approvals WHERE proposal_id = :p", p=proposal.id
        )
        == 0
    )
    # it may read them, as its policy says
    with world.client(AGENT_EMAIL) as http:
        assert http.get("/items/os_proposal_approvals").status_code == 200
    assert api.status(world.settings).status.value == "BLOCKED"


def test_an_approval_inserted_with_sql_keeps_the_gate_blocked_and_says_why(world, gg, monkeypatch):
    proposal = world.propose("sql")
    world.lab.execute(
        "INSERT INTO os_proposal_approvals (id, proposal_id, proposal_sha256, approved_by, "
        "statement) "
        "VALUES (:i, :p, :h, CAST(:u AS uuid), 'inserted with SQL')",
        url=world.lab.owner_url,
        i=proposal.approval_id,
        p=proposal.id,
        h=proposal.sha256,
        u=world.users[APPROVER_EMAIL],
    )
    verdict = api.status(world.settings)
    assert verdict.status.value == "BLOCKED"
    assert _codes(verdict) == {"no-provenance"}
    monkeypatch.setenv("GOVGATE_DIRECTUS_AGENT_USER", AGENT_EMAIL)
    monkeypatch.setenv("GOVGATE_CONFIG", NO_CONFIG["GOVGATE_CONFIG"])
    shown = gg(
        "--db", world.settings.db_url, "--agent-db", world.settings.agent_url, "status", "--why"
    )
    assert shown.code == 0, shown.err
    assert shown.out.splitlines()[0] == "BLOCKED"
    assert f"approval {proposal.approval_id} was not created by a person in Directus" in shown.out
    assert "rows inserted with SQL leave none" in shown.out
    assert "creates a new approval" in shown.out


def test_an_approval_made_by_the_agents_own_directus_user_is_refused(world):
    proposal = world.propose("rogue")
    sent = world.approve(ROGUE_EMAIL, proposal)
    assert sent.status_code == 200, (
        sent.text
    )  # Directus lets it: its policy (wrongly) allows create
    as_rogue = world.as_agent(ROGUE_EMAIL)
    verdict = api.status(as_rogue)
    assert verdict.status.value == "BLOCKED"
    assert _codes(verdict) == {"agent-approval"}
    assert (
        f"made by the agent's own identity (Rogue agents <{ROGUE_EMAIL}>)"
        in verdict.reasons[0].message
    )
    with pytest.raises(Refused, match="not READY"):
        api.apply(as_rogue)
    # Even with approved_by rewritten with SQL to name a person, the activity still says who made
    # it.
    world.lab.execute(
        "UPDATE os_proposal_approvals SET approved_by = CAST(:u AS uuid) WHERE id = :i",
        u=world.users[APPROVER_EMAIL],
        i=proposal.approval_id,
    )
    verdict = api.status(as_rogue)
    assert verdict.status.value == "BLOCKED" and _codes(verdict) == {"agent-approval"}
    assert "created in Directus by the agent's user" in verdict.reasons[0].message
    world.lab.execute(
        "UPDATE os_proposal_approvals SET approved_by = CAST(:u AS uuid) WHERE id = :i",
        u=world.users[ROGUE_EMAIL],
        i=proposal.approval_id,
    )
    # The same item is a person's approval when that user is not the agent's.
    assert api.status(world.settings).status.value == "READY"


def test_an_approval_edited_after_it_was_created_no_longer_counts(world):
    proposal = world.propose("edited")
    assert world.approve(APPROVER_EMAIL, proposal).status_code == 200
    assert api.status(world.settings).status.value == "READY"
    with world.client() as http:  # the admin edits the statement
        assert (
            http.patch(
                f"/items/os_proposal_approvals/{proposal.approval_id}",
                json={"statement": "changed"},
            ).status_code
            == 200
        )
    verdict = api.status(world.settings)
    assert verdict.status.value == "BLOCKED" and _codes(verdict) == {"approval-edited"}


def test_doctor_reports_whether_the_agents_directus_user_could_create_approvals(world):
    good = {f.name: f for f in api.doctor(world.settings).findings}
    assert good["directus agent user"].ok, good["directus agent user"].detail
    assert "cannot create approvals" in good["directus agent user"].detail
    assert good["directus approvals collection"].ok
    assert "directus agent app access" not in good
    bad = {f.name: f for f in api.doctor(world.as_agent(ROGUE_EMAIL)).findings}
    assert not bad["directus agent user"].ok
    assert "may create, read os_proposal_approvals" in bad["directus agent user"].detail
    # and through a role's parent: give the agent's role a parent whose policy may create
    with world.client() as http:
        parent = http.post("/roles", json={"name": "Parent of agents"}).json()["data"]["id"]
        assert (
            http.post(
                "/access", json={"role": parent, "policy": world.policies["Governance approver"]}
            ).status_code
            == 200
        )
        agent_role = http.get(f"/users/{world.users[AGENT_EMAIL]}?fields=role").json()["data"][
            "role"
        ]
        assert http.patch(f"/roles/{agent_role}", json={"parent": parent}).status_code == 200
        try:
            nested = {f.name: f for f in api.doctor(world.settings).findings}
            assert not nested["directus agent user"].ok
        finally:
            assert http.patch(f"/roles/{agent_role}", json={"parent": None}).status_code == 200
            assert http.delete(f"/roles/{parent}").status_code == 204


def test_an_approval_whose_approver_was_rewritten_with_sql_no_longer_counts(world):
    proposal = world.propose("rewritten")
    assert world.approve(APPROVER_EMAIL, proposal).status_code == 200
    world.lab.execute(
        "UPDATE os_proposal_approvals SET approved_by = CAST(:u AS uuid) WHERE id = :i",
        u=world.users[ROGUE_EMAIL],
        i=proposal.approval_id,
    )
    verdict = api.status(world.settings)
    assert verdict.status.value == "BLOCKED" and _codes(verdict) == {"approver-mismatch"}


def test_a_deleted_approval_put_back_with_sql_has_no_provenance(world):
    proposal = world.propose("readded")
    assert world.approve(APPROVER_EMAIL, proposal).status_code == 200
    row = world.lab.rows(
        "SELECT id, proposal_id, proposal_sha256, approved_by, approved_at, statement "
        "FROM os_proposal_approvals WHERE id = :i",
        i=proposal.approval_id,
    )[0]
    with world.client() as http:
        assert (
            http.delete(f"/items/os_proposal_approvals/{proposal.approval_id}").status_code == 204
        )
    world.lab.execute(
        "INSERT INTO os_proposal_approvals (id, proposal_id, proposal_sha256, approved_by, "
        "approved_at, statement) VALUES (:i, :p, :h, :b, :a, :s)",
        i=row[0],
        p=row[1],
        h=row[2],
        b=row[3],
        a=row[4],
        s=row[5],
    )
    verdict = api.status(world.settings)
    assert verdict.status.value == "BLOCKED" and _codes(verdict) == {"no-provenance"}


def test_the_library_ratifies_through_a_directus_session_into_the_uuid_approved_by(world):
    """A session the person opened: Directus fills approved_by (uuid) and records the create."""
    proposal = world.propose("ratify")
    session = rest.login(world.lab.url, APPROVER_EMAIL, set_password(world, APPROVER_EMAIL))
    try:
        done = api.ratify(
            world.settings,
            proposal.id,
            approver=APPROVER_EMAIL,
            confirm=lambda request: request.approval_id,
            interactive=True,
            directus=session,
        )
    finally:
        session.logout()
    assert done.approved_by == world.users[APPROVER_EMAIL] and not done.signed
    assert api.status(world.settings).status.value == "READY"
    with world.client() as http:
        item = http.get(
            f"/items/os_proposal_approvals/{proposal.approval_id}",
            params={"fields": "*,approved_by.email"},
        ).json()["data"]
    assert (
        item["approved_by"]["email"] == APPROVER_EMAIL
        and item["proposal_sha256"] == proposal.sha256
        and item["not_after"]
    )
    with pytest.raises(Refused, match="agent's identity"):
        api.ratify(
            world.settings,
            proposal.id,
            approver=AGENT_EMAIL,
            confirm=lambda request: request.approval_id,
            interactive=True,
            approval_id="APR-BY-AGENT",
            directus=session,
        )


def test_a_rehearsal_on_a_copy_of_the_directus_database_leaves_it_untouched(world):
    """`govgate rehearse` copies the real Directus database (it needs a role that may create
    one).
    """
    world.propose("rehearse")
    before = api.status(world.settings).fingerprint
    result = api.rehearse(
        replace(world.settings, db_url=world.lab.superuser_url, agent_db_url=None)
    )
    assert result.ok, [(step.name, step.detail) for step in result.steps if not step.ok]
    assert (
        result.copy_dropped
        and result.production_fingerprint_before == result.production_fingerprint_after
    )
    assert api.status(world.settings).fingerprint == before
    with world.client() as http:
        assert http.get("/dashboards").json()["data"] == []
        assert (
            http.get(
                "/items/os_proposal_approvals", params={"filter[id][_starts_with]": "REHEARSAL"}
            ).json()["data"]
            == []
        )
