"""`govgate init`: create what is missing, never alter what exists."""

from __future__ import annotations

from dataclasses import dataclass, replace

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..db import audit, custody, evidence, migrate
from ..db import schema as s
from ..db import wakeup as notify
from ..db.engine import is_sqlite, quote, view_names
from ..db.mysql import is_mysql
from ..directus import identity
from ..directus import registration as directus_meta
from ..errors import BadInput


@dataclass(frozen=True)
class InitResult:
    created_tables: tuple[str, ...]
    created_settings: tuple[str, ...]
    schema_version: str
    directus_registered: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    directus_cache: str = ""  # what became of Directus's schema cache (directus_meta.after_init)
    registered_via: str = ""  # how init registers in Directus: VIA_API, VIA_SQL, "" (no Directus)


VIA_API, VIA_SQL = "api", "sql"


def registration_way(conn: Connection, settings, *, sql_registration: bool = False) -> str:
    """How init registers its collections: VIA_SQL (asked for), VIA_API (URL and token set),
    "" when the database is not Directus's. BadInput on a Directus database without either;
    call it before writing anything.
    """
    if not identity.is_directus(conn):
        return ""
    if sql_registration:
        return VIA_SQL
    if settings.directus_url and settings.directus_token:
        return VIA_API
    lacking = [
        name
        for name, value in (
            ("GOVGATE_DIRECTUS_URL", settings.directus_url),
            ("GOVGATE_DIRECTUS_TOKEN", settings.directus_token),
        )
        if not value
    ]
    raise BadInput(
        "this is a Directus database, and init registers the governance tables in it: through "
        "Directus's REST API, which takes its URL and an admin's static token ("
        + " and ".join(lacking)
        + (" are" if len(lacking) > 1 else " is")
        + " not set), or with SQL when asked to (--sql-registration)",
        hint="set GOVGATE_DIRECTUS_URL (or [directus] url) and GOVGATE_DIRECTUS_TOKEN (an "
        "administrator's static token), or run `govgate init --sql-registration` and restart "
        "Directus afterwards",
    )


def create_missing(conn: Connection, actor: str, *, register_via: str = "") -> InitResult:
    """Create the governance and journal tables that are absent and the default settings.

    Idempotent: existing tables and rows are left exactly as they are. Audits an
    `init` event only when something was created. REGISTER_VIA (see `registration_way`):
    VIA_SQL writes Directus's rows for them here; VIA_API only prepares the database (types,
    grants) for the caller to register them through the REST API once this is committed;
    "" registers nothing.
    """
    present = set(sa.inspect(conn).get_table_names())
    # A database govgate already journals in is migrated by `govgate upgrade`, not here:
    # init never gives an older journal the tables of a newer revision.
    fresh = custody.revision(conn) is None
    wanted = s.ALL_TABLES + (s.LATER_TABLES if fresh else ())
    missing = [t for t in wanted if t not in present]
    s.metadata.create_all(conn, tables=[s.metadata.tables[t] for t in missing])
    if fresh:
        custody.install(conn)
        evidence.install(conn)
        migrate.stamp_head(conn)
    # PostgreSQL: the trigger that wakes the agent on a new approval; no rows touched
    notify.install(conn)
    if is_mysql(conn):
        _create_views(conn)
    # Directus: show them in the app (missing rows only), or get them ready for its API
    registered = ()
    if register_via in (VIA_SQL, VIA_API):
        registered = directus_meta.register(conn, missing, rows=register_via == VIA_SQL)
    have = {k for (k,) in conn.execute(sa.select(s.settings.c.key))}
    new_settings = [k for k in s.DEFAULT_SETTINGS if k not in have]
    if new_settings:
        conn.execute(
            s.settings.insert(), [{"key": k, "value": s.DEFAULT_SETTINGS[k]} for k in new_settings]
        )
    if fresh and evidence.ensure_database_id(conn):  # older journals get theirs from upgrade
        new_settings.append(s.DATABASE_ID)
    if missing or new_settings:
        audit.append(
            conn,
            audit.Kind.INIT,
            actor,
            detail={"created_tables": missing, "created_settings": new_settings},
        )
    version = conn.execute(
        sa.select(s.settings.c.value).where(s.settings.c.key == "schema_version")
    ).scalar()
    return InitResult(
        tuple(missing), tuple(new_settings), version or "", registered, registered_via=register_via
    )


def _create_views(conn: Connection) -> None:
    """MySQL and MariaDB: the dashboard views, made here because any DDL inside the rollout's
    transaction would commit it halfway. They depend on no data, so a rollout needs nothing
    more; missing ones are created, existing ones (an operator's own) left as they are."""
    existing = view_names(conn)
    for name, select in s.VIEWS.items():
        if name not in existing:
            conn.execute(sa.text(f"CREATE VIEW {quote(conn, name)} AS {select}"))


AGENT_ROLE = "govgate_agent"
APPROVER_ROLE = "govgate_approver"

