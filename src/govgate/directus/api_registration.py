"""`govgate init` registers its collections through Directus's REST API, as an administrator.

Why through the API: Directus then checks what it is asked (the licence's limit on active
collections, its validation of collection and field meta) and clears its own schema cache, on
every node. `registration.register` (SQL) is the fallback: `govgate init --sql-registration`,
and the demo, which has no server.

What Directus 12 accepts for a table it does not manage yet. `GET /collections` lists such a
table with `meta: null`, `GET /fields` each of its columns with `meta: null`; then
- `PATCH /collections/{table}` with `{"meta": {...}}` inserts its directus_collections row
  (status "active": Directus counts it against the licence and refuses it beyond);
- `PATCH /fields/{table}/{column}` with `{"meta": {...}}` inserts the column's directus_fields row;
- `POST /relations` with `related_collection: null`, then `PATCH /relations/{table}/{field}` with
  `{"meta": {"one_collection": "directus_users"}}`, insert the directus_relations row alone.
  `POST /relations` naming the related collection would also ALTER the table to add a foreign
  key, whatever `schema` says: on PostgreSQL only the table's owner may, and on SQLite Directus
  rebuilds the table, which govgate's triggers refuse. The two steps write the row SQL
  registration writes, and no DDL.

Only what is missing is sent; an existing collection, field or relation is never changed (an
operator's own settings win). The caller commits the tables first: Directus sees only those.

Failures: a token that is not an administrator's, and any refusal of Directus (licence limit,
validation), raise `RegistrationRefused` (a `rest.DirectusRefused`: Directus's message and code)
naming what it refused and what was registered before; Directus out of reach raises
`rest.DirectusUnavailable` saying the same. Nothing is reported as registered that was not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..db import schema as s
from ..errors import EnvironmentFault
from ..text import escape
from . import registration, rest

USERS = "directus_users"
# (collection, field, related collection): the m2o relations registration writes
RELATIONS = ((s.approvals.name, "approved_by", USERS),)
_AGAIN = (
    "the tables are created; fix what Directus names and run `govgate init` again: it "
    "registers only what is still missing"
)
HINTS = {
    "FORBIDDEN": "registering collections takes an administrator's static token "
    "(GOVGATE_DIRECTUS_TOKEN); or run `govgate init --sql-registration`, then restart Directus",
    "INVALID_CREDENTIALS": "GOVGATE_DIRECTUS_TOKEN is no Directus user's static token: give an "
    "administrator's (their user page in Directus, Token field)",
    "LIMIT_EXCEEDED": "Directus's licence allows no more active collections: make room (or "
    "extend the licence), then run `govgate init` again",
}


class RegistrationRefused(rest.DirectusRefused):
    """Directus refused (part of) the registration; what it registered before stays registered."""

    def __init__(
        self, message: str, *, code: str, registered: tuple[str, ...] = (), refused: str = ""
    ):
        super().__init__(message, code=code, hint=HINTS.get(code) or rest.HINTS.get(code, _AGAIN))
        self.registered = tuple(registered)
        self.refused = refused

    def to_dict(self) -> dict:
        return {**super().to_dict(), "registered": list(self.registered), "refused": self.refused}


def collection_meta(meta: registration.CollectionMeta) -> dict:
    """The collection's meta, as `registration.register` writes its directus_collections row."""
    return {
        "icon": meta.icon,
        "note": meta.note,
        "display_template": meta.display_template,
        "hidden": False,
        "singleton": False,
        "accountability": "all",
        "collapse": "open",
        "archive_app_filter": True,
        "versioning": False,
        "status": "active",
    }


def field_meta(row: dict) -> dict:
    """A `registration.field_rows` row as a field's meta (`special` is a list in the API)."""
    meta = {k: v for k, v in row.items() if k not in ("collection", "field")}
    meta["special"] = [row["special"]] if row.get("special") else None
    return meta


def _rows(data) -> list[dict]:
    return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []


class _Calls:
    """Directus's REST API, one call at a time; a failure names what was registered before it."""

    def __init__(self, session: rest.Session):
        self.session = session
        self.done: list[str] = []

    def get(self, path: str, what: str) -> list[dict]:
        return _rows(self._call("get", path, None, what))

    def change(self, collection: str, method: str, path: str, body: dict, what: str) -> None:
        self._call(method, path, body, what)
        if collection not in self.done:
            self.done.append(collection)

    def _call(self, method: str, path: str, body: dict | None, what: str):
        args = (path, what) if body is None else (path, body, what)
        try:
            return getattr(self.session, method)(*args)
        except rest.DirectusRefused as exc:
            raise RegistrationRefused(
                f"{exc.message}; {self.so_far()}", code=exc.code, registered=self.done,
                refused=what,
            ) from None  # fmt: skip
        except rest.DirectusUnavailable as exc:
            raise rest.DirectusUnavailable(f"{exc.message}; {self.so_far()}", hint=_AGAIN) from None

    def so_far(self) -> str:
        return "govgate's tables are created; registered in Directus: " + (
            ", ".join(self.done) or "nothing"
        )

    def require_admin(self) -> None:
        """Raise RegistrationRefused (FORBIDDEN) unless the token's user has admin access."""
        mine = self._call("get", "/policies/me/globals", None, "reading your access")
        if not (isinstance(mine, dict) and mine.get("admin_access") is True):
            raise RegistrationRefused(
                f"Directus at {escape(self.session.url)}: the token's user has no admin access, "
                f"and only an administrator can register collections; {self.so_far()}",
                code="FORBIDDEN",
                refused="every collection",
            )


