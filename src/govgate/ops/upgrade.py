"""`govgate upgrade`: migrate govgate's own tables to this version, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Connection

from ..db import audit, migrate
from ..db import schema as s
from ..directus import registration
from ..errors import BadInput


@dataclass(frozen=True)
class UpgradeResult:
    before: str
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after


def upgrade(conn: Connection, actor: str, *, register_sql: bool = True) -> UpgradeResult:
    """Run every revision between the database's and HEAD in the caller's transaction.

    On a Directus database the collections a revision adds are registered with SQL when
    REGISTER_SQL (otherwise the caller registers them through the REST API after the commit).
    Audits an `upgrade` event when something changed. Raises BadInput on a database
    govgate never initialised.
    """
    before, after = migrate.upgrade_from(conn)
    if before is None:
        raise BadInput(
            "this database holds no govgate tables to upgrade",
            hint="run `govgate init` to create them at the current revision",
        )
    result = UpgradeResult(before, after)
    if result.changed:
        # Directus shows what the new revision added (missing rows only; a no-op elsewhere);
        # on PostgreSQL its role gets access to the new tables either way.
        registration.register(conn, s.SIGNATURE_TABLES, rows=register_sql)
        audit.append(conn, audit.Kind.UPGRADE, actor, detail={"from": before, "to": after})
    return result
