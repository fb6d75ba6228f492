"""Four eyes and quorum: whoever proposes cannot approve; a plan may ask for more people.

A plan's `approvals: {required, from}` is part of the proposal hash. One approval of two is
BLOCKED "needs one more approval"; the same person approving twice still counts once; the
second person makes it READY, and the rollout records every approval it used.
"""

from __future__ import annotations

import uuid

import pytest

from govgate import api
from govgate.errors import Refused
from govgate.ops.demo import plan_text
from govgate.runbook.report import sentences

from support import signing
from support.constants import APPROVER, PROPOSAL
from support.labs import gate, insert_approval, ratify

QUORUM = "PROP-QUORUM-1"


def second_person(lab) -> None:
    """A second human in the demo's Directus: the auditor."""
    lab.execute(
        "INSERT INTO directus_users (id, first_name, last_name, email, status) "
        "VALUES (:id, 'Aziz', 'Auditor', :email, 'active')",
        id=str(uuid.uuid4()),
        email=signing.SECOND_APPROVER,
    )


def propose(lab, tmp_path, approvals: str = "", proposal: str = QUORUM, actor="engineer"):
    """Freeze the demo plan under another id, with APPROVALS (YAML lines) added."""
    text = (
        plan_text().replace(PROPOSAL, proposal).replace("APR-BOOT-AUTHMODEL-1", f"APR-{proposal}")
    )
    path = tmp_path / f"{proposal}.yaml"
    path.write_text(text + approvals)
    return api.propose(lab.settings, str(path), actor=actor).proposal


def test_whoever_froze_the_proposal_cannot_ratify_it(lab, tmp_path):
    propose(lab, tmp_path, actor=APPROVER)
    with pytest.raises(Refused, match="four eyes"):
        ratify(lab, proposal=QUORUM)
    assert lab.scalar("SELECT COUNT(*) FROM os_proposal_approvals") == 0


def test_an_approval_by_the_proposals_author_made_elsewhere_is_blocked(lab, tmp_path):
    proposal = propose(lab, tmp_path, actor=APPROVER)
    insert_approval(lab, "APR-BY-AUTHOR", proposal.sha256, proposal=QUORUM)
    found = gate(lab)
    assert found["status"] == "BLOCKED" and "four-eyes" in found["codes"], found
    assert any("cannot also approve it" in m for m in found["messages"])


def test_who_must_approve_is_part_of_the_proposal_hash(lab, tmp_path):
    plain = propose(lab, tmp_path, proposal="PROP-PLAIN-1")
    two = propose(lab, tmp_path, "approvals:\n  required: 2\n", proposal="PROP-TWO-1")
    demo = api.status(lab.settings, "PROP-AUTHMODEL-1").proposal
    assert "approvals" not in demo.body() and "approvals" not in plain.body()
    assert '"approvals":{"from":[],"required":2}' in two.body()
    assert plain.sha256 != two.sha256


def test_one_approval_of_two_is_blocked_and_the_second_person_makes_it_ready(lab, tmp_path):
    second_person(lab)
    propose(lab, tmp_path, "approvals:\n  required: 2\n")
    ratify(lab, proposal=QUORUM)
    found = gate(lab)
    assert found["status"] == "BLOCKED" and found["codes"] == ["quorum"], found
    assert "needs one more approval" in found["messages"][0]
    ratify(lab, proposal=QUORUM, approval_id=f"APR-{QUORUM}-AGAIN")  # the same person again
    assert gate(lab)["codes"] == ["quorum"]
    ratify(lab, proposal=QUORUM, approver=signing.SECOND_APPROVER, approval_id="APR-Q-2")
    verdict = api.status(lab.settings)
    assert verdict.status.value == "READY", verdict.reasons
    assert len(verdict.approval_ids) == 2
    rollout = api.apply(lab.settings)
    used = lab.rows(
        "SELECT approval_id FROM os_approval_uses WHERE rollout_id = :r ORDER BY approval_id",
        r=rollout.rollout_id,
    )
    assert sorted(a for (a,) in used) == sorted(verdict.approval_ids)
    assert api.status(lab.settings).status.value == "APPLIED"
    text = " ".join(sentences(api.report(lab.settings, rollout.rollout_id).data))
    assert APPROVER in text and signing.SECOND_APPROVER in text


def test_an_approval_by_someone_the_plan_does_not_name_is_blocked(lab, tmp_path):
    second_person(lab)
    propose(lab, tmp_path, f"approvals:\n  from: [{signing.SECOND_APPROVER}]\n")
    ratify(lab, proposal=QUORUM)
    found = gate(lab)
    assert found["status"] == "BLOCKED" and "not-an-approver" in found["codes"], found
    ratify(lab, proposal=QUORUM, approver=signing.SECOND_APPROVER, approval_id="APR-Q-2")
    assert gate(lab)["status"] == "READY"


def test_a_co_approval_can_be_recorded_only_by_a_rollout_being_recorded(lab):
    ratify(lab)
    rollout = api.apply(lab.settings)
    insert_approval(lab, approval_id="APR-LATE")
    with pytest.raises(Exception, match="used only by a rollout"):
        lab.execute(
            "INSERT INTO os_approval_uses (approval_id, rollout_id, used_at) "
            "VALUES ('APR-LATE', :r, 'now')",
            r=rollout.rollout_id,
        ) if lab.backend == "sqlite" else _as_agent(lab, rollout.rollout_id)


def _as_agent(lab, rollout_id: str) -> None:
    engine = lab.engine(lab.settings.agent_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO os_approval_uses (approval_id, rollout_id, used_at) "
                f"VALUES ('APR-LATE', '{rollout_id}', 'now')"
            )
    finally:
        engine.dispose()