def columns(conn: Connection) -> dict[str, set[str]]:
    """The governance tables the database holds, each with its columns (read before the commit)."""
    inspector = sa.inspect(conn)
    names = set(inspector.get_table_names())
    return {
        m.table: {c["name"] for c in inspector.get_columns(m.table)}
        for m in registration.COLLECTIONS
        if m.table in names
    }


def register(session: rest.Session, tables: Mapping[str, set[str]]) -> tuple[str, ...]:
    """Register in Directus the governance TABLES (name -> the columns the database holds) that
    it does not manage yet, their fields and the approver relation; returns the collections
    that got something, in registration.COLLECTIONS' order.

    A field counts as missing when Directus lists it without meta or not at all: for a table
    made moments ago Directus may still list the columns it cached before (CACHE_SCHEMA).
    """
    wanted = [m for m in registration.COLLECTIONS if m.table in tables]
    if not wanted:
        return ()
    api = _Calls(session)
    api.require_admin()
    listed = {
        c.get("collection"): c.get("meta")
        for c in api.get("/collections", "listing the collections")
    }
    unseen = [m.table for m in wanted if m.table not in listed]
    if unseen:
        raise EnvironmentFault(
            f"Directus at {escape(session.url)} does not list {', '.join(unseen)}, which "
            f"govgate's database holds; {api.so_far()}",
            hint="check that GOVGATE_DIRECTUS_URL is the Directus of this database (and that "
            "DB_EXCLUDE_TABLES does not hide them)",
        )
    fields = {
        (f.get("collection"), f.get("field")): f.get("meta")
        for f in api.get("/fields", "listing the fields")
    }
    relations = {
        (r.get("collection"), r.get("field")): r
        for r in (api.get("/relations", "listing the relations") if _relating(wanted) else ())
    }
    seg = rest.segment
    for meta in wanted:
        t = meta.table
        if listed[t] is None:
            body = {"meta": collection_meta(meta)}
            api.change(
                t, "patch", f"/collections/{seg(t)}", body, f"registering the collection {t}"
            )
        for row in registration.field_rows(meta):
            f = row["field"]
            if f in tables[t] and fields.get((t, f)) is None:
                body, what = {"meta": field_meta(row)}, f"registering the field {t}.{f}"
                api.change(t, "patch", f"/fields/{seg(t)}/{seg(f)}", body, what)
        _relations(api, t, tables[t], relations)
    return tuple(api.done)


def _relating(wanted) -> bool:
    return any(r[0] == m.table for r in RELATIONS for m in wanted)


def _relations(api: _Calls, table: str, columns: set[str], existing: dict) -> None:
    """TABLE's m2o relations of RELATIONS that Directus lacks (only its directus_relations row).

    One that exists is left as it is, except govgate's own half-made one (POSTed without its
    related collection, the PATCH that names it refused): that one gets its related collection.
    """
    todo = [r for r in RELATIONS if r[0] == table and r[1] in columns]
    for collection, field, related in todo:
        what = f"registering the relation {collection}.{field} → {related}"
        path = f"/relations/{rest.segment(collection)}/{rest.segment(field)}"
        name = {"meta": {"one_collection": related}}
        found = existing.get((collection, field))
        if found is None:
            body = {"collection": collection, "field": field, "related_collection": None}
            body["meta"] = {"one_deselect_action": "nullify"}
            api.change(collection, "post", "/relations", body, what)
            api.change(collection, "patch", path, name, what)
        elif found.get("meta") is None:  # a foreign key Directus found, without its row
            body = {"meta": {"one_deselect_action": "nullify"}}
            api.change(collection, "patch", path, body, what)
        elif not found.get("related_collection") and not found["meta"].get("one_collection"):
            api.change(collection, "patch", path, name, what)


def after_init(settings, result, tables: Mapping[str, set[str]]):
    """The init result once registered through the REST API (after init's commit).

    `result.registered_via` is "api": the settings carry Directus's URL and token. Directus
    cleared its schema cache itself with every change, so nothing is left to clear.
    """
    session = rest.Session(settings.directus_url, settings.directus_token)
    return replace(result, directus_registered=register(session, tables))
