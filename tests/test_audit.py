"""The audit trail (SPEC 4.9): a hash chain that `govgate audit verify` checks.

After the runbook the chain holds the proposal, the ratification, the rollout and
the rollback, in that order, and verifies. Editing any row, deleting a middle
row, or cutting the last rollout, rollback or forced event off the end makes
`audit verify` exit 1 naming the row. (The forced rollback that appends a `forced`
event is in test_rollback.py; each abort's audit row in test_faults.py and
test_confinement.py; the proposal's own row in test_propose.py.)
"""

from __future__ import annotations

import json

from support.constants import APPROVAL, PROPOSAL
from support.labs import agent_args, runbook


def audit_verify(gg, lab):
    return gg("--db", lab.url, "audit", "verify")


def test_audit_verify_is_green_after_the_runbook(lab, gg):
    runbook(lab)
    result = audit_verify(gg, lab)
    assert result.code == 0, result.out + result.err
    assert result.out.strip() == "audit chain intact: 5 rows"


def test_the_trail_holds_proposal_ratification_rollout_and_rollback_in_order(lab, gg):
    rollout_id = runbook(lab)
    result = gg("--db", lab.url, "audit", "--json")
    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert document["format_version"] == 1
    events = document["events"]
    assert [e["kind"] for e in events] == [
        "init",
        "proposal",
        "ratification",
        "rollout",
        "rollback",
    ]
    assert [e["seq"] for e in events] == [1, 2, 3, 4, 5]
    proposal, ratification, applied, rolled = events[1:]
    assert proposal["proposal"] == ratification["proposal"] == PROPOSAL
    assert ratification["detail"]["approval"] == APPROVAL
    assert ratification["detail"]["sha256"] == proposal["detail"]["sha256"]
    assert (applied["rollout"], applied["actor"], applied["detail"]["approval"]) == (
        rollout_id,
        "govgate-agent",
        APPROVAL,
    )
    assert (rolled["rollout"], rolled["detail"]["restored"], rolled["detail"]["gap_after"]) == (
        rollout_id,
        True,
        210,
    )
    assert all(
        e["prev_hash"] == before["hash"] for before, e in zip(events, events[1:], strict=False)
    )


def test_editing_the_detail_of_any_audit_row_breaks_the_chain_at_that_row(lab, gg):
    runbook(lab)
    rows = lab.rows("SELECT seq, detail FROM os_audit ORDER BY seq")
    assert len(rows) == 5
    for seq, detail in rows:
        edited = json.dumps(
            {**json.loads(detail), "edited": True}, sort_keys=True, separators=(",", ":")
        )
        lab.execute("UPDATE os_audit SET detail = :d WHERE seq = :s", d=edited, s=seq)
        broken = audit_verify(gg, lab)
        assert broken.code == 1, f"an edit of row {seq} went unnoticed"
        assert f"audit chain BROKEN: row {seq} was edited after it was written" in broken.out
        lab.execute("UPDATE os_audit SET detail = :d WHERE seq = :s", d=detail, s=seq)
        assert audit_verify(gg, lab).code == 0


def test_deleting_a_middle_audit_row_is_detected_naming_it(lab, gg):
    runbook(lab)
    lab.execute("DELETE FROM os_audit WHERE seq = 3")
    broken = audit_verify(gg, lab)
    assert broken.code == 1
    assert "audit chain BROKEN: row 3 is missing (next row is 4)" in broken.out


def test_deleting_the_audit_event_of_the_last_rollout_is_detected_naming_the_rollout(lab, gg):
    rollout_id = runbook(lab, rollback=False)
    assert lab.rows("SELECT kind FROM os_audit WHERE seq = (SELECT MAX(seq) FROM os_audit)") == [
        ("rollout",)
    ]
    lab.execute(
        "DELETE FROM os_audit WHERE seq = (SELECT MAX(seq) FROM (SELECT seq FROM os_audit) AS a)"
    )
    broken = audit_verify(gg, lab)
    assert broken.code == 1
    assert f"rollout {rollout_id} has no audit row (rows were removed from the trail)" in broken.out


def test_deleting_the_audit_event_of_the_last_rollback_is_detected_naming_the_rollout(lab, gg):
    rollout_id = runbook(lab)
    lab.execute("DELETE FROM os_audit WHERE kind = 'rollback'")
    broken = audit_verify(gg, lab)
    assert broken.code == 1
    assert f"the rollback of {rollout_id} has no audit row" in broken.out


def test_deleting_the_forced_event_of_a_forced_rollback_is_detected(lab, gg, edited_rollout):
    assert gg(*agent_args(lab), "rollback", "--force", "--yes").code == 0
    lab.execute("DELETE FROM os_audit WHERE kind = 'forced'")
    broken = audit_verify(gg, lab)
    assert broken.code == 1
    assert f"the forced rollback of {edited_rollout} has no `forced` audit row" in broken.out
