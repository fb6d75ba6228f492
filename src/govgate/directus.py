"""The Directus system tables govgate reads or writes, as Directus 12 creates them.

Only these tables matter to govgate: collections/fields (registering the
governance tables), users/roles/policies/access/permissions (who may write
approvals), activity/revisions (who really created an approval), and
dashboards/panels (the Insights dashboard a rollout creates).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

metadata = sa.MetaData()

_uuid = lambda name, **kw: sa.Column(name, sa.Uuid(as_uuid=False), **kw)  # noqa: E731
_ts = lambda name, **kw: sa.Column(name, sa.DateTime(timezone=True), **kw)  # noqa: E731

collections = sa.Table(
    "directus_collections", metadata,
    sa.Column("collection", sa.String(64), primary_key=True),
    sa.Column("icon", sa.String(64)),
    sa.Column("note", sa.Text),
    sa.Column("display_template", sa.String(255)),
    sa.Column("hidden", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("singleton", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("translations", sa.JSON),
    sa.Column("archive_field", sa.String(64)),
    sa.Column("archive_app_filter", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("archive_value", sa.String(255)),
    sa.Column("unarchive_value", sa.String(255)),
    sa.Column("sort_field", sa.String(64)),
    sa.Column("accountability", sa.String(255), server_default="all"),
    sa.Column("color", sa.String(255)),
    sa.Column("item_duplication_fields", sa.JSON),
    sa.Column("sort", sa.Integer),
    sa.Column("group", sa.String(64)),
    sa.Column("collapse", sa.String(255), nullable=False, server_default="open"),
    sa.Column("preview_url", sa.String(255)),
    sa.Column("versioning", sa.Boolean, nullable=False, server_default=sa.false()),
)

fields = sa.Table(
    "directus_fields", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("collection", sa.String(64), nullable=False),
    sa.Column("field", sa.String(64), nullable=False),
    sa.Column("special", sa.String(64)),
    sa.Column("interface", sa.String(64)),
    sa.Column("options", sa.JSON),
    sa.Column("display", sa.String(64)),
    sa.Column("display_options", sa.JSON),
    sa.Column("readonly", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("hidden", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("sort", sa.Integer),
    sa.Column("width", sa.String(30), server_default="full"),
    sa.Column("translations", sa.JSON),
    sa.Column("note", sa.Text),
    sa.Column("conditions", sa.JSON),
    sa.Column("required", sa.Boolean, server_default=sa.false()),
    sa.Column("group", sa.String(64)),
    sa.Column("validation", sa.JSON),
    sa.Column("validation_message", sa.Text),
    sa.Column("searchable", sa.Boolean, nullable=False, server_default=sa.true()),
)

roles = sa.Table(
    "directus_roles", metadata,
    _uuid("id", primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("icon", sa.String(64), nullable=False, server_default="supervised_user_circle"),
    sa.Column("description", sa.Text),
    _uuid("parent"),
)

users = sa.Table(
    "directus_users", metadata,
    _uuid("id", primary_key=True),
    sa.Column("first_name", sa.String(50)),
    sa.Column("last_name", sa.String(50)),
    sa.Column("email", sa.String(128), unique=True),
    sa.Column("password", sa.String(255)),
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    _uuid("role"),
    sa.Column("token", sa.String(255), unique=True),
)

policies = sa.Table(
    "directus_policies", metadata,
    _uuid("id", primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("icon", sa.String(64), nullable=False, server_default="badge"),
    sa.Column("description", sa.Text),
    sa.Column("ip_access", sa.Text),
    sa.Column("enforce_tfa", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("admin_access", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("app_access", sa.Boolean, nullable=False, server_default=sa.false()),
)

access = sa.Table(
    "directus_access", metadata,
    _uuid("id", primary_key=True),
    _uuid("role"),
    _uuid("user"),
    _uuid("policy", nullable=False),
    sa.Column("sort", sa.Integer),
)

permissions = sa.Table(
    "directus_permissions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("collection", sa.String(64), nullable=False),
    sa.Column("action", sa.String(10), nullable=False),
    sa.Column("permissions", sa.JSON),
    sa.Column("validation", sa.JSON),
    sa.Column("presets", sa.JSON),
    sa.Column("fields", sa.Text),
    _uuid("policy", nullable=False),
)

activity = sa.Table(
    "directus_activity", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("action", sa.String(45), nullable=False),
    _uuid("user"),
    _ts("timestamp", nullable=False, server_default=sa.func.current_timestamp()),
    sa.Column("ip", sa.String(50)),
    sa.Column("user_agent", sa.Text),
    sa.Column("collection", sa.String(64), nullable=False),
    sa.Column("item", sa.String(255), nullable=False),
    sa.Column("origin", sa.String(255)),
)

revisions = sa.Table(
    "directus_revisions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("activity", sa.Integer, nullable=False),
    sa.Column("collection", sa.String(64), nullable=False),
    sa.Column("item", sa.String(255), nullable=False),
    sa.Column("data", sa.JSON),
    sa.Column("delta", sa.JSON),
    sa.Column("parent", sa.Integer),
    _uuid("version"),
)

dashboards = sa.Table(
    "directus_dashboards", metadata,
    _uuid("id", primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("icon", sa.String(64), nullable=False, server_default="dashboard"),
    sa.Column("note", sa.Text),
    _ts("date_created", server_default=sa.func.current_timestamp()),
    _uuid("user_created"),
    sa.Column("color", sa.String(255)),
)

panels = sa.Table(
    "directus_panels", metadata,
    _uuid("id", primary_key=True),
    _uuid("dashboard", nullable=False),
    sa.Column("name", sa.String(255)),
    sa.Column("icon", sa.String(64)),
    sa.Column("color", sa.String(10)),
    sa.Column("show_header", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("note", sa.Text),
    sa.Column("type", sa.String(255), nullable=False),
    sa.Column("position_x", sa.Integer, nullable=False),
    sa.Column("position_y", sa.Integer, nullable=False),
    sa.Column("width", sa.Integer, nullable=False),
    sa.Column("height", sa.Integer, nullable=False),
    sa.Column("options", sa.JSON),
    _ts("date_created", server_default=sa.func.current_timestamp()),
    _uuid("user_created"),
)

TABLES = tuple(metadata.tables)


def is_directus(conn: Connection) -> bool:
    """True when the database holds Directus's system tables."""
    names = set(sa.inspect(conn).get_table_names())
    return {"directus_collections", "directus_activity"} <= names


