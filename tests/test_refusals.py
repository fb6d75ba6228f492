"""Every refusal ends with nothing written and the gate not READY (GitHub issue 3).

An approval with the wrong hash, a used approval, an approval by the agent's own
identity, a plan changed after approval, production changed after approval,
ratification without a terminal, apply while BLOCKED: each is refused, every row
of every table (and the list of views) is exactly as before, and the gate says
why. `apply --dry-run` leaves everything as it was, the audit trail included.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import ratify
from govgate import api
from govgate.db import schema as s
from govgate.directus import identity
from govgate.directus import tables as dx
from govgate.errors import Aborted, Refused

from ptyrun import run_in_pty

PROPOSAL = "PROP-AUTHMODEL-1"
APPROVER = "approver@oneroof.example"
GOVGATE = str(Path(sys.executable).parent / "govgate")


def insert_approval(lab, approval_id: str, sha256: str, approved_by: str) -> None:
    """An approval written with SQL by the database owner, with the Directus `create`
    activity of the human approver, so that only the field under test is wrong."""
    engine = lab.engine()
    try:
        with engine.begin() as conn:
            human = identity.user_id(conn, APPROVER)
            conn.execute(
                s.approvals.insert().values(
                    id=approval_id,
                    proposal_id=PROPOSAL,
                    proposal_sha256=sha256,
                    approved_by=approved_by,
                    statement="inserted with SQL",
                )
            )
            conn.execute(
                dx.activity.insert().values(
                    action="create",
                    user=human,
                    collection=s.approvals.name,
                    item=approval_id,
                    origin="app",
                )
            )
    finally:
        engine.dispose()


def agent_args(lab) -> tuple[str, ...]:
    return ("--db", lab.url, "--agent-db", lab.settings.agent_url)


def gate(lab) -> dict:
    """`status --json` as the agent sees it."""
    verdict = api.status(lab.settings)
    return {
        "status": verdict.status.value,
        "codes": [r.code for r in verdict.reasons],
        "messages": [r.message for r in verdict.reasons],
        "proposal": verdict.proposal_id,
    }


def assert_apply_refused_and_nothing_written(lab, gg, *phrases: str) -> None:
    """`govgate apply` exits 1 naming PHRASES, and not one row of any table changes."""
    before = lab.snapshot()
    result = gg(*agent_args(lab), "apply")
    assert result.code == 1, result.out + result.err
    assert "nothing was changed" in result.err
    for phrase in phrases:
        assert phrase in result.err, result.err
    assert lab.snapshot() == before
    assert gate(lab)["status"] == "BLOCKED"


def test_an_approval_carrying_another_hash_is_refused_and_nothing_is_written(lab, gg):
    insert_approval(lab, "APR-BOOT-AUTHMODEL-1", "0" * 64, APPROVER)
    verdict = gate(lab)
    assert (verdict["status"], verdict["codes"]) == ("BLOCKED", ["wrong-hash"])
    assert_apply_refused_and_nothing_written(
        lab, gg, "approval APR-BOOT-AUTHMODEL-1 carries hash 000000000000…"
    )


def test_an_approval_used_by_a_rolled_back_rollout_cannot_run_it_again(lab, gg):
    ratify(lab)
    first = api.apply(lab.settings)
    api.rollback(lab.settings)
    verdict = gate(lab)
    assert (verdict["status"], verdict["codes"]) == ("BLOCKED", ["approval-used"])
    assert_apply_refused_and_nothing_written(
        lab,
        gg,
        f"approval APR-BOOT-AUTHMODEL-1 was used by rolled-back rollout {first.rollout_id}",
        "a new ratification is needed",
    )


def test_applying_a_second_time_while_applied_is_refused_and_nothing_is_written(lab, gg):
    ratify(lab)
    api.apply(lab.settings)
    before = lab.snapshot()
    result = gg(*agent_args(lab), "apply")
    assert result.code == 1, result.out
    assert "the gate is APPLIED, not READY; nothing was changed" in result.err
    assert lab.snapshot() == before
    assert gate(lab)["status"] == "APPLIED"


def test_ratify_as_the_agent_identity_is_refused_on_a_terminal_and_writes_nothing(lab, tmp_path):
    before = lab.snapshot()
    run = run_in_pty(
        [GOVGATE, "--db", lab.approver_url, "ratify", PROPOSAL, "--as", "govgate-agent"],
        [("Type the approval id", "APR-BOOT-AUTHMODEL-1")],
        env={"GOVGATE_CONFIG": str(tmp_path / "absent.toml")},
    )
    assert run.code == 1, run.output
    assert "'govgate-agent' is the agent's identity; the agent can never ratify" in run.output
    assert "Type the approval id" not in run.output  # refused before anything was asked
    assert lab.snapshot() == before
    assert gate(lab)["status"] == "BLOCKED"


def test_ratify_as_the_agents_directus_user_is_refused_on_a_terminal_and_writes_nothing(
    lab, tmp_path
):
    before = lab.snapshot()
    run = run_in_pty(
        [GOVGATE, "--db", lab.approver_url, "ratify", PROPOSAL, "--as", "agent@oneroof.example"],
        [("Type the approval id", "APR-BOOT-AUTHMODEL-1")],
        env={
            "GOVGATE_CONFIG": str(tmp_path / "absent.toml"),
            "GOVGATE_DIRECTUS_AGENT_USER": "agent@oneroof.example",
        },
    )
    assert run.code == 1, run.output
    assert "is the agent's identity; the agent can never ratify" in run.output
    assert lab.snapshot() == before


def test_an_approval_made_by_the_agents_identity_is_refused_and_nothing_is_written(lab, gg):
    sha = api.status(lab.settings).proposal_sha256
    insert_approval(lab, "APR-BOOT-AUTHMODEL-1", sha, "govgate-agent")
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


DRIFTS = {
    "authority_deactivated": (
        "UPDATE os_authorities SET active = :no WHERE code = 'GOV-MOIT'",
        "authority GOV-MOIT is now inactive (was active)",
    ),
    "governed_collection_added": (
        "INSERT INTO os_governed_collections (collection, domain) VALUES ('transport_tolls', "
        "'transport')",
        "governed collection transport_tolls was added",
    ),
    "governed_collection_dropped": (
        "DELETE FROM os_governed_collections WHERE collection = 'kg_glossary'",
        "governed collection kg_glossary was removed",
    ),
    "accountability_row_added_by_hand": (
        "INSERT INTO os_accountability (collection, duty, authority) VALUES ('it_assets', "
        "'ownership', 'GOV-MOIT')",
        "accountability row added: it_assets/ownership → GOV-MOIT",
    ),
}


@pytest.mark.parametrize("drift", DRIFTS)
def test_production_changed_after_approval_is_refused_naming_the_change(lab, gg, drift):
    ratify(lab)
    sql, words = DRIFTS[drift]
    lab.execute(sql, **({"no": False} if ":no" in sql else {}))
    verdict = gate(lab)
    assert verdict["status"] == "BLOCKED"
    assert verdict["codes"] == ["drift"]
    assert verdict["messages"] == [f"production differs from the expected state: {words}"]
    assert_apply_refused_and_nothing_written(lab, gg, "the gate is BLOCKED, not READY", words)


@pytest.mark.parametrize(
    "lab", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_production_changed_between_the_gate_check_and_the_write_is_caught_inside_the_transaction(
    lab,
):
    # Guarantee 2: apply re-evaluates the gate inside its own transaction. The change is
    # committed by someone else after apply took its lock and before the gate step runs.
    ratify(lab)
    before = lab.snapshot(exclude=("os_authorities",))

    def someone_else_changes_production(step, conn):
        if step == "gate":
            lab.execute("UPDATE os_authorities SET active = false WHERE code = 'GOV-KG-SYS'")

    with pytest.raises(Refused) as refused:
        api.apply(lab.settings, hook=someone_else_changes_production)
    assert "authority GOV-KG-SYS is now inactive (was active)" in refused.value.message
    assert lab.snapshot(exclude=("os_authorities",)) == before
    assert lab.scalar("SELECT COUNT(*) FROM os_accountability") == 0


@pytest.mark.parametrize(
    "lab", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_production_changed_by_someone_else_while_the_rollout_runs_is_caught_before_commit(lab):
    # Other writers do not take govgate's lock. A change they commit after the gate step
    # (here a rename, which changes neither the gap nor the conflicts) must not be
    # committed as part of a rollout that was approved for another state.
    ratify(lab)
    before = lab.snapshot(exclude=("os_authorities", "os_audit"))

    def someone_else_renames_an_authority(step, conn):
        if step == "records":
            lab.execute("UPDATE os_authorities SET name = 'Renamed' WHERE code = 'GOV-DOT'")

    with pytest.raises(Aborted) as aborted:
        api.apply(lab.settings, hook=someone_else_renames_an_authority)
    assert aborted.value.step == "verify"
    assert (
        "production changed during the rollout: authority GOV-DOT was renamed from "
        "'Department of Transport' to 'Renamed'"
    ) in aborted.value.message
    assert lab.snapshot(exclude=("os_authorities", "os_audit")) == before
    assert lab.scalar("SELECT COUNT(*) FROM os_accountability") == 0


def test_ratify_without_a_terminal_is_refused_even_when_the_id_is_piped_in(lab, tmp_path):
    before = lab.snapshot()
    result = subprocess.run(
        [GOVGATE, "--db", lab.approver_url, "ratify", PROPOSAL, "--as", APPROVER],
        input="APR-BOOT-AUTHMODEL-1\n",
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "GOVGATE_CONFIG": str(tmp_path / "absent.toml")},
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        "ratification needs a person at an interactive terminal; nothing was written"
        in result.stderr
    )
    assert lab.snapshot() == before
    assert gate(lab)["codes"] == ["no-approval"]


def test_apply_while_blocked_exits_1_and_writes_nothing(lab, gg):
    assert gate(lab)["status"] == "BLOCKED"
    assert_apply_refused_and_nothing_written(
        lab,
        gg,
        "the gate is BLOCKED, not READY",
        "no approval exists for proposal PROP-AUTHMODEL-1",
    )


def test_apply_dry_run_when_ready_runs_everything_and_keeps_nothing(lab, gg):
    ratify(lab)
    before = lab.snapshot()
    result = gg(*agent_args(lab), "apply", "--dry-run", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert (data["dry_run"], data["records"], data["gap_before"], data["gap_after"]) == (
        True,
        210,
        210,
        0,
    )
    text = gg(*agent_args(lab), "apply", "--dry-run")
    assert re.search(r"DRY RUN.*rolled back", text.out)
    assert "Ownership gap: 210 before, 0 after." in text.out
    assert lab.snapshot() == before
    verdict = gate(lab)
    assert (verdict["status"], verdict["codes"]) == ("READY", [])
