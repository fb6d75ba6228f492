"""The agent's rollout on a real Directus 12.4.0: Directus shows it, and rollback takes it away.

The module's `applied` fixture has a person approve through the REST API and the
agent (least-privilege `govgate_agent` login, its own Directus user) apply the
One-Roof plan: 35 governed collections × 6 duties = 210 slots. The tests then look
at it only through Directus's REST API, as the app does, and finally roll it back.
"""

from __future__ import annotations

import pytest

from govgate import api
from govgate.directus.insights import NAME

from .dlab import AGENT_EMAIL, APPROVER_EMAIL


@pytest.fixture(scope="module")
def applied(world):
    proposal = world.propose("rollout")
    assert world.approve(APPROVER_EMAIL, proposal).status_code == 200
    before = api.status(world.settings)
    assert before.status.value == "READY", [str(r) for r in before.reasons]
    result = api.apply(world.settings)
    dashboard = next(o for o in result.created_objects if o["kind"] == "dashboard")
    yield world, proposal, before, result, dashboard
    if api.status(world.settings).status.value == "APPLIED":  # a test failed before the rollback
        api.rollback(world.settings)


def test_the_rest_api_lists_every_accountability_item_after_the_rollout(applied):
    world, proposal, before, result, _ = applied
    assert api.status(world.settings).status.value == "APPLIED"
    assert result.records == len(proposal.slots) == 210
    with world.client() as http:
        items = http.get("/items/os_accountability", params={"limit": -1})
        assert items.status_code == 200, items.text
        rows = items.json()["data"]
        assert len(rows) == 210
        assert {r["rollout_id"] for r in rows} == {result.rollout_id}
        assert {r["authority"] for r in rows} == {
            "GOV-DOT",
            "GOV-MOIT",
            "GOV-KG-SYS",
            "GOV-COUNCIL",
        }
        counted = http.get("/items/os_accountability", params={"aggregate[count]": "*"}).json()[
            "data"
        ]
        assert int(counted[0]["count"]) == 210
    with world.client(AGENT_EMAIL) as http:  # the agent's API-only policy reads them too
        assert len(http.get("/items/os_accountability", params={"limit": -1}).json()["data"]) == 210


def test_the_rest_api_shows_the_dashboard_with_its_panels(applied):
    world, _, _, result, made = applied
    with world.client() as http:
        got = http.get(f"/dashboards/{made['id']}", params={"fields": "*,panels.*"})
        assert got.status_code == 200, got.text
        dashboard = got.json()["data"]
        assert dashboard["name"] == NAME
        assert dashboard["user_created"] == world.users[AGENT_EMAIL]
        assert dashboard["date_created"]
        panels = {p["name"]: p for p in dashboard["panels"]}
        assert sorted(p["id"] for p in dashboard["panels"]) == sorted(made["panels"])
        assert {p["type"] for p in panels.values()} == {"label", "metric", "metric-list", "list"}
        assert panels["Ownership gap"]["options"]["text"].startswith("Ownership gap: 0 (was 210")
        assert panels["Accountability by authority"]["options"]["groupByField"] == "authority"
        # What the app runs for the panels, through the API: the numbers are the rollout's.
        metric = panels["Accountability slots covered"]["options"]
        count = http.get(
            f"/items/{metric['collection']}",
            params={f"aggregate[{metric['function']}]": metric["field"]},
        ).json()["data"]
        assert (
            int(
                count[0]["count"][metric["field"]]
                if isinstance(count[0]["count"], dict)
                else count[0]["count"]
            )
            == 210
        )
        by = panels["Accountability by authority"]["options"]
        grouped = http.get(
            f"/items/{by['collection']}",
            params={
                f"aggregate[{by['aggregateFunction']}]": by["aggregateField"],
                "groupBy[]": by["groupByField"],
            },
        ).json()["data"]
        assert {g["authority"]: int(g["count"][by["aggregateField"]]) for g in grouped} == {
            "GOV-DOT": 54,
            "GOV-MOIT": 48,
            "GOV-KG-SYS": 48,
            "GOV-COUNCIL": 60,
        }
        listed = http.get("/dashboards", params={"filter[name][_eq]": NAME}).json()["data"]
        assert [d["id"] for d in listed] == [made["id"]]
    assert api.verify(world.settings).ok


def test_rollback_removes_both_and_the_fingerprint_returns_to_the_start(applied):
    world, _, before, _, made = applied
    undone = api.rollback(world.settings)
    assert undone.restored and undone.records_removed == 210
    after = api.status(world.settings)
    assert after.fingerprint == before.fingerprint == world.start_fingerprint
    assert after.gap == 210
    with world.client() as http:
        assert http.get("/items/os_accountability", params={"limit": -1}).json()["data"] == []
        assert http.get(f"/dashboards/{made['id']}").status_code in (403, 404)
        assert http.get("/dashboards", params={"filter[name][_eq]": NAME}).json()["data"] == []
        assert (
            http.get("/panels", params={"filter[dashboard][_eq]": made["id"]}).json()["data"] == []
        )
    assert world.lab.scalar("SELECT COUNT(*) FROM directus_panels") == 0