def user_id(conn: Connection, email_or_id: str | None) -> str | None:
    """The id of the Directus user with that email or id, or None."""
    if not email_or_id:
        return None
    u = users.c
    found = conn.execute(sa.select(u.id).where(
        sa.or_(u.email == email_or_id, sa.cast(u.id, sa.String) == email_or_id))).scalar()
    return str(found) if found is not None else None


def policies_of(conn: Connection, user_id: str) -> list[tuple[str, bool]]:
    """(policy id, admin_access) of every policy the user has, directly or through its role."""
    role = conn.execute(sa.select(users.c.role).where(sa.cast(users.c.id, sa.String) == user_id)).scalar()
    cond = access.c.user == user_id
    if role is not None:
        cond = sa.or_(cond, access.c.role == role)
    rows = conn.execute(sa.select(policies.c.id, policies.c.admin_access)
                        .join(access, access.c.policy == policies.c.id).where(cond))
    return [(str(pid), bool(admin)) for pid, admin in rows]


def policy_actions(conn: Connection, policy_ids: list[str], collection: str) -> set[str]:
    """The actions these policies permit on COLLECTION."""
    if not policy_ids:
        return set()
    rows = conn.execute(sa.select(permissions.c.action).where(
        permissions.c.policy.in_(policy_ids), permissions.c.collection == collection))
    return {action for (action,) in rows}
