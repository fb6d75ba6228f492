"""The page answers a poll of an unchanged database from what it computed before (issue 14),
and sees every commit at the next poll, on SQLite and on PostgreSQL.

The change marker (db/marker.py) must move with every commit by anyone and stay put
otherwise; the page's kept answers (web/fresh.py) must never outlive a change.
"""

from __future__ import annotations

import shutil
import warnings

import pytest

from govgate import api
from govgate.db.marker import ChangeMarker
from govgate.web import app as web_app

from support.labs import ratify

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")


def _write_somewhere(lab) -> None:
    # A commit to a table that govgate never reads: the marker must still move.
    lab.execute("CREATE TABLE IF NOT EXISTS unrelated_notes (n INTEGER)")
    lab.execute("INSERT INTO unrelated_notes (n) VALUES (1)")


def test_the_change_marker_stays_put_without_a_commit_and_moves_with_each_one(lab):
    marker = ChangeMarker(lab.url)
    try:
        first = marker.read()
        if lab.backend == "mariadb":  # no such value there: the page always recomputes
            assert first is None
            return
        api.status(lab.settings)  # a reader's transaction commits nothing
        assert marker.read() == first
        _write_somewhere(lab)
        second = marker.read()
        assert second != first
        assert marker.read() == second
        ratify(lab)
        assert marker.read() != second
    finally:
        marker.close()


def test_a_poll_of_an_unchanged_database_is_answered_without_recomputing(lab):
    app = web_app.create_app(lab.settings)
    with TestClient(app) as client:
        pages = _pages(app)
        answers = [client.get("/status.json").json() for _ in range(5)]
        assert pages.fresh.computed == (5 if lab.backend == "mariadb" else 1)
        assert {a["status"] for a in answers} == {"BLOCKED"}

        ratify(lab)  # a commit by someone else: the very next poll sees it
        assert client.get("/status.json").json()["status"] == "READY"
        assert pages.fresh.computed == (6 if lab.backend == "mariadb" else 2)

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
