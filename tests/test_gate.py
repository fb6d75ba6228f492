"""The gate (SPEC 3, 4.1, 4.2): READY only for the exact expected state, BLOCKED naming why.

`govgate status` prints one word, READY, BLOCKED or APPLIED; `--why` and `--json` give
the reasons in plain words and what would clear each. Drift (production moved away from
the state the proposal expects) blocks a ratified proposal; so do an approval with the
wrong hash, an approval by the agent's own identity, a changed plan, or no approval at
all. Each refusal ends with `govgate apply` exiting 1, nothing written to any table (nor
to the list of views), and the gate not READY. Reading the gate never writes.
"""

from __future__ import annotations

import json
import textwrap

import pytest

from govgate import api

from support.constants import AGENT_IDENTITY, APPROVAL, APPROVER
from support.labs import (
    agent_args,
    assert_apply_refused_and_nothing_written,
    gate,
    insert_approval,
    ratify,
)

# id -> (SQL, params, the gate's reasons: each follows "production differs from the expected
# state: " in one reason of its own)
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
        ("accountability row added: transport_routes/ownership → GOV-DOT",),
    ),
    "duty_retitled": (
        "UPDATE os_duties SET title = 'Is the owner' WHERE code = 'ownership'",
        {},
        ("duty ownership: title was 'Owns the collection and answers for it', now 'Is the owner'",),
    ),
    "duty_code_renamed": (
        "UPDATE os_duties SET code = 'owner' WHERE code = 'ownership'",
        {},
        ("duty owner was added", "duty ownership was removed"),
    ),
    "external_emission_turned_on": (
        "UPDATE os_settings SET value = 'on' WHERE os_settings.key = 'external_emission'",
        {},
        ("setting external_emission was 'off', now 'on'",),
    ),
    "authority_renamed": (
        "UPDATE os_authorities SET name = 'Transport Department' WHERE code = 'GOV-DOT'",
        {},
        ("authority GOV-DOT was renamed from 'Department of Transport' to 'Transport Department'",),
    ),
}
DRIFTED = "production differs from the expected state: "


def status(lab, gg, *args: str):
    return gg(*agent_args(lab), "status", *args)


@pytest.fixture
def ready(lab, gg):
    """A READY gate: the approval made as a person makes it in the Directus app."""
    insert_approval(lab)
    result = status(lab, gg)
    assert result.code == 0, result.err
    assert result.out.split()[0] == "READY"
    return lab


# -- drift -------------------------------------------------------------------------------


@pytest.mark.parametrize("drift", list(DRIFTS), ids=list(DRIFTS))
def test_drift_blocks_the_gate_and_why_names_what_differs(drift, ready, gg):
    sql, params, reasons = DRIFTS[drift]
    ready.execute(sql, **params)

    why = status(ready, gg, "--why")
    assert why.code == 0, why.err
    assert why.out.split()[0] == "BLOCKED"
    reason_lines = [
        line for line in why.out.splitlines() if "differs from the expected state" in line
    ]
    assert reason_lines, why.out
    for reason in reasons:
        assert any(reason in line for line in reason_lines), (reason, why.out)
    assert "freeze a new proposal" in why.out  # what would clear it

    data = json.loads(status(ready, gg, "--json").out)
    assert data["status"] == "BLOCKED"
    assert {r["code"] for r in data["reasons"]} == {"drift"}  # the approval itself is still fine
    assert [r["message"] for r in data["reasons"]] == [DRIFTED + r for r in reasons]
    assert all(r["fix"] for r in data["reasons"])


@pytest.mark.parametrize("drift", list(DRIFTS), ids=list(DRIFTS))
def test_production_changed_after_approval_is_refused_naming_the_change(lab, gg, drift):
    ratify(lab)
    sql, params, reasons = DRIFTS[drift]
    lab.execute(sql, **params)
    verdict = gate(lab)
    assert verdict["status"] == "BLOCKED"
    assert verdict["codes"] == ["drift"] * len(reasons)
    assert verdict["messages"] == [DRIFTED + r for r in reasons]
    assert_apply_refused_and_nothing_written(lab, gg, "the gate is BLOCKED, not READY", *reasons)


def test_plain_status_prints_only_the_word_blocked_after_drift(ready, gg):
    ready.execute("UPDATE os_authorities SET active = :v WHERE code = 'GOV-DOT'", v=False)
    result = status(ready, gg)
    assert result.code == 0
    assert result.out.strip() == "BLOCKED"


