"""The whole runbook through the real command line (GitHub issue 3).

BLOCKED → a human ratifies on a real terminal, typing the approval id → READY →
the agent applies → APPLIED with gap 0 → report → verify → rollback → gap 210
and the starting fingerprint → BLOCKED because the approval was used → a second
ratification → READY again. On SQLite and on PostgreSQL, where the human works
as the approver's login and the agent as its least-privilege login.
"""

from __future__ import annotations

import json

from support.constants import APPROVAL
from support.labs import agent_args, ratify_on_terminal


def test_the_runbook_ratify_apply_report_verify_rollback_and_ratify_again(lab, gg):
    agent = agent_args(lab)

    def status() -> dict:
        result = gg(*agent, "status", "--json")
        assert result.code == 0, result.err
        return json.loads(result.out)

    start = status()
    assert (start["status"], start["gap"]) == ("BLOCKED", 210)
    assert [r["code"] for r in start["reasons"]] == ["no-approval"]

    first = ratify_on_terminal(lab, APPROVAL)
    assert first.code == 0, first.output
    assert "To approve, type the approval id: APR-BOOT-AUTHMODEL-1" in first.output
    assert "GOV-DOT becomes accountable for 54 slots in 9 collections" in first.output
    assert "ratified: approval APR-BOOT-AUTHMODEL-1 for proposal PROP-AUTHMODEL-1" in first.output

    ready = status()
    assert (ready["status"], ready["approval"], ready["fingerprint"]) == (
        "READY",
        APPROVAL,
        start["fingerprint"],
    )

    applied = gg(*agent, "apply")
    assert applied.code == 0, applied.err
    assert "Ownership gap: 210 before, 0 after." in applied.out

    after = status()
    assert (after["status"], after["gap"]) == ("APPLIED", 0)
    assert after["rollout"] in applied.out

    report = gg(*agent, "report")
    assert report.code == 0, report.err
    for sentence in (
        "Ownership gap: 210 before, 0 after.",
        "Conflicts: 0.",
        "External emissions: 0 (external emission is off).",
        "Protected collections untouched: billing_accounts, billing_invoices, billing_payments, "
        "law_amendments, law_documents, signoff_decisions, signoff_requests",
        "Records created: 210 accountability records",
        "To undo it: govgate rollback",
    ):
        assert sentence in report.out, report.out

    verified = gg(*agent, "verify")
    assert verified.code == 0, verified.out
    assert verified.out.startswith("all green")
    assert "✗" not in verified.out

    rolled = gg(*agent, "rollback", "--yes")
    assert rolled.code == 0, rolled.err
    assert "ownership gap is back to 210" in rolled.out
    assert "proven: the fingerprint equals the pre-rollout one" in rolled.out

    back = status()
    assert (back["status"], back["gap"], back["fingerprint"]) == (
        "BLOCKED",
        210,
        start["fingerprint"],
    )
    assert [r["code"] for r in back["reasons"]] == ["approval-used"]
    message = back["reasons"][0]["message"]
    assert (
        f"approval APR-BOOT-AUTHMODEL-1 was used by rolled-back rollout {after['rollout']}"
        in message
    )
    assert message.endswith("a new ratification is needed")
    gap = gg(*agent, "gap", "--json")
    assert json.loads(gap.out)["total"] == 210

    second = ratify_on_terminal(lab, "APR-BOOT-AUTHMODEL-1-2")
    assert second.code == 0, second.output
    assert "To approve, type the approval id: APR-BOOT-AUTHMODEL-1-2" in second.output
    again = status()
    assert (again["status"], again["approval"], again["fingerprint"]) == (
        "READY",
        "APR-BOOT-AUTHMODEL-1-2",
        start["fingerprint"],
    )
