"""One-command rollback (SPEC 4.7): `govgate rollback` removes exactly what the rollout
created and proves the fingerprint is back; it refuses edited records unless forced.

If the rollout's records were edited since it ran, rollback refuses, lists each
difference and changes nothing; `--force` removes them anyway and appends a `forced`
audit event. A stray write inside the rollback's transaction aborts it with nothing
removed. The approval a rolled-back rollout used cannot run it again.

Elsewhere: the whole rollback through the command line, with the fingerprint and gap 210
proven, in test_runbook.py; a fault at each rollback step in test_faults.py; the rollback
as the agent's least-privilege login in test_roles.py; the audit rows of a rollback in
test_audit.py; the rehearsal's rollback on a copy in test_rehearse.py.
"""

from __future__ import annotations

from govgate import api
from govgate.runbook.gate import Status

from support.labs import (
    agent_args,
    assert_apply_refused_and_nothing_written,
    gate,
    ratify,
)
from support.steps import WRITE_BILLING, assert_aborted_and_nothing_written, grant_too_much, stray


def test_rollback_of_edited_records_is_refused_listing_the_difference_and_changes_nothing(
    lab, gg, edited_rollout
):
    before = lab.snapshot()
    result = gg(*agent_args(lab), "rollback", "--yes")
    assert result.code == 1, result.out
    assert (
        f"the records of rollout {edited_rollout} were edited since it ran; nothing was changed"
        in result.err
    )
    assert "transport_routes/ownership now names GOV-MOIT, the rollout set GOV-DOT" in result.err
    assert "--force" in result.err
    assert lab.snapshot() == before


def test_rollback_force_removes_edited_records_and_appends_a_forced_event(
    lab, gg, edited_rollout, monkeypatch
):
    monkeypatch.setenv("GOVGATE_USER", "oscar.operator")  # a person runs it, not the agent
    result = gg(*agent_args(lab), "rollback", "--force", "--yes")
    assert result.code == 0, result.err
    assert "(forced)" in result.out
    assert "ownership gap is back to 210" in result.out
    assert lab.scalar("SELECT COUNT(*) FROM os_accountability") == 0
    events = api.audit_trail(lab.settings)
    assert [e.kind for e in events][-2:] == ["rollback", "forced"]
    forced = events[-1]
    assert (forced.rollout_id, forced.actor, forced.detail["action"]) == (
        edited_rollout,
        "oscar.operator",
        "rollback",
    )
    assert forced.detail["edits"] == [
        "transport_routes/ownership now names GOV-MOIT, the rollout set GOV-DOT"
    ]
    assert gg("--db", lab.url, "audit", "verify").code == 0
    verdict = api.status(lab.settings)
    assert (verdict.status, verdict.gap) == (Status.BLOCKED, 210)


def test_a_write_to_billing_invoices_inside_rollback_is_caught_audited_and_nothing_is_removed(lab):
    ratify(lab)
    api.apply(lab.settings)
    if lab.backend == "postgres":
        grant_too_much(lab)  # so that it is the rollback's own check, not the role, that catches it
    assert_aborted_and_nothing_written(
        lab, api.rollback, stray("prove", WRITE_BILLING), "prove", "billing_invoices"
    )
    assert api.status(lab.settings).status is Status.APPLIED


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
