"""The embedded default: `govgate demo` builds One-Roof, and the gate says BLOCKED, gap 210.

That the demo has the same fingerprint on both backends is in test_fingerprint.py; that its
Directus tables are Directus's own is in test_directus_schema.py.
"""

from __future__ import annotations

import json

import pytest

from govgate import api

from support.constants import PROPOSAL
from support.labs import agent_args


def test_demo_then_status_is_blocked_with_a_gap_of_210(lab, gg):
    result = gg(*agent_args(lab), "status", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["status"] == "BLOCKED"
    assert data["gap"] == 210
    assert data["proposal"] == PROPOSAL
    assert any(r["code"] == "no-approval" for r in data["reasons"])


def test_demo_holds_the_one_roof_content(lab):
    assert lab.scalar("SELECT COUNT(*) FROM os_governed_collections") == 35
    assert lab.scalar("SELECT COUNT(DISTINCT domain) FROM os_governed_collections") == 4
    assert lab.scalar("SELECT COUNT(*) FROM os_authorities") == 4
    assert lab.scalar("SELECT COUNT(*) FROM os_duties") == 6
    assert lab.scalar("SELECT COUNT(*) FROM os_proposal_approvals") == 0
    assert lab.scalar("SELECT COUNT(*) FROM os_accountability") == 0
    assert (
        lab.scalar("SELECT value FROM os_settings WHERE os_settings.key = 'external_emission'")
        == "off"
    )
    for table in ("billing_invoices", "signoff_requests", "law_documents"):
        assert lab.scalar(f"SELECT COUNT(*) FROM {table}") > 0
    for table in ("transport_routes", "it_systems", "kg_entities", "citizen_feedback"):
        assert lab.scalar(f"SELECT COUNT(*) FROM {table}") > 0
    assert lab.scalar("SELECT COUNT(*) FROM os_proposals") == 1


def test_demo_gap_is_210_split_by_authority_domain_and_collection(lab):
    report = api.gap(lab.settings)
    assert report.total == 210
    assert sum(report.by_authority.values()) == 210
    assert set(report.by_authority) == {"GOV-COUNCIL", "GOV-KG-SYS", "GOV-DOT", "GOV-MOIT"}
    assert sum(report.by_domain.values()) == 210 and len(report.by_domain) == 4
    assert len(report.by_collection) == 35
    assert all(len(duties) == 6 for duties in report.by_collection.values())


def test_demo_command_builds_a_file_and_rebuilds_its_own_demo(tmp_path, gg):
    path = tmp_path / "demo.db"
    first = gg("demo", str(path))
    assert first.code == 0, first.err
    assert PROPOSAL in first.out
    again = gg("demo", str(path))
    assert again.code == 0, again.err
    status = gg("--db", f"sqlite:///{path}", "status")
    assert status.out.strip() == "BLOCKED"


def test_demo_refuses_to_overwrite_a_file_that_is_not_a_demo(tmp_path, gg):
    path = tmp_path / "precious.db"
    import sqlite3

    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY)")
        conn.execute("INSERT INTO customers VALUES (1)")
    result = gg("demo", str(path))
    assert result.code == 2
    assert "not a govgate demo" in result.err
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM customers").fetchone() == (1,)


@pytest.mark.postgres
def test_demo_refuses_a_postgres_database_that_already_holds_tables(pg, pg_template, gg):
    result = gg("--db", pg.url(pg_template), "demo")
    assert result.code == 2
    assert "already holds" in result.err
