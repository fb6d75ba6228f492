"""Confinement: a rollout writes only the tables it may write.

SQLite: an authorizer denies every other write as it is prepared, so a stray
statement fails before it touches anything. PostgreSQL: before commit,
`pg_stat_xact_user_tables` shows every table this transaction wrote, and
`pg_class` every relation it created or altered. MySQL and MariaDB: a guard refuses every
statement but reads and writes of the allowed tables as it is sent, and before commit the
session's row counters must equal the rows those statements wrote (`statement_guard`).
"""

from __future__ import annotations

import fnmatch
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..db import schema as s
from ..db.mysql import is_mysql
from ..errors import CheckFailed
from .statement_guard import StatementGuard

# os_approval_uses: the trigger records the rollout's approval, the rollout its co-approvals;
# the evidence trigger (db/evidence.py) lets only a rollout being recorded use one.
ROLLOUT_TABLES = frozenset({"os_accountability", "os_rollouts", "os_audit", "os_approval_uses"})
DIRECTUS_TABLES = frozenset({"directus_dashboards", "directus_panels"})
_SQLITE_INTERNAL = frozenset(
    {"sqlite_master", "sqlite_schema", "sqlite_temp_master", "sqlite_sequence"}
)

_WRITE_ACTIONS = {
    sqlite3.SQLITE_INSERT: "insert",
    sqlite3.SQLITE_UPDATE: "update",
    sqlite3.SQLITE_DELETE: "delete",
}
_VIEW_ACTIONS = {sqlite3.SQLITE_CREATE_VIEW, sqlite3.SQLITE_DROP_VIEW}
_DENIED_DDL = {
    sqlite3.SQLITE_CREATE_TABLE,
    sqlite3.SQLITE_DROP_TABLE,
    sqlite3.SQLITE_ALTER_TABLE,
    sqlite3.SQLITE_CREATE_INDEX,
    sqlite3.SQLITE_DROP_INDEX,
    sqlite3.SQLITE_CREATE_TRIGGER,
    sqlite3.SQLITE_DROP_TRIGGER,
    sqlite3.SQLITE_CREATE_TEMP_TABLE,
    sqlite3.SQLITE_ATTACH,
    sqlite3.SQLITE_DETACH,
}


@dataclass
class Guard:
    """What a rollout may write, and what it tried to write outside that."""

    tables: frozenset[str]
    views: frozenset[str] = frozenset(s.VIEWS)
    denied: list[str] = field(default_factory=list)
    statements: StatementGuard | None = None  # MySQL and MariaDB, while confined

    def violations(self, conn: Connection) -> list[str]:
        """Writes outside the allow-list in this transaction so far, in plain words."""
        if conn.dialect.name == "postgresql":
            return self.denied + _postgres_violations(conn, self)
        if self.statements is not None:
            return self.denied + self.statements.violations()
        return list(self.denied)

    def _authorize(self, action, arg1, arg2, _db, trigger) -> int:
        # DROP VIEW reports itself as a delete from the view, hence the views here.
        if action in _WRITE_ACTIONS and arg1 not in self.tables | self.views | _SQLITE_INTERNAL:
            self.denied.append(f"{_WRITE_ACTIONS[action]} into {arg1}")
            return sqlite3.SQLITE_DENY
        if action in _VIEW_ACTIONS and arg1 not in self.views:
            self.denied.append(f"create or drop view {arg1}")
            return sqlite3.SQLITE_DENY
        if action in _DENIED_DDL:
            self.denied.append(f"schema change on {arg1 or arg2}")
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK


def allowed_tables(directus: bool) -> frozenset[str]:
    return ROLLOUT_TABLES | DIRECTUS_TABLES if directus else ROLLOUT_TABLES


@contextmanager
def confined(conn: Connection, guard: Guard) -> Iterator[Guard]:
    """Install the guard for the block (SQLite authorizer; MySQL and MariaDB statement guard,
    whose counters are checked again as the block ends cleanly, right before the commit);
    PostgreSQL checks afterwards. Raises CheckFailed naming what was refused or miscounted.
    """
    raw = conn.connection.driver_connection if conn.dialect.name == "sqlite" else None
    if raw is not None:
        raw.set_authorizer(guard._authorize)
    if is_mysql(conn):
        guard.statements = StatementGuard(conn, guard.tables, guard.denied)
        guard.statements.install()
    try:
        yield guard
        if guard.statements is not None and (late := guard.statements.violations()):
            raise CheckFailed(
                "the rollout wrote what its statements did not account for",
                failures=tuple(f"confinement: {v}" for v in late),
            )
    except Exception as exc:
        if guard.denied:  # the statement failed because the authorizer denied it: say what it was
            raise CheckFailed(
                "the rollout tried to write outside what it may write",
                failures=tuple(f"confinement: {d}" for d in guard.denied),
            ) from exc
        raise
    finally:
        if guard.statements is not None:
            guard.statements.remove()
            guard.statements = None
        if raw is not None:
            try:
                raw.set_authorizer(None)
            except (
                sqlite3.ProgrammingError
            ):  # the connection is closed, its authorizer gone with it
                pass


def _postgres_violations(conn: Connection, guard: Guard) -> list[str]:
    written = conn.execute(
        sa.text(
            "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_xact_user_tables "
            "WHERE n_tup_ins + n_tup_upd + n_tup_del > 0"
        )
    ).all()
    out = [
        f"wrote {name} ({ins} inserted, {upd} updated, {dele} deleted)"
        for name, ins, upd, dele in written
        if name not in guard.tables
    ]
    # Relations created or altered by this very transaction (their pg_class row is ours).
    changed = conn.execute(
        sa.text(
            "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = "
            "c.relnamespace "
            "WHERE c.xmin::text = (pg_current_xact_id()::text::bigint % 4294967296)::text "
            "AND n.nspname NOT IN ('pg_catalog', 'pg_toast', 'information_schema') "
            "AND c.relkind IN ('r', 'v', 'm', 'p', 'f', 'i', 'S')"
        )
    ).all()
    out += [
        f"created or altered {name}"
        for name, kind in changed
        if not (kind == "v" and name in guard.views)
    ]
    return out


def protected_tables(conn: Connection, patterns: tuple[str, ...]) -> list[str]:
    """The tables of the database that the PATTERNS protect."""
    names = set(sa.inspect(conn).get_table_names())
    if is_mysql(conn) and "directus_collections" in names:
        # MySQL lists only the tables a login has a grant on, and the agent has none on a
        # protected collection: Directus's own list of collections names them.
        rows = conn.execute(sa.text("SELECT collection FROM directus_collections"))
        names |= {c for (c,) in rows}
    return sorted(t for t in names if any(fnmatch.fnmatchcase(t, p) for p in patterns))
