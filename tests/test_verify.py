"""Verified before commit (SPEC 4.4): inside the rollout's transaction, before it commits,
production must still be the state the proposal was approved for.

Other writers do not take govgate's lock; a change they commit while the rollout runs
(after its gate step) aborts the rollout at its `verify` step, and nothing of it is kept.
The confinement part of the same check (only the tables a rollout may write were written)
is in test_confinement.py; `govgate verify` after a rollout is in test_runbook.py and
test_agent.py (the agent verifies after each rollout); here, `verify` naming a record edited
since the rollout, or deleted and made again by hand.
"""

from __future__ import annotations

import pytest

from govgate import api
from govgate.errors import Aborted

from support.labs import ratify


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


def test_verify_names_a_record_edited_since_the_rollout_and_fails(lab, edited_rollout):
    result = api.verify(lab.settings)
    assert (result.rollout_id, result.ok) == (edited_rollout, False)
    records = next(c for c in result.checks if c.name == "records")
    assert records.detail == (
        "1 of the rollout's records are missing or changed, "
        "e.g. transport_routes/ownership → GOV-DOT"
    )


def test_verify_names_a_record_a_person_deleted_and_made_again_by_hand(lab, edited_rollout):
    # The row is back as a person's (no rollout id): rollback would not remove it, so it is
    # no longer the rollout's record. A row of no rollout elsewhere is nobody's business here.
    lab.execute(
        "DELETE FROM os_accountability WHERE collection = 'transport_routes' AND duty = 'ownership'"
    )
    lab.execute(
        "INSERT INTO os_accountability (collection, duty, authority) VALUES "
        "('transport_routes', 'ownership', 'GOV-DOT'), "
        "('unlisted_collection', 'ownership', 'GOV-DOT')"
    )
    records = next(c for c in api.verify(lab.settings).checks if c.name == "records")
    assert (records.ok, records.detail) == (
        False,
        "1 of the rollout's records are missing or changed, "
        "e.g. transport_routes/ownership → GOV-DOT",
    )
