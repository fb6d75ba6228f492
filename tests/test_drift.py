"""Drift: when production moves away from the state a proposal expects, the gate says
BLOCKED and `status --why` names, in plain words, exactly what differs (SPEC 3, 4.2).

Each test starts from a READY gate (a ratified One-Roof demo), makes one change
by hand, and reads the gate through the command line.
"""

from __future__ import annotations

import json

import pytest

from govgate import api
from govgate.ops.demo import demo_uuid

PROPOSAL = "PROP-AUTHMODEL-1"
APPROVAL = "APR-BOOT-AUTHMODEL-1"


def _ratify_by_hand(lab) -> None:
    """What a human does in the Directus app: an approval row and its `create` activity."""
    sha = api.status(lab.settings).proposal_sha256
    approver = demo_uuid("user:approver")
    lab.execute(
        "INSERT INTO os_proposal_approvals (id, proposal_id, proposal_sha256, approved_by, "
        "statement) "
        "VALUES (:id, :p, :h, :u, 'I approve the One-Roof authorization model')",
        id=APPROVAL,
        p=PROPOSAL,
        h=sha,
        u=approver,
    )
    lab.execute(
        'INSERT INTO directus_activity (action, "user", timestamp, collection, item) '
        "VALUES ('create', :u, CURRENT_TIMESTAMP, 'os_proposal_approvals', :id)",
        u=approver,
        id=APPROVAL,
    )


def _status(lab, gg, *args: str):
    return gg("--db", lab.url, "--agent-db", lab.settings.agent_url, "status", *args)


@pytest.fixture
def ready(lab, gg):
    _ratify_by_hand(lab)
    result = _status(lab, gg)
    assert result.code == 0, result.err
    assert result.out.split()[0] == "READY"
    return lab


# id -> (SQL, params, words the reason must contain)
DRIFTS = {
    "authority_deactivated": (
        "UPDATE os_authorities SET active = :v WHERE code = 'GOV-DOT'",
        {"v": False},
        ("authority GOV-DOT is now inactive (was active)",),
    ),
    "governed_collection_added": (
        "INSERT INTO os_governed_collections (collection, domain) VALUES ('transport_bridges', "
        "'transport')",
        {},
        ("governed collection transport_bridges was added",),
    ),
    "governed_collection_dropped": (
        "DELETE FROM os_governed_collections WHERE collection = 'transport_routes'",
        {},
        ("governed collection transport_routes was removed",),
    ),
    "accountability_row_added_by_hand": (
        "INSERT INTO os_accountability (collection, duty, authority, rollout_id) "
        "VALUES ('transport_routes', 'ownership', 'GOV-DOT', NULL)",
        {},
        ("accountability row added", "transport_routes/ownership", "GOV-DOT"),
    ),
    "duty_retitled": (
        "UPDATE os_duties SET title = 'Is the owner' WHERE code = 'ownership'",
        {},
        ("duty ownership", "'Owns the collection and answers for it'", "'Is the owner'"),
    ),
    "duty_code_renamed": (
        "UPDATE os_duties SET code = 'owner' WHERE code = 'ownership'",
        {},
        ("duty owner was added", "duty ownership was removed"),
    ),
    "external_emission_turned_on": (
        "UPDATE os_settings SET value = 'on' WHERE key = 'external_emission'",
        {},
        ("external_emission", "'off'", "'on'"),
    ),
    "authority_renamed": (
        "UPDATE os_authorities SET name = 'Transport Department' WHERE code = 'GOV-DOT'",
        {},
        ("authority GOV-DOT was renamed", "'Transport Department'"),
    ),
}


@pytest.mark.parametrize("drift", list(DRIFTS), ids=list(DRIFTS))
def test_drift_blocks_the_gate_and_why_names_what_differs(drift, ready, gg):
    sql, params, words = DRIFTS[drift]
    ready.execute(sql, **params)

    why = _status(ready, gg, "--why")
    assert why.code == 0, why.err
    assert why.out.split()[0] == "BLOCKED"
    reason_lines = [
        line for line in why.out.splitlines() if "differs from the expected state" in line
    ]
    assert reason_lines, why.out
    for word in words:
        assert any(word in line for line in reason_lines), (word, why.out)
    assert "freeze a new proposal" in why.out  # what would clear it

    data = json.loads(_status(ready, gg, "--json").out)
    assert data["status"] == "BLOCKED"
    assert data["reasons"], data
    assert {r["code"] for r in data["reasons"]} == {"drift"}  # the approval itself is still fine
    for word in words:
        assert any(word in r["message"] for r in data["reasons"]), (word, data["reasons"])
    assert all(r["fix"] for r in data["reasons"])


def test_plain_status_prints_only_the_word_blocked_after_drift(ready, gg):
    ready.execute("UPDATE os_authorities SET active = :v WHERE code = 'GOV-DOT'", v=False)
    result = _status(ready, gg)
    assert result.code == 0
    assert result.out.strip() == "BLOCKED"


def test_undoing_the_drift_makes_the_gate_ready_again(ready, gg):
    ready.execute("UPDATE os_authorities SET active = :v WHERE code = 'GOV-DOT'", v=False)
    assert _status(ready, gg).out.split()[0] == "BLOCKED"
    ready.execute("UPDATE os_authorities SET active = :v WHERE code = 'GOV-DOT'", v=True)
    assert _status(ready, gg).out.split()[0] == "READY"


def test_each_of_several_drifts_is_its_own_reason(ready, gg):
    ready.execute("UPDATE os_authorities SET active = :v WHERE code = 'GOV-DOT'", v=False)
    ready.execute("DELETE FROM os_governed_collections WHERE collection = 'it_systems'")
    ready.execute("UPDATE os_settings SET value = 'on' WHERE key = 'external_emission'")
    data = json.loads(_status(ready, gg, "--json").out)
    messages = [r["message"] for r in data["reasons"] if r["code"] == "drift"]
    assert len(messages) == 3
    assert any("GOV-DOT" in m for m in messages)
    assert any("it_systems" in m for m in messages)
    assert any("external_emission" in m for m in messages)


def test_drift_changes_nothing_in_production(ready, gg):
    ready.execute("DELETE FROM os_governed_collections WHERE collection = 'transport_routes'")
    before = ready.snapshot()
    _status(ready, gg, "--why")
    _status(ready, gg, "--json")
    assert ready.snapshot() == before
