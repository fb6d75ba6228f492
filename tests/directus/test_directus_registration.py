"""`govgate init` on a real Directus 12.4.0: the governance tables become Directus collections,
through Directus's REST API with an admin's token (the world's set-up does it).

A token that is not an admin's, and Directus refusing midway (its licence's limit of active
collections, on a fresh SQLite Directus), are errors that say what was registered and what was
refused; a second init leaves an operator's own settings alone. Also checks that the
reference schema (data/directus-12.4.0-schema.json, which the demo is compared with in
tests/test_directus_schema.py) is still what this Directus creates, and that clearing the
schema cache (after `init --sql-registration`) fails softly.
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from govgate import api
from govgate.config import Settings
from govgate.directus import api_registration
from govgate.directus import registration as directus_meta

from . import dump_schema as dump
from .dlab import APPROVER_EMAIL, ok
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


def _operator(lab, token: str | None = None) -> Settings:
    return Settings(
        db_url=lab.owner_url, directus_url=lab.url, directus_token=token or lab.admin_token
    )


def test_init_registered_the_governance_tables_through_the_rest_api(world):
    result = world.init_result
    assert result.registered_via == "api"
    assert result.directus_registered == directus_meta.REGISTERED
    assert result.directus_cache == ""  # Directus cleared its schema cache itself
    with world.client() as http:
        for table in directus_meta.REGISTERED:
            got = http.get(f"/collections/{table}")
            assert got.status_code == 200 and got.json()["data"]["meta"] is not None, table
            # items answer at once: Directus cleared its schema cache with each change
            assert http.get(f"/items/{table}", params={"limit": 1}).status_code == 200, table
        by = http.get("/fields/os_proposal_approvals/approved_by").json()["data"]
        at = http.get("/fields/os_proposal_approvals/approved_at").json()["data"]
        assert by["meta"]["special"] == ["user-created"] and by["type"] == "uuid"
        assert at["meta"]["special"] == ["date-created"] and at["type"] == "timestamp"
        relation = http.get("/relations/os_proposal_approvals/approved_by").json()["data"]
        assert relation["related_collection"] == "directus_users"
        assert relation["schema"] is None  # its directus_relations row only: no foreign key
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


def test_every_collection_and_field_has_the_meta_sql_registration_would_write(world):
    with world.client() as http:
        collections = {c["collection"]: c["meta"] for c in ok(http.get("/collections"))}
        fields = {(f["collection"], f["field"]): f["meta"] for f in ok(http.get("/fields"))}
    for meta in directus_meta.COLLECTIONS:
        expected = api_registration.collection_meta(meta)
        got = collections[meta.table]
        assert {k: got[k] for k in expected} == expected, meta.table
        for row in directus_meta.field_rows(meta):
            want = api_registration.field_meta(row)
            got = fields[meta.table, row["field"]]
            assert got is not None, (meta.table, row["field"])
            assert {k: got[k] for k in want} == want, (meta.table, row["field"])
    assert fields["os_proposal_approvals", "approved_by"]["special"] == ["user-created"]
    assert fields["os_proposal_approvals", "approved_at"]["special"] == ["date-created"]
    assert fields["os_audit", "kind"]["readonly"] is True  # govgate's journals: read-only


def test_a_second_init_registers_nothing_and_needs_no_cache_clear(world):
    before = world.lab.rows("SELECT * FROM directus_fields ORDER BY id")
    again = api.init(_operator(world.lab), actor="operator")
    assert (
        again.registered_via == "api"
        and again.directus_registered == ()
        and again.created_tables == ()
        and again.directus_cache == ""
    )
    assert world.lab.rows("SELECT * FROM directus_fields ORDER BY id") == before


def test_a_second_init_keeps_an_operators_settings_and_adds_only_what_is_missing(world):
    duties = next(m for m in directus_meta.COLLECTIONS if m.table == "os_duties")
    title = next(r for r in directus_meta.field_rows(duties) if r["field"] == "title")
    with world.client() as http:
        ok(http.patch("/collections/os_duties", json={"meta": {"icon": "star", "note": "mine"}}))
        ok(http.patch("/fields/os_duties/title", json={"meta": {"note": "operator note"}}))
    world.lab.execute(
        "DELETE FROM directus_fields WHERE collection = 'os_duties' AND field = 'code'"
    )
    try:
        again = api.init(_operator(world.lab), actor="operator")
        assert again.directus_registered == ("os_duties",)  # its one missing field
        with world.client() as http:
            got = ok(http.get("/collections/os_duties"))["meta"]
            assert (got["icon"], got["note"]) == ("star", "mine")
            assert ok(http.get("/fields/os_duties/title"))["meta"]["note"] == "operator note"
            code = ok(http.get("/fields/os_duties/code"))["meta"]
            assert code is not None and code["sort"] == 1
    finally:
        with world.client() as http:
            body = {"meta": {"icon": duties.icon, "note": duties.note}}
            ok(http.patch("/collections/os_duties", json=body))
            ok(http.patch("/fields/os_duties/title", json={"meta": {"note": title["note"]}}))


@pytest.mark.parametrize("who", ["approver", "nobody"])
def test_a_token_that_is_not_an_admins_is_refused_and_registers_nothing(
    world, who, gg, monkeypatch
):
    token = world.tokens[APPROVER_EMAIL] if who == "approver" else "not-a-token"
    before = world.lab.rows("SELECT * FROM directus_fields ORDER BY id")
    with pytest.raises(api_registration.RegistrationRefused) as caught:
        api.init(_operator(world.lab, token), actor="operator")
    refused = caught.value
    assert refused.code == ("FORBIDDEN" if who == "approver" else "INVALID_CREDENTIALS")
    assert refused.registered == () and "registered in Directus: nothing" in refused.message
    assert token not in refused.message
    assert world.lab.rows("SELECT * FROM directus_fields ORDER BY id") == before
    monkeypatch.setenv("GOVGATE_DIRECTUS_URL", world.lab.url)
    monkeypatch.setenv("GOVGATE_DIRECTUS_TOKEN", token)
    run = gg("--db", world.lab.owner_url, "init")
    assert run.code == 1, run.err
    assert ("no admin access" if who == "approver" else "INVALID_CREDENTIALS") in run.err


@pytest.mark.parametrize(
    "token, expected",
    [("not-a-token", "Directus answered 401"), (None, "no Directus token is configured")],
)
def test_a_cache_clear_that_fails_is_a_warning(directus_lab, token, expected):
    why = directus_meta.clear_schema_cache(directus_lab.url, token)
    assert why is not None and why.startswith(expected), why


def test_clearing_the_cache_with_the_admin_token_works(directus_lab):
    assert directus_meta.clear_schema_cache(directus_lab.url, directus_lab.admin_token) is None


LICENCE_LIMIT = 25  # active collections Directus 12 allows without a licence key


def test_directus_refusing_midway_is_an_error_naming_what_was_registered(directus_sqlite_lab):
    """A fresh Directus (SQLite) with room for three more active collections: init registers
    three, Directus refuses the fourth (LIMIT_EXCEEDED); with room made, init registers the rest.
    """
    lab = directus_sqlite_lab
    with lab.client() as http:
        active = [
            c
            for c in ok(http.get("/collections"))
            if c["meta"] and c["meta"].get("status") == "active"
            and not c["collection"].startswith("directus_")
        ]  # fmt: skip
        fillers = [f"x_filler_{i:02}" for i in range(LICENCE_LIMIT - len(active) - 3)]
        for name in fillers:
            lab.execute(f"CREATE TABLE {name} (id integer PRIMARY KEY)", url=lab.owner_url)
        for name in fillers:
            ok(http.patch(f"/collections/{name}", json={"meta": {"status": "active"}}))

    with pytest.raises(api_registration.RegistrationRefused) as caught:
        api.init(_operator(lab), actor="operator")
    refused, done = caught.value, directus_meta.REGISTERED[:3]
    assert refused.code == "LIMIT_EXCEEDED", refused.message
    assert refused.registered == done
    assert refused.refused == f"registering the collection {directus_meta.REGISTERED[3]}"
    assert "limit exceeded" in refused.message and ", ".join(done) in refused.message
    assert "licence" in refused.hint
    with lab.client() as http:
        metas = {c["collection"]: c["meta"] for c in ok(http.get("/collections"))}
        assert all(metas[t] for t in done)
        assert not any(metas[t] for t in directus_meta.REGISTERED[3:])  # tables, unregistered
        for name in fillers:  # make room
            ok(http.patch(f"/collections/{name}", json={"meta": {"status": "inactive"}}))

    again = api.init(_operator(lab), actor="operator")
    assert again.registered_via == "api" and again.created_tables == ()
    assert again.directus_registered == directus_meta.REGISTERED[3:]
    with lab.client() as http:
        metas = {c["collection"]: c["meta"] for c in ok(http.get("/collections"))}
        assert all(metas[t] for t in directus_meta.REGISTERED)
        relation = ok(http.get("/relations/os_proposal_approvals/approved_by"))
        assert relation["related_collection"] == "directus_users" and relation["schema"] is None
    # No DDL on the approvals table: SQLite would have rebuilt it, without govgate's triggers.
    triggers = lab.rows(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' "
        "AND tbl_name = 'os_proposal_approvals'",
        url=lab.owner_url,
    )
    assert {"os_approvals_custody_update", "os_approvals_custody_delete"} <= {
        t for (t,) in triggers
    }
