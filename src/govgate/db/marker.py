"""A cheap answer to "was anything committed to this database since I last looked?".

The owner's page polls every few seconds; recomputing the verdict reads the whole
governance state. A `ChangeMarker` reads one value that changes with every commit, so a
poll on an unchanged database costs a tiny query (two on MariaDB and MySQL) instead:

- PostgreSQL: `pg_current_snapshot()`. A transaction that writes gets a transaction id;
  while it runs it is listed in every snapshot, and once it ends it leaves the list or
  `xmax` has moved past it. Equal snapshots therefore mean that no write transaction ended
  in between (read-only transactions take no id and change nothing). It covers the whole
  cluster: a write in another database also counts, which only costs a recomputation.
- SQLite: `PRAGMA data_version` on one connection held for the purpose: it changes when
  any other connection commits (the marker's own connection never writes). The file's
  identity is part of the marker: a file replaced by another (a rebuilt demo) would leave
  the held connection on the old one, so a new identity opens a new connection.
- MariaDB and MySQL: the InnoDB redo log's sequence number (LSN), a global status variable
  (`Innodb_lsn_current` on MariaDB, `Innodb_redo_log_current_lsn` on MySQL 8.0.30+; neither
  there, or the status unreadable: None). Committing a write transaction writes redo, so
  the LSN moves with every InnoDB commit, in any database of the server; background work
  (purge, statistics, checkpoints) moves it too, which only costs a recomputation. On
  MariaDB, SHOW GLOBAL STATUS needs no privilege: the agent's and approver's logins read it.

  What the verdict reads but InnoDB redo does not cover is covered otherwise:

  - Grants and roles live in Aria tables (mysql.global_priv, tables_priv, roles_mapping)
    and views in files, yet the gate reads the grants (can the agent write approvals? which
    tables does a login see?) and `verify` which views exist. The marker also carries the
    server's global counters of the statements that change them (GRANT, REVOKE, roles,
    users, FLUSH after a hand edit of those tables, CREATE/ALTER/DROP/RENAME of views); they
    only grow (FLUSH STATUS folds a session's counts into them, it does not zero them).
    MySQL 8 keeps both in its InnoDB data dictionary: there the counters only add moves.
  - A governance, journal or Directus table (`os_…`, `directus_…`) on another engine
    (MyISAM, Aria, MEMORY) is written without redo. Each read checks their engines in
    information_schema.TABLES, which shows a login the tables it may read, and returns None
    (the page then recomputes at every poll) while any of them is not InnoDB. Each read,
    not only the first: a table may be converted, or created on another engine, later.

  Two short windows remain, both closed within `fresh.MAX_AGE_S` at the latest. InnoDB
  writes a commit's redo a few microseconds before new snapshots see the commit: a poll
  whose marker read and computation both fall in between keeps an answer without it until
  the LSN moves again (purging that very transaction soon writes redo, unless a
  long-running transaction holds purge back). And a statement counter moves when the
  statement starts: a GRANT or DROP VIEW still waiting for a lock at a poll has moved the
  marker before its effect shows. (Checked on MariaDB 10.11; MySQL is untested here.)

Failures reaching the database raise its GovgateError (see `session.translate`).
"""

from __future__ import annotations

import os
import threading

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..errors import DatabaseUnreachable
from ..urls import parse_url
from . import mysql
from .engine import make_engine
from .session import driver_errors, translate

# The redo log's current LSN, as MariaDB names it and as MySQL 8.0.30+ does.
LSN_VARIABLES = ("Innodb_lsn_current", "Innodb_redo_log_current_lsn")
# Statements that change grants, roles or views (see above); MySQL spells two in the plural.
STATEMENT_COUNTERS = (
    "Com_grant", "Com_grant_role", "Com_grant_roles", "Com_revoke", "Com_revoke_all",
    "Com_revoke_role", "Com_revoke_roles", "Com_create_role", "Com_drop_role",
    "Com_create_user", "Com_drop_user", "Com_rename_user", "Com_flush",
    "Com_create_view", "Com_drop_view", "Com_rename_table",
)  # fmt: skip
_STATUS = "SHOW GLOBAL STATUS WHERE Variable_name IN ({})".format(
    ", ".join(f"'{name}'" for name in (*LSN_VARIABLES, *STATEMENT_COUNTERS))
)
# govgate's tables (os_…, its views excluded) and Directus's (directus_…) in this database.
# LEFT, not LIKE: a LIKE pattern's backslash would depend on the NO_BACKSLASH_ESCAPES mode.
_ENGINES = (
    "SELECT TABLE_NAME, ENGINE FROM information_schema.TABLES "
    "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE <> 'VIEW' "
    "AND (LEFT(TABLE_NAME, 3) = 'os_' OR LEFT(TABLE_NAME, 9) = 'directus_')"
)


class ChangeMarker:
    """The change marker of the database at URL; `close()` releases its connection."""

    def __init__(self, url: str):
        self.url = url
        self._engine = make_engine(url, read_only=True)
        self._lock = threading.Lock()
        self._raw = None  # SQLite: the one connection whose data_version is compared
        self._file: tuple[int, int] | None = None  # SQLite: (device, inode) _raw has open
        self.not_innodb: tuple[str, ...] = ()  # MySQL/MariaDB: found so at the last read

    def read(self) -> str | None:
        """A value equal to the previous one only if nothing was committed in between."""
        name = self._engine.dialect.name
        with self._lock, driver_errors(self.url):
            if name == "sqlite":
                return self._sqlite()
            if name == "postgresql":
                with self._engine.connect() as conn:
                    return conn.exec_driver_sql("SELECT pg_current_snapshot()::text").scalar()
            if name in mysql.FAMILY:
                with self._engine.connect() as conn:
                    return self._mysql(conn)
            return None

    def _mysql(self, conn: Connection) -> str | None:
        try:
            found = dict(conn.exec_driver_sql(_STATUS).all())
        except sa.exc.DBAPIError as exc:
            if isinstance(translate(exc, self.url), DatabaseUnreachable):
                raise
            return None  # a server that keeps its status from this login: recompute
        lsn = next((found[name] for name in LSN_VARIABLES if name in found), None)
        if lsn is None:
            return None
        self.not_innodb = tuple(
            sorted(
                table
                for table, engine in conn.exec_driver_sql(_ENGINES)
                if (engine or "").lower() != "innodb"
            )
        )
        if self.not_innodb:
            return None
        return ";".join(f"{name}={found[name]}" for name in sorted(found))

    def _sqlite(self) -> str:
        try:
            st = os.stat(parse_url(self.url).database)
        except OSError as exc:
            raise DatabaseUnreachable(f"no SQLite database at {self.url}: {exc.strerror}") from exc
        if self._raw is not None and self._file != (st.st_dev, st.st_ino):
            self._drop()
        if self._raw is None:
            self._raw = self._engine.raw_connection()
            self._file = (st.st_dev, st.st_ino)
        (version,) = self._raw.driver_connection.execute("PRAGMA data_version").fetchone()
        return f"{st.st_dev}:{st.st_ino}:{version}"

    def _drop(self) -> None:
        if self._raw is not None:
            self._raw.close()
            self._raw = None

    def close(self) -> None:
        with self._lock:
            self._drop()
        self._engine.dispose()