# What each role may do, table by table; everything else is denied by default.
# Both read the governance state, the journal and who is who on Directus.
_BOTH_READ = (
    "os_authorities", "os_governed_collections", "os_duties", "os_proposal_approvals",
    "os_approval_uses", "os_approval_signatures", "os_alembic_version", "os_proposals",
    "os_settings",
    "os_accountability", "os_rollouts", "os_audit", "os_agent_heartbeats", "directus_users",
    "directus_access",
    "directus_policies", "directus_roles", "directus_permissions", "directus_collections",
)  # fmt: skip
_AGENT_GRANTS = (
    ("SELECT", (*_BOTH_READ, "os_outbox", "directus_activity", "directus_dashboards",
                "directus_panels")),
    ("INSERT, DELETE", ("os_accountability", "directus_dashboards", "directus_panels")),
    ("INSERT, UPDATE", ("os_rollouts", "os_agent_heartbeats")),  # heartbeats: liveness only
    ("INSERT", ("os_approval_uses",)),  # the co-approvals a rollout used (checked by trigger)
)  # fmt: skip
# The approver is a person: approvals and their signatures. Never Directus's own records:
# on Directus, `govgate ratify` goes through its REST API and Directus writes them.
_APPROVER_GRANTS = (
    ("SELECT", _BOTH_READ),
    ("INSERT", ("os_proposal_approvals", "os_approval_signatures")),
)


def create_roles(conn: Connection, result: InitResult) -> InitResult:
    """Create (or re-grant) the least-privilege roles on PostgreSQL, MySQL and MariaDB.

    `govgate_agent` reads the governance tables, writes only what a rollout may
    write, and can never write approvals. `govgate_approver` may insert approvals.
    Both are NOLOGIN: grant them to the login users. Raises BadInput on SQLite.
    """
    if is_sqlite(conn):
        raise BadInput("SQLite has no database roles", hint="run `govgate init` without --roles")
    names = set(sa.inspect(conn).get_table_names())
    if is_mysql(conn):
        _create_mysql_roles(conn, names)
        return replace(result, roles=(AGENT_ROLE, APPROVER_ROLE))
    for role, table_grants in ((AGENT_ROLE, _AGENT_GRANTS), (APPROVER_ROLE, _APPROVER_GRANTS)):
        conn.execute(
            sa.text(
                f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') "
                f"THEN CREATE ROLE {role} NOLOGIN; END IF; END $$"
            )
        )
        conn.execute(sa.text(f"GRANT USAGE ON SCHEMA public TO {role}"))
        for privileges, tables in table_grants:
            present = [quote(conn, t) for t in tables if t in names]
            if present:
                conn.execute(sa.text(f"GRANT {privileges} ON {', '.join(present)} TO {role}"))
    # Views are created and dropped by the rollout, and the id sequence feeds its inserts.
    conn.execute(sa.text(f"GRANT CREATE ON SCHEMA public TO {AGENT_ROLE}"))
    for role in (AGENT_ROLE, APPROVER_ROLE):
        conn.execute(sa.text(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}"))
    conn.execute(
        sa.text(
            f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON os_proposal_approvals FROM {AGENT_ROLE}"
        )
    )
    if custody.appends_through_function(conn):
        custody.grant_append(conn, (AGENT_ROLE, APPROVER_ROLE))
    if "directus_activity" in names:  # grants of older versions of govgate
        conn.execute(
            sa.text(f"REVOKE ALL ON directus_activity, directus_revisions FROM {APPROVER_ROLE}")
        )
    return replace(result, roles=(AGENT_ROLE, APPROVER_ROLE))


# MySQL and MariaDB: no sequences and no append function. Both roles append audit rows with
# INSERT alone (a trigger keeps the chain linear); both read the views that `init` made,
# without which a listing of the database would not show them to the agent.
_MYSQL_EXTRA = {
    AGENT_ROLE: (("INSERT", ("os_audit",)), ("SELECT", tuple(s.VIEWS))),
    APPROVER_ROLE: (("INSERT", ("os_audit",)), ("SELECT", tuple(s.VIEWS))),
}
# Error numbers of a REVOKE of what was never granted: nothing to take away.
_NO_SUCH_GRANT = (1141, 1147)


def _create_mysql_roles(conn: Connection, names: set[str]) -> None:
    """Roles and table-level grants in this database (each statement commits: DDL)."""
    names = names | view_names(conn)
    for role, table_grants in ((AGENT_ROLE, _AGENT_GRANTS), (APPROVER_ROLE, _APPROVER_GRANTS)):
        conn.execute(sa.text(f"CREATE ROLE IF NOT EXISTS {role}"))
        for privileges, tables in (*table_grants, *_MYSQL_EXTRA[role]):
            for table in tables:  # MySQL grants one table per statement
                if table in names:
                    conn.execute(sa.text(f"GRANT {privileges} ON {quote(conn, table)} TO {role}"))
    # A role that an older set-up let write approvals loses it: the agent never may.
    try:
        conn.execute(
            sa.text(f"REVOKE INSERT, UPDATE, DELETE ON os_proposal_approvals FROM {AGENT_ROLE}")
        )
    except sa.exc.DBAPIError as exc:
        if getattr(exc.orig, "args", (None,))[0] not in _NO_SUCH_GRANT:
            raise
