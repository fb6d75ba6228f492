"""`govgate init` on a real Directus 12.4.0: the governance tables become Directus collections.

Also checks that the reference schema (data/directus-12.4.0-schema.json, which the
demo is compared with in tests/test_directus_schema.py) is still what this Directus
creates, and that clearing the schema cache fails softly.
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from govgate.directus import registration as directus_meta

from . import dump_schema as dump
from support.constants import DIRECTUS_SCHEMA

REAL = json.loads(DIRECTUS_SCHEMA.read_text(encoding="utf-8"))


def test_the_reference_schema_is_what_this_directus_creates(directus_lab):
    engine = sa.create_engine(directus_lab.superuser_url)
    try:
        with engine.connect() as conn:
            live = {t: dump.postgres_columns(conn, t) for t in REAL["postgresql"]}
    finally:
        engine.dispose()
    assert live == REAL["postgresql"]


def test_init_registered_the_governance_tables_and_cleared_the_cache(world):
    result = world.init_result
    assert set(result.directus_registered) == set(directus_meta.REGISTERED)
    assert result.directus_cache.startswith("cleared through http://127.0.0.1:")
    with world.client() as http:
        for table in directus_meta.REGISTERED:
            got = http.get(f"/collections/{table}")
            assert got.status_code == 200 and got.json()["data"]["meta"] is not None, table
            # items answer at once: the schema cache was cleared by init
            assert http.get(f"/items/{table}", params={"limit": 1}).status_code == 200, table
        by = http.get("/fields/os_proposal_approvals/approved_by").json()["data"]
        at = http.get("/fields/os_proposal_approvals/approved_at").json()["data"]
        assert by["meta"]["special"] == ["user-created"] and by["type"] == "uuid"
        assert at["meta"]["special"] == ["date-created"] and at["type"] == "timestamp"
        relation = http.get("/relations/os_proposal_approvals/approved_by").json()["data"]
        assert relation["related_collection"] == "directus_users"
        # os_settings and os_outbox are govgate's internals: not collections of the app
        assert http.get("/collections/os_settings").json()["data"]["meta"] is None
        audit = http.get("/items/os_audit", params={"limit": -1}).json()["data"]
        assert len(audit) == world.lab.scalar("SELECT COUNT(*) FROM os_audit")


def test_registration_keeps_within_the_licence(world):
    # 25 collections without a licence key: govgate registers 8 and the app tables made with SQL
    # count not.
    assert (
        world.lab.scalar(
            "SELECT COUNT(*) FROM directus_collections WHERE collection NOT LIKE 'directus_%'"
        )
        == len(directus_meta.REGISTERED)
        <= 20
    )


def test_the_approvals_table_uses_directus_types_on_postgres(world):
    types = dict(
        world.lab.rows(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'os_proposal_approvals'"
        )
    )
    assert types["approved_by"] == "uuid"
    assert types["approved_at"] == "timestamp with time zone"


def test_a_second_init_registers_nothing_and_needs_no_cache_clear(world):
    from govgate import api
    from govgate.config import Settings

    before = world.lab.rows("SELECT * FROM directus_fields ORDER BY id")
    again = api.init(
        Settings(db_url=world.lab.owner_url, directus_url=world.lab.url), actor="operator"
    )
    assert (
        again.directus_registered == ()
        and again.created_tables == ()
        and again.directus_cache == ""
    )
    assert world.lab.rows("SELECT * FROM directus_fields ORDER BY id") == before


@pytest.mark.parametrize(
    "token, expected",
    [("not-a-token", "Directus answered 401"), (None, "no Directus token is configured")],
)
def test_a_cache_clear_that_fails_is_a_warning(directus_lab, token, expected):
    why = directus_meta.clear_schema_cache(directus_lab.url, token)
    assert why is not None and why.startswith(expected), why


def test_clearing_the_cache_with_the_admin_token_works(directus_lab):
    assert directus_meta.clear_schema_cache(directus_lab.url, directus_lab.admin_token) is None
