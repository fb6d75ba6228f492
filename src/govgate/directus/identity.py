"""Who is who on a Directus database: users, their policies, and what activity proves.

Directus mode is detected from its tables (or configured). Provenance reads only
`directus_activity`, which Directus writes itself for every item made through its API
or app; SQL leaves none.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..config import check_against
from ..db.mysql import is_mysql
from .tables import access, activity, permissions, policies, roles, users


def in_use(conn: Connection, settings) -> bool:
    """Directus mode: as configured (`[directus] enabled`), else detected from its tables.

    Raises BadInput when the configuration switches it off on a database that has
    Directus's tables: provenance is never switched off silently.
    """
    if settings.directus is False:
        check_against(settings, is_directus(conn))
    return settings.directus if settings.directus is not None else is_directus(conn)


def is_directus(conn: Connection) -> bool:
    """True when the database holds Directus's system tables."""
    names = set(sa.inspect(conn).get_table_names())
    if is_mysql(conn) and "directus_activity" not in names:
        # MySQL lists only the tables a login has a grant on, and the approver's role has
        # none on directus_activity: its other Directus tables tell instead.
        return {"directus_collections", "directus_users"} <= names
    return {"directus_collections", "directus_activity"} <= names


def user_id(conn: Connection, email_or_id: str | None) -> str | None:
    """The id of the Directus user with that email or id, or None."""
    if not email_or_id:
        return None
    u = users.c
    found = conn.execute(
        sa.select(u.id).where(
            sa.or_(u.email == email_or_id, sa.cast(u.id, sa.String) == email_or_id)
        )
    ).scalar()
    return str(found) if found is not None else None


def _ids(values) -> list[str]:
    return [str(v) for v in values if v is not None]


def role_chain(conn: Connection, role: str | None) -> list[str]:
    """The role and its parents (Directus 11+ roles nest and inherit their parents' policies)."""
    chain: list[str] = []
    while role is not None and role not in chain:
        chain.append(role)
        parent = conn.execute(sa.select(roles.c.parent).where(roles.c.id == role)).scalar()
        role = str(parent) if parent is not None else None
    return chain


def policies_of(conn: Connection, user_id: str) -> list[tuple[str, bool]]:
    """(policy id, admin_access) of every policy that applies to the user.

    Directly attached to the user, through its role and the role's parents, and the
    public policy (a `directus_access` row with neither role nor user), which applies
    to everyone.
    """
    role = conn.execute(
        sa.select(users.c.role).where(sa.cast(users.c.id, sa.String) == user_id)
    ).scalar()
    cond = sa.or_(
        access.c.user == user_id, sa.and_(access.c.role.is_(None), access.c.user.is_(None))
    )
    chain = role_chain(conn, str(role) if role is not None else None)
    if chain:
        cond = sa.or_(cond, access.c.role.in_(chain))
    rows = conn.execute(
        sa.select(policies.c.id, policies.c.admin_access)
        .join(access, access.c.policy == policies.c.id)
        .where(cond)
        .distinct()
    )
    return [(str(pid), bool(admin)) for pid, admin in rows]


def policy_actions(conn: Connection, policy_ids: list[str], collection: str) -> set[str]:
    """The actions these policies permit on COLLECTION."""
    if not policy_ids:
        return set()
    rows = conn.execute(
        sa.select(permissions.c.action).where(
            permissions.c.policy.in_(policy_ids), permissions.c.collection == collection
        )
    )
    return {action for (action,) in rows}


def app_access(conn: Connection, policy_ids: list[str]) -> bool:
    """Whether any of these policies opens the Directus app (and so takes a licence seat)."""
    if not policy_ids:
        return False
    return bool(
        conn.execute(
            sa.select(sa.func.count())
            .select_from(policies)
            .where(policies.c.id.in_(policy_ids), policies.c.app_access.is_(True))
        ).scalar()
    )


@dataclass(frozen=True)
class Provenance:
    """What directus_activity says about one item since it last came into being."""

    creators: tuple[str | None, ...]  # users of its `create` activity (None: no user)
    editors: tuple[str | None, ...]  # users of `update` activity after that create


def provenance(conn: Connection, collection: str, item: str) -> Provenance:
    """The `create` and later `update` activity of ITEM, ignoring whatever preceded its last delete.

    An item deleted and made again with SQL under the same key must not inherit the
    provenance of the row that was deleted: only activity after the last `delete`
    counts. Timestamps are not used (SQLite stores them as epoch ms, PostgreSQL as
    timestamptz); the activity id orders the events.
    """
    act = activity.c
    rows = conn.execute(
        sa.select(act.id, act.action, act.user)
        .where(act.collection == collection, act.item == str(item))
        .order_by(act.id)
    ).all()
    last_delete = max(
        (i for i, (_id, action, _u) in enumerate(rows) if action == "delete"), default=-1
    )
    events = rows[last_delete + 1 :]
    creators = tuple(
        str(u) if u is not None else None for _id, action, u in events if action == "create"
    )
    first_create = next(
        (n for n, (_id, action, _u) in enumerate(events) if action == "create"), None
    )
    editors: tuple[str | None, ...] = ()
    if first_create is not None:
        editors = tuple(
            str(u) if u is not None else None
            for _id, action, u in events[first_create + 1 :]
            if action == "update"
        )
    return Provenance(creators, editors)


def editors(conn: Connection, collection: str) -> tuple[str, ...]:
    """The users (e-mail, else id) Directus recorded updating or deleting items of COLLECTION."""
    act, u = activity.c, users.c
    rows = conn.execute(
        sa.select(sa.func.coalesce(u.email, sa.cast(act.user, sa.String)))
        .select_from(activity.outerjoin(users, users.c.id == act.user))
        .where(act.collection == collection, act.action.in_(("update", "delete")))
        .distinct()
    ).scalars()
    return tuple(sorted(str(r) for r in rows if r is not None))


@dataclass(frozen=True)
class Person:
    """A Directus user as people read it: the id, the e-mail and the name."""

    id: str
    email: str | None
    name: str

    @property
    def label(self) -> str:
        """ "Ada Lovelace <ada@example.org>", or the e-mail, or the id."""
        if self.name and self.email:
            return f"{self.name} <{self.email}>"
        return self.email or self.name or self.id


def person(conn: Connection, email_or_id: str | None) -> Person | None:
    """The Directus user with that e-mail or id, or None."""
    if not email_or_id:
        return None
    u = users.c
    row = conn.execute(
        sa.select(u.id, u.email, u.first_name, u.last_name).where(
            sa.or_(u.email == email_or_id, sa.cast(u.id, sa.String) == email_or_id)
        )
    ).first()
    if row is None:
        return None
    name = " ".join(part for part in (row.first_name, row.last_name) if part)
    return Person(str(row.id), row.email, name)