def test_undoing_the_drift_makes_the_gate_ready_again(ready, gg):
    ready.execute("UPDATE os_authorities SET active = :v WHERE code = 'GOV-DOT'", v=False)
    assert status(ready, gg).out.split()[0] == "BLOCKED"
    ready.execute("UPDATE os_authorities SET active = :v WHERE code = 'GOV-DOT'", v=True)
    assert status(ready, gg).out.split()[0] == "READY"


def test_each_of_several_drifts_is_its_own_reason(ready, gg):
    ready.execute("UPDATE os_authorities SET active = :v WHERE code = 'GOV-DOT'", v=False)
    ready.execute("DELETE FROM os_governed_collections WHERE collection = 'it_systems'")
    ready.execute("UPDATE os_settings SET value = 'on' WHERE os_settings.key = 'external_emission'")
    data = json.loads(status(ready, gg, "--json").out)
    messages = [r["message"] for r in data["reasons"] if r["code"] == "drift"]
    assert len(messages) == 3
    assert any("GOV-DOT" in m for m in messages)
    assert any("it_systems" in m for m in messages)
    assert any("external_emission" in m for m in messages)


def test_drift_changes_nothing_in_production(ready, gg):
    ready.execute("DELETE FROM os_governed_collections WHERE collection = 'transport_routes'")
    before = ready.snapshot()
    status(ready, gg, "--why")
    status(ready, gg, "--json")
    assert ready.snapshot() == before


# -- approvals the gate does not accept ----------------------------------------------------


def test_apply_while_blocked_exits_1_and_writes_nothing(lab, gg):
    assert gate(lab)["status"] == "BLOCKED"
    assert_apply_refused_and_nothing_written(
        lab,
        gg,
        "the gate is BLOCKED, not READY",
        "no approval exists for proposal PROP-AUTHMODEL-1",
    )


def test_an_approval_carrying_another_hash_is_refused_and_nothing_is_written(lab, gg):
    insert_approval(lab, APPROVAL, "0" * 64, APPROVER)
    verdict = gate(lab)
    assert (verdict["status"], verdict["codes"]) == ("BLOCKED", ["wrong-hash"])
    assert_apply_refused_and_nothing_written(
        lab, gg, "approval APR-BOOT-AUTHMODEL-1 carries hash 000000000000…"
    )


def test_an_approval_made_by_the_agents_identity_is_refused_and_nothing_is_written(lab, gg):
    insert_approval(lab, APPROVAL, approved_by=AGENT_IDENTITY)
    verdict = gate(lab)
    assert (verdict["status"], verdict["codes"]) == ("BLOCKED", ["agent-approval"])
    assert_apply_refused_and_nothing_written(
        lab,
        gg,
        "approval APR-BOOT-AUTHMODEL-1 was made by the agent's own identity (govgate-agent)",
    )


def test_a_plan_changed_after_approval_is_a_new_proposal_that_has_no_approval(lab, gg, tmp_path):
    ratify(lab)
    plan = tmp_path / "changed.yaml"
    plan.write_text(
        textwrap.dedent("""\
        proposal: PROP-AUTHMODEL-2
        approval: APR-BOOT-AUTHMODEL-2
        title: The One-Roof model, transport only
        protected: [billing_*, signoff_*, law_*]
        assign:
          GOV-DOT: [transport_*]
        """)
    )
    proposed = gg("--db", lab.url, "propose", str(plan))
    assert proposed.code == 0, proposed.err
    verdict = gate(lab)
    assert (verdict["status"], verdict["proposal"], verdict["codes"]) == (
        "BLOCKED",
        "PROP-AUTHMODEL-2",
        ["no-approval"],
    )
    assert_apply_refused_and_nothing_written(
        lab, gg, "no approval exists for proposal PROP-AUTHMODEL-2"
    )
    assert lab.scalar("SELECT COUNT(*) FROM os_accountability") == 0


# -- APPLIED ------------------------------------------------------------------------------


def test_applying_a_second_time_while_applied_is_refused_and_nothing_is_written(lab, gg):
    ratify(lab)
    api.apply(lab.settings)
    before = lab.snapshot()
    result = gg(*agent_args(lab), "apply")
    assert result.code == 1, result.out
    assert "the gate is APPLIED, not READY; nothing was changed" in result.err
    assert lab.snapshot() == before
    assert gate(lab)["status"] == "APPLIED"
