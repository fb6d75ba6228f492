"""The same round trip on a real Directus 12.4.0 running on SQLite.

Directus on SQLite stores dates as INTEGER epoch milliseconds and uuids as char(36)
text; govgate shares the file with it. Init registers the tables, a person approves
through the REST API, the agent applies, Directus lists the records and the
dashboard, rollback removes them.
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

import pytest

from govgate import api
from govgate.config import Settings
from govgate.db.types import from_directus_time
from govgate.directus.insights import NAME

from .dlab import AGENT_EMAIL, APPROVER_EMAIL, World, create_directus_users, seed_governance


@pytest.fixture(scope="module")
def sqlite_world(directus_sqlite_lab) -> World:
    lab = directus_sqlite_lab
    result = api.init(
        Settings(db_url=lab.owner_url, directus_url=lab.url, directus_token=lab.admin_token),
        actor="operator",
    )
    assert result.registered_via == "api" and result.directus_registered, result
    seed_governance(lab.owner_url)
    users, tokens, policies = create_directus_users(lab)
    folder = Path(tempfile.mkdtemp(prefix="plans-", dir=lab.dir))
    settings = Settings(
        db_url=lab.owner_url,
        directus_agent_user=AGENT_EMAIL,
        directus_url=lab.url,
        report_dir=str(folder / "reports"),
    )
    return World(
        lab, settings, result, users, tokens, policies, api.status(settings).fingerprint, folder
    )


def test_approve_apply_and_roll_back_on_a_sqlite_directus(sqlite_world):
    world = sqlite_world
    proposal = world.propose("sqlite")
    sent = world.approve(APPROVER_EMAIL, proposal)
    assert sent.status_code == 200, sent.text
    path = world.lab.env["SQLITE_FILE"]
    with sqlite3.connect(path) as conn:
        kind, stamp, user = conn.execute(
            "SELECT typeof(timestamp), timestamp, user FROM directus_activity "
            "WHERE collection = 'os_proposal_approvals' AND item = ?",
            (proposal.approval_id,),
        ).fetchone()
        by, at_kind = conn.execute(
            "SELECT approved_by, typeof(approved_at) FROM os_proposal_approvals WHERE id = ?",
            (proposal.approval_id,),
        ).fetchone()
    assert (
        kind == "integer" and from_directus_time(stamp).year >= 2024
    )  # epoch ms, as Directus stores it
    assert user == by == world.users[APPROVER_EMAIL] and at_kind == "integer"

    verdict = api.status(world.settings)
    assert verdict.status.value == "READY", [str(r) for r in verdict.reasons]
    result = api.apply(world.settings)
    made = next(o for o in result.created_objects if o["kind"] == "dashboard")
    with world.client() as http:
        assert len(http.get("/items/os_accountability", params={"limit": -1}).json()["data"]) == 210
        got = http.get(f"/dashboards/{made['id']}", params={"fields": "*,panels.*"})
        assert got.status_code == 200, got.text
        assert got.json()["data"]["name"] == NAME and len(got.json()["data"]["panels"]) == len(
            made["panels"]
        )
    with sqlite3.connect(path) as conn:  # govgate wrote the dashboard's date as Directus does
        assert conn.execute(
            "SELECT typeof(date_created) FROM directus_dashboards WHERE id = ?", (made["id"],)
        ).fetchone() == ("integer",)

    undone = api.rollback(world.settings)
    assert undone.restored
    assert api.status(world.settings).fingerprint == world.start_fingerprint
    with world.client() as http:
        assert http.get("/items/os_accountability", params={"limit": -1}).json()["data"] == []
        assert http.get("/dashboards", params={"filter[name][_eq]": NAME}).json()["data"] == []


def test_the_agents_user_gets_403_and_a_sql_approval_stays_blocked_on_sqlite(sqlite_world):
    world = sqlite_world
    proposal = world.propose("sqlite-sql")
    assert world.approve(AGENT_EMAIL, proposal).status_code == 403
    with sqlite3.connect(world.lab.env["SQLITE_FILE"]) as conn:
        conn.execute(
            "INSERT INTO os_proposal_approvals (id, proposal_id, proposal_sha256, approved_by) "
            "VALUES (?, ?, ?, ?)",
            (proposal.approval_id, proposal.id, proposal.sha256, world.users[APPROVER_EMAIL]),
        )
    verdict = api.status(world.settings)
    assert verdict.status.value == "BLOCKED"
    assert {r.code for r in verdict.reasons} == {"no-provenance"}
