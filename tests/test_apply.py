"""`govgate apply` (SPEC 4.2): it runs only on a READY gate and checks it again inside its own
transaction, under a lock, before writing anything.

A change someone else commits after apply took its lock and before its gate step is
caught there, and nothing is written. `apply --dry-run` runs every step and keeps nothing.
What apply refuses on a gate that is not READY is in test_gate.py; faults at each step in
test_faults.py; what it may write in test_confinement.py; the verification before commit
in test_verify.py.
"""

from __future__ import annotations

import json
import re

import pytest

from govgate import api
from govgate.db.engine import Mode
from govgate.db.session import session
from govgate.db.state import Slot
from govgate.errors import Refused
from govgate.runbook.apply import _insert_records

from support.labs import agent_args, gate, ratify


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


@pytest.mark.parametrize(
    "lab", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
@pytest.mark.parametrize(
    "odd", ["back\\slash", "tab\there", "new\nline", "carriage\rreturn", "\\N", "\\."]
)
def test_records_whose_names_copy_would_escape_are_written_exactly_on_postgresql(lab, odd):
    # PostgreSQL's records go in through COPY, whose text format escapes these characters:
    # the rows must come back exactly as the proposal names them.
    slots = (Slot("a_plain_one", "ownership", "GOV-DOT"), Slot(odd, "ownership", "GOV-DOT"))
    with session(lab.settings.db_url, Mode.DRY_RUN) as conn:  # rolled back
        _insert_records(conn, type("Proposal", (), {"slots": slots})(), "RO-COPY-TEST")
        written = conn.exec_driver_sql(
            "SELECT collection, duty, authority, rollout_id FROM os_accountability "
            "WHERE rollout_id = 'RO-COPY-TEST'"
        ).all()
    assert sorted(tuple(r) for r in written) == sorted((*s, "RO-COPY-TEST") for s in slots)
