"""Make the governance tables Directus collections with SQL, and tell Directus to look again.

With a Directus URL and an admin's token, `govgate init` registers them through Directus's
REST API instead (`api_registration`, from COLLECTIONS and `field_rows` here); the SQL below is
the fallback of `govgate init --sql-registration` (and of the demo, which has no server).

`govgate init` creates the governance tables with SQL. Directus lists such a table at
once but treats it as a bare table until it has a `directus_collections` row; its
`directus_fields` rows carry what Directus does with a column (for
`os_proposal_approvals`: `approved_by` is `user-created`, `approved_at` is
`date-created`, so Directus fills them with the real user and time and overrides
whatever a client sends). `register` writes those rows — only the missing ones, never
changing a row that exists — and, on PostgreSQL, gives Directus's database role access
to the tables govgate just created when govgate runs as another role.

Directus caches its schema: the new collections show up only after
`POST /utils/cache/clear?system` (or a restart). `clear_schema_cache` makes that call to
the configured Directus URL with the configured token (stdlib only, 5 s timeout, no
proxy); a failure becomes a line in the init result, never an error.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import replace
from functools import partial
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..db import schema as s
from ..db.engine import quote
from . import identity
from . import tables as dx
from .collections import COLLECTIONS, REGISTERED, CollectionMeta, field_rows  # noqa: F401

CACHE_CLEAR_PATH = "/utils/cache/clear?system"
TIMEOUT_S = 5.0


def register(
    conn: Connection, created: list[str] | tuple[str, ...] = (), *, rows: bool = True
) -> tuple[str, ...]:
    """Register the governance tables in Directus; returns the collections that got new rows.

    Does nothing (returns ()) on a database without Directus. Inserts only what is
    missing: a `directus_collections` row per table, a `directus_fields` row per
    column, the `directus_relations` row approved_by → directus_users. Existing rows
    are never changed, so an operator's own settings win. CREATED names the tables
    this init has just made: on a PostgreSQL Directus, `approved_by` of a freshly made
    os_proposal_approvals becomes `uuid` (Directus's type for user ids), and when
    govgate runs as another role than Directus's, Directus's role gets access to them.
    ROWS false: only that (what Directus needs before it registers them through its API).
    """
    present = set(sa.inspect(conn).get_table_names())
    if not (identity.is_directus(conn) and {"directus_fields", "directus_collections"} <= present):
        return ()
    if conn.dialect.name == "postgresql":
        _postgres_types(conn, created, present)
        _grant_to_directus(conn, created)
    if not rows:
        return ()
    touched: list[str] = []
    have_collections = {c for (c,) in conn.execute(sa.select(dx.collections.c.collection))}
    have_fields = set(
        conn.execute(
            sa.select(dx.fields.c.collection, dx.fields.c.field).where(
                dx.fields.c.collection.in_(REGISTERED)
            )
        ).all()
    )
    for meta in COLLECTIONS:
        if meta.table not in present:
            continue
        added = False
        if meta.table not in have_collections:
            conn.execute(
                dx.collections.insert().values(
                    collection=meta.table,
                    icon=meta.icon,
                    note=meta.note,
                    display_template=meta.display_template,
                    hidden=False,
                    singleton=False,
                    accountability="all",
                    collapse="open",
                    archive_app_filter=True,
                    versioning=False,
                    status="active",
                )
            )
            added = True
        new_fields = [
            row for row in field_rows(meta) if (row["collection"], row["field"]) not in have_fields
        ]
        if new_fields:
            conn.execute(dx.fields.insert(), new_fields)
            added = True
        if added:
            touched.append(meta.table)
    if (
        "directus_relations" in present
        and s.approvals.name in present
        and _add_approver_relation(conn)
    ):
        if s.approvals.name not in touched:
            touched.insert(0, s.approvals.name)
    return tuple(touched)


def _add_approver_relation(conn: Connection) -> bool:
    r = dx.relations.c
    exists = conn.execute(
        sa.select(r.id).where(r.many_collection == s.approvals.name, r.many_field == "approved_by")
    ).first()
    if exists:
        return False
    conn.execute(
        dx.relations.insert().values(
            many_collection=s.approvals.name,
            many_field="approved_by",
            one_collection="directus_users",
            one_deselect_action="nullify",
        )
    )
    return True


def _postgres_types(conn: Connection, created, present: set[str]) -> None:
    # Only a table this very init made (and so empty), and only on a Directus that ran its own
    # migrations: the demo replica keeps text, which its tests write freely.
    if s.approvals.name not in created or "directus_migrations" not in present:
        return
    conn.execute(
        sa.text(
            "ALTER TABLE os_proposal_approvals "
            "ALTER COLUMN approved_by TYPE uuid USING approved_by::uuid"
        )
    )


def directus_db_role(conn: Connection) -> str | None:
    """PostgreSQL: the role Directus connects as (the owner of its system tables)."""
    return conn.execute(
        sa.text(
            "SELECT tableowner FROM pg_tables WHERE tablename = 'directus_collections' "
            "AND schemaname = current_schema()"
        )
    ).scalar()


def _grant_to_directus(conn: Connection, created) -> None:
    """Give Directus's role access to the tables govgate just created as another role.

    Without it Directus cannot even see them. The governance tables (people write them
    through Directus) get SELECT, INSERT, UPDATE, DELETE; govgate's journals get SELECT
    only, so the app shows them but nobody edits them through Directus.
    """
    role, me = directus_db_role(conn), conn.execute(sa.text("SELECT current_user")).scalar()
    if not role or role == me:
        return
    q = partial(quote, conn)
    for meta in COLLECTIONS:
        if meta.table not in created:
            continue
        privileges = "SELECT, INSERT, UPDATE, DELETE" if meta.directus_writes else "SELECT"
        conn.execute(sa.text(f"GRANT {privileges} ON {q(meta.table)} TO {q(role)}"))
        for column in s.metadata.tables[meta.table].columns:
            seq = conn.execute(
                sa.text("SELECT pg_get_serial_sequence(:t, :c)"),
                {"t": meta.table, "c": column.name},
            ).scalar()
            if seq and meta.directus_writes:
                conn.execute(sa.text(f"GRANT USAGE, SELECT ON SEQUENCE {seq} TO {q(role)}"))


# -- the schema cache ------------------------------------------------------------------


def clear_schema_cache(
    url: str | None, token: str | None, timeout: float = TIMEOUT_S
) -> str | None:
    """POST {url}/utils/cache/clear?system with the token; None when it worked, else why not.

    Only the configured URL is contacted (http or https), never through a proxy.
    """
    if not url:
        return (
            "no Directus URL is configured (GOVGATE_DIRECTUS_URL or [directus] url in govgate.toml)"
        )
    if not token:
        return "no Directus token is configured (GOVGATE_DIRECTUS_TOKEN, an admin's static token)"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"the Directus URL {url!r} is not an http(s) URL"
    request = urllib.request.Request(
        url.rstrip("/") + CACHE_CLEAR_PATH,
        method="POST",
        data=b"",
        headers={"Authorization": f"Bearer {token}"},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as response:
            response.read()
        return None
    except urllib.error.HTTPError as exc:
        return f"Directus answered {exc.code} {_error_text(exc)}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"cannot reach Directus at {url}: {reason}"


def _error_text(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read().decode("utf-8", "replace"))
        return "(" + "; ".join(e.get("message", "") for e in body.get("errors", [])) + ")"
    except Exception:
        return f"({exc.reason})"


def after_init(settings, result):
    """The init result with what became of Directus's schema cache (after the commit).

    Only when init registered something with SQL: Directus then has to reload its schema.
    Through its REST API, Directus cleared it itself (on every node).
    """
    if not result.directus_registered or getattr(result, "registered_via", "") == "api":
        return result
    why_not = clear_schema_cache(settings.directus_url, settings.directus_token)
    if why_not is None:
        note = f"cleared through {settings.directus_url}{CACHE_CLEAR_PATH}"
    else:
        note = (
            f"NOT cleared: {why_not} — the new collections show in Directus after a restart or "
            f"`POST /utils/cache/clear?system` with an admin token"
        )
    return replace(result, directus_cache=note)
