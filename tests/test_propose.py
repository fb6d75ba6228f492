"""`govgate propose PLAN` (SPEC 6, 7): validates, freezes, and prints a summary a human
can check authority by authority, with the proposal hash.

Proposing the identical plan again changes nothing; a changed plan under the same
id is refused; a partial plan predicts the gap it leaves; each proposal is audited.
Plans that are not valid are in test_plan.py.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from govgate.errors import DatabaseError
from govgate.runbook.proposal import Proposal

from support.constants import ONE_ROOF_PLAN, SLOTS
from support.labs import agent_args

FULL_PLAN_NEW_ID = (
    ONE_ROOF_PLAN.read_text(encoding="utf-8")
    .replace("proposal: PROP-AUTHMODEL-1", "proposal: PROP-AUTHMODEL-2")
    .replace("approval: APR-BOOT-AUTHMODEL-1", "approval: APR-BOOT-AUTHMODEL-2")
)

TRANSPORT_ONLY = """\
proposal: PROP-TRANSPORT-1
approval: APR-TRANSPORT-1
title: Transport first
protected: [billing_*, signoff_*, law_*]
assign:
  GOV-DOT: [transport_*]
"""


def _write(tmp_path, text: str, name: str = "plan.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _propose(lab, gg, path, *extra):
    return gg("--db", lab.url, "propose", str(path), *extra)


def test_propose_prints_each_authority_with_its_slot_count_and_the_hash(lab, gg, tmp_path):
    result = _propose(lab, gg, _write(tmp_path, FULL_PLAN_NEW_ID))

    assert result.code == 0, result.err
    assert "proposal PROP-AUTHMODEL-2 frozen" in result.out
    for authority, (slots, collections) in SLOTS.items():
        assert (
            f"{authority} becomes accountable for {slots} slots in {collections} collections"
            in result.out
        )
    assert "4 authorities accountable for 210 slots" in result.out
    assert "the ownership gap goes from 210 to 0" in result.out
    assert (
        "  transport_routes: access, change, incident, ownership, retention, stewardship"
        in result.out
    )
    assert "approval id to ratify it: APR-BOOT-AUTHMODEL-2" in result.out

    hashes = re.findall(r"\b[0-9a-f]{64}\b", result.out)
    assert len(hashes) == 1
    stored, body = lab.rows("SELECT sha256, body FROM os_proposals WHERE id = 'PROP-AUTHMODEL-2'")[
        0
    ]
    assert hashes[0] == stored
    assert hashlib.sha256(body.encode("utf-8")).hexdigest() == stored  # anyone can recompute it


def test_propose_never_lists_a_protected_collection(lab, gg, tmp_path):
    result = _propose(lab, gg, _write(tmp_path, FULL_PLAN_NEW_ID))
    assert result.code == 0, result.err
    for prefix in ("billing_", "signoff_", "law_"):
        assert f"  {prefix}" not in result.out
    body = json.loads(lab.scalar("SELECT body FROM os_proposals WHERE id = 'PROP-AUTHMODEL-2'"))
    assert not [s for s in body["slots"] if s[0].startswith(("billing_", "signoff_", "law_"))]
    assert len(body["slots"]) == 210


def test_propose_records_the_proposal_in_the_audit_trail(lab, gg, tmp_path):
    before = lab.scalar("SELECT COUNT(*) FROM os_audit")
    result = _propose(lab, gg, _write(tmp_path, TRANSPORT_ONLY))
    assert result.code == 0, result.err
    assert lab.scalar("SELECT COUNT(*) FROM os_audit") == before + 1
    kind, proposal_id, detail = lab.rows(
        "SELECT kind, proposal_id, detail FROM os_audit ORDER BY seq DESC"
    )[0]
    assert (kind, proposal_id) == ("proposal", "PROP-TRANSPORT-1")
    sha = lab.scalar("SELECT sha256 FROM os_proposals WHERE id = 'PROP-TRANSPORT-1'")
    assert json.loads(detail)["sha256"] == sha
    assert gg("--db", lab.url, "audit", "verify").code == 0


def test_proposing_the_identical_plan_again_is_a_no_op(lab, gg):
    """The demo froze plans/oneroof-authmodel.yaml; proposing it again writes nothing."""
    proposals = lab.scalar("SELECT COUNT(*) FROM os_proposals")
    audit_rows = lab.rows("SELECT * FROM os_audit")
    before = lab.snapshot()
    demo_hash = lab.scalar("SELECT sha256 FROM os_proposals WHERE id = 'PROP-AUTHMODEL-1'")

    result = _propose(lab, gg, ONE_ROOF_PLAN)

    assert result.code == 0, result.err
    assert "already frozen" in result.out and "nothing changed" in result.out
    assert demo_hash in result.out
    assert lab.scalar("SELECT COUNT(*) FROM os_proposals") == proposals
    assert lab.rows("SELECT * FROM os_audit") == audit_rows
    assert lab.snapshot() == before


def test_proposing_a_new_plan_twice_freezes_it_once(lab, gg, tmp_path):
    path = _write(tmp_path, TRANSPORT_ONLY)
    first = _propose(lab, gg, path)
    assert first.code == 0, first.err
    before = lab.snapshot()
    second = _propose(lab, gg, path)
    assert second.code == 0, second.err
    assert "already frozen" in second.out
    assert lab.snapshot() == before
    hash_of = lambda text: re.findall(r"\b[0-9a-f]{64}\b", text)  # noqa: E731
    assert hash_of(first.out) == hash_of(second.out)


def test_a_different_plan_under_an_existing_proposal_id_is_refused_and_nothing_written(
    lab, gg, tmp_path
):
    changed = ONE_ROOF_PLAN.read_text(encoding="utf-8").replace(
        "  GOV-COUNCIL: [svc_*, citizen_*, council_*]\n", "  GOV-COUNCIL: [svc_*, citizen_*]\n"
    )
    assert changed != ONE_ROOF_PLAN.read_text(encoding="utf-8")
    before = lab.snapshot()

    result = _propose(lab, gg, _write(tmp_path, changed))

    assert result.code == 1
    assert "proposal PROP-AUTHMODEL-1 already exists" in result.err
    assert "new proposal id" in result.err
    assert lab.snapshot() == before


def test_a_changed_title_alone_is_a_different_plan(lab, gg, tmp_path):
    changed = ONE_ROOF_PLAN.read_text(encoding="utf-8").replace(
        "title: Ratify the One-Roof authorization model", "title: Ratify the model"
    )
    before = lab.snapshot()
    result = _propose(lab, gg, _write(tmp_path, changed))
    assert result.code == 1
    assert "already exists" in result.err
    assert lab.snapshot() == before


def test_a_partial_plan_predicts_the_gap_it_leaves(lab, gg, tmp_path):
    result = _propose(lab, gg, _write(tmp_path, TRANSPORT_ONLY), "--json")
    assert result.code == 0, result.err
    frozen = json.loads(result.out)["proposal"]
    assert (frozen["gap_before"], frozen["predicted_gap"]) == (210, 210 - 54)
    assert len(frozen["slots"]) == 54

    status = json.loads(gg(*agent_args(lab), "status", "--json").out)
    assert (
        status["proposal"] == "PROP-TRANSPORT-1"
    )  # the newest proposal is the one the gate is about
    assert status["gap"] == 210  # nothing applied yet
    assert status["status"] == "BLOCKED"

    gap = json.loads(gg("--db", lab.url, "gap", "--json").out)
    assert gap["total"] == 210
    assert gap["proposal"] == "PROP-TRANSPORT-1"
    assert gap["by_authority"]["GOV-DOT"] == 54
    assert sum(n for a, n in gap["by_authority"].items() if a != "GOV-DOT") == 156

    text = _propose(lab, gg, _write(tmp_path, TRANSPORT_ONLY))
    assert "the ownership gap goes from 210 to 156" in text.out
    assert "GOV-DOT becomes accountable for 54 slots in 9 collections" in text.out
    assert "GOV-MOIT" not in text.out


def test_slots_already_held_by_the_same_authority_are_left_out(lab, gg, tmp_path):
    lab.execute(
        "INSERT INTO os_accountability (collection, duty, authority, rollout_id) "
        "VALUES ('transport_routes', 'ownership', 'GOV-DOT', NULL)"
    )
    result = _propose(lab, gg, _write(tmp_path, TRANSPORT_ONLY), "--json")
    assert result.code == 0, result.err
    frozen = json.loads(result.out)["proposal"]
    assert len(frozen["slots"]) == 53
    assert ["transport_routes", "ownership", "GOV-DOT"] not in frozen["slots"]
    assert (frozen["gap_before"], frozen["predicted_gap"]) == (209, 156)


def test_a_plan_whose_every_slot_is_already_held_is_refused_and_nothing_written(lab, gg, tmp_path):
    duties = [d for (d,) in lab.rows("SELECT code FROM os_duties")]
    collections = [
        c
        for (c,) in lab.rows(
            "SELECT collection FROM os_governed_collections WHERE collection LIKE 'transport%'"
        )
    ]
    for collection in collections:
        for duty in duties:
            lab.execute(
                "INSERT INTO os_accountability (collection, duty, authority, rollout_id) "
                "VALUES (:c, :d, 'GOV-DOT', NULL)",
                c=collection,
                d=duty,
            )
    before = lab.snapshot()
    path = _write(tmp_path, TRANSPORT_ONLY)
    result = _propose(lab, gg, path)
    assert result.code == 2
    assert "assigns no slot that is not already in place" in result.err
    assert str(path) in result.err
    assert lab.snapshot() == before


@pytest.mark.parametrize("slot", [["roads", "ownership"], ["roads", "ownership", "GOV-A", "x"]])
def test_a_stored_proposal_body_with_a_malformed_slot_is_a_clear_database_error(slot):
    body = {
        "id": "P-1",
        "approval_id": "A-1",
        "title": "T",
        "protected": [],
        "slots": [["parks", "ownership", "GOV-A"], slot],
        "expected_fingerprint": "0" * 64,
        "gap_before": 2,
        "predicted_gap": 0,
    }
    with pytest.raises(DatabaseError, match="P-1.*slot"):
        Proposal.from_body(json.dumps(body))
