"""The page answers a poll of an unchanged database from what it computed before (issue 14),
and sees every commit at the next poll, on SQLite, PostgreSQL and MariaDB.

The change marker (db/marker.py) must move with every commit by anyone and stay put
otherwise; the page's kept answers (web/fresh.py) must never outlive a change.

MariaDB's marker is its server-wide redo log position, which the server's own background work
moves too (the next lab's copy, purging it): `_quiet` waits for that to end before a test
counts on the marker staying put. A marker that moves more than needed only costs a
recomputation; these tests hold every backend to the same counts.
"""

from __future__ import annotations

import shutil
import warnings

import pytest

from govgate import api
from govgate.db.marker import ChangeMarker
from govgate.web import app as web_app

from support.labs import ratify
from support.mariadb_labs import wait_until_quiet

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")


SERVERS = [pytest.param("postgres", marks=pytest.mark.postgres),
           pytest.param("mariadb", marks=pytest.mark.mariadb)]  # fmt: skip


def _write_somewhere(lab) -> None:
    # A commit to a table that govgate never reads: the marker must still move.
    lab.execute("CREATE TABLE IF NOT EXISTS unrelated_notes (n INTEGER)")
    lab.execute("INSERT INTO unrelated_notes (n) VALUES (1)")


def _quiet(lab, request) -> None:
    """Until only the test moves the marker (MariaDB's moves with the server's own work)."""
    if lab.backend == "mariadb":
        wait_until_quiet(request.getfixturevalue("mariadb"))


def test_the_change_marker_stays_put_without_a_commit_and_moves_with_each_one(lab, request):
    _quiet(lab, request)
    marker = ChangeMarker(lab.url)
    try:
        first = marker.read()
        assert first is not None
        api.status(lab.settings)  # a reader's transaction commits nothing
        assert marker.read() == first
        _write_somewhere(lab)
        second = marker.read()
        assert second != first
        _quiet(lab, request)  # purging that write moves MariaDB's marker once more
        second = marker.read()
        assert marker.read() == second
        ratify(lab)
        assert marker.read() != second
    finally:
        marker.close()


def test_the_agent_login_reads_the_marker_with_its_own_privileges(lab, request):
    # The page reads the agent's database through the agent's login (least privilege).
    _quiet(lab, request)
    marker = ChangeMarker(lab.settings.agent_url)
    try:
        first = marker.read()
        assert first is not None
        assert marker.read() == first
        ratify(lab)  # the approver's commit
        assert marker.read() != first
    finally:
        marker.close()


def test_a_view_made_or_dropped_moves_the_marker(lab, request):
    # `verify` checks the dashboard views: on MariaDB a view is a file, written without redo.
    _quiet(lab, request)
    marker = ChangeMarker(lab.url)
    try:
        first = marker.read()
        lab.execute("CREATE VIEW os_v_probe AS SELECT code FROM os_authorities")
        second = marker.read()
        assert second != first
        lab.execute("DROP VIEW os_v_probe")
        assert marker.read() != second
    finally:
        marker.close()


@pytest.mark.parametrize("lab", SERVERS, indirect=True)
def test_the_page_sees_a_grant_that_lets_the_agent_forge_at_the_next_poll(lab, request):
    # The gate reads the grants; MariaDB keeps them in Aria tables, which write no InnoDB redo.
    ratify(lab)
    _quiet(lab, request)
    app = web_app.create_app(lab.settings)
    with TestClient(app) as client:
        assert [client.get("/status.json").json()["status"] for _ in range(2)] == ["READY"] * 2
        assert _pages(app).fresh.computed == 1
        lab.execute("GRANT INSERT ON os_proposal_approvals TO govgate_agent")
        try:
            answer = client.get("/status.json").json()
            assert answer["status"] == "BLOCKED"
            assert "agent-can-forge" in {r["code"] for r in answer["reasons"]}
        finally:
            lab.execute("REVOKE INSERT ON os_proposal_approvals FROM govgate_agent")
        assert client.get("/status.json").json()["status"] == "READY"


@pytest.mark.parametrize("lab", [pytest.param("mariadb", marks=pytest.mark.mariadb)], indirect=True)
def test_a_governance_table_on_another_engine_makes_the_page_recompute_every_poll(lab, request):
    # Aria (or MyISAM) writes no InnoDB redo: the LSN would miss its commits.
    _quiet(lab, request)
    owner, agent = ChangeMarker(lab.url), ChangeMarker(lab.settings.agent_url)
    try:
        assert owner.read() is not None  # read once as InnoDB: the conversion must be seen too
        lab.execute("ALTER TABLE os_accountability ENGINE=Aria")
        assert owner.read() is None and agent.read() is None
        assert owner.not_innodb == agent.not_innodb == ("os_accountability",)
        app = web_app.create_app(lab.settings)
        with TestClient(app) as client:
            answers = [client.get("/status.json").json()["status"] for _ in range(3)]
            assert answers == ["BLOCKED"] * 3
            assert _pages(app).fresh.computed == 3
        lab.execute("ALTER TABLE os_accountability ENGINE=InnoDB")
        assert owner.read() is not None
    finally:
        owner.close()
        agent.close()


def test_a_poll_of_an_unchanged_database_is_answered_without_recomputing(lab, request):
    _quiet(lab, request)
    app = web_app.create_app(lab.settings)
    with TestClient(app) as client:
        pages = _pages(app)
        answers = [client.get("/status.json").json() for _ in range(5)]
        assert pages.fresh.computed == 1
        assert {a["status"] for a in answers} == {"BLOCKED"}

        ratify(lab)  # a commit by someone else: the very next poll sees it
        assert client.get("/status.json").json()["status"] == "READY"
        assert pages.fresh.computed == 2

        api.apply(lab.settings)
        assert client.get("/status.json").json()["status"] == "APPLIED"
        assert client.get("/").text.count("APPLIED") >= 1


def test_the_page_recomputes_after_a_commit_to_any_table(lab):
    app = web_app.create_app(lab.settings)
    with TestClient(app) as client:
        client.get("/gap.json")
        _write_somewhere(lab)
        client.get("/gap.json")
        assert _pages(app).fresh.computed == 2


def test_a_sqlite_file_replaced_by_another_is_seen_at_the_next_poll(sqlite_lab, tmp_path):
    # The marker's connection would stay on the old file; the file's identity moves the mark.
    path = sqlite_lab.url.removeprefix("sqlite:///")
    applied = tmp_path / "applied.db"
    ratify(sqlite_lab)
    api.apply(sqlite_lab.settings)
    shutil.copy(path, applied)  # an applied copy...
    app = web_app.create_app(sqlite_lab.settings)
    with TestClient(app) as client:
        assert client.get("/status.json").json()["status"] == "APPLIED"
        api.rollback(sqlite_lab.settings)
        assert client.get("/status.json").json()["status"] != "APPLIED"
        applied.replace(path)  # ...put in its place: a new file, same name
        assert client.get("/status.json").json()["status"] == "APPLIED"


def _pages(app):
    # The endpoints are bound methods of the one _Pages object create_app made.
    for route in app.routes:
        endpoint = getattr(route, "endpoint", None)
        if getattr(endpoint, "__self__", None) is not None:
            return endpoint.__self__
    raise AssertionError("no page object behind the routes")
