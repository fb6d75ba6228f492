"""MySQL and MariaDB: engines, govgate's lock, and what the rollout's guard reads there.

One code path for both: SQLAlchemy names the dialect "mysql" for `mysql+pymysql://` and
"mariadb" for `mariadb+pymysql://`; everything here asks `is_mysql`, never which of the two.
Tested on MariaDB 10.11 (Debian); MySQL 8 shares every statement but is untested here.

What differs from PostgreSQL, and how govgate keeps the same guarantees (docs/ARCHITECTURE.md):

- Any DDL commits the open transaction implicitly. The rollout is DML only (its views are
  made by `init`), a statement guard refuses everything else inside it (guards/confinement.py),
  and `in_transaction` must still be 1 before the commit.
- `GET_LOCK` belongs to the session and survives COMMIT: it is taken on the transaction's own
  connection before the transaction begins (so no snapshot predates it), released in
  `finally`, and a connection that cannot release it is invalidated, never pooled.
- Writers run READ COMMITTED, as on PostgreSQL, so the pre-commit check sees what others
  committed meanwhile; readers run one consistent read-only REPEATABLE READ snapshot.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from ..errors import EnvironmentFault

FAMILY = frozenset({"mysql", "mariadb"})
LOCK_PREFIX = "govgate:"
# GET_LOCK waits this long for another govgate (pg_advisory_xact_lock waits for ever; an hour
# is longer than any rollout and still ends a wait on a lock leaked by a hung session).
LOCK_WAIT_S = 3600
# Error numbers that mean the server is gone or refused the login: the database cannot be
# reached (exit 3). PyMySQL calls most server errors OperationalError, a custody trigger's
# refusal (1644) and a missing grant (1142) included, so the class alone does not tell.
UNREACHABLE_ERRNOS = frozenset(
    {1040, 1044, 1045, 1049, 1053, 1129, 1130, 1203, 1927, 2002, 2003, 2005, 2006, 2013, 2014}
    | {2045, 2055, 4031}
)
# Statements a DML-only transaction may run. Everything else (CREATE, ALTER, DROP, RENAME,
# TRUNCATE, GRANT, LOCK, SET, CALL, LOAD, REPLACE, COMMIT...) is refused by the rollout's guard.
DML_ONLY_VERBS = frozenset({"SELECT", "SHOW", "WITH", "INSERT", "UPDATE", "DELETE", "SAVEPOINT"})
HANDLER_COUNTERS = ("Handler_write", "Handler_update", "Handler_delete")


def is_mysql(conn_or_engine) -> bool:
    """Whether the connection (or engine) speaks to MySQL or MariaDB."""
    return conn_or_engine.dialect.name in FAMILY


def make_engine(parsed, *, read_only: bool) -> Engine:
    """An engine for a `mysql`/`mariadb` URL (PyMySQL unless another driver is named).

    Writers: READ COMMITTED, each transaction opened with START TRANSACTION so that
    `@@in_transaction` is 1 from its first statement. Readers: START TRANSACTION WITH
    CONSISTENT SNAPSHOT, READ ONLY at REPEATABLE READ: one snapshot, and the server refuses
    any write (error 1792).
    """
    if "+" not in parsed.drivername:
        parsed = parsed.set(drivername=f"{parsed.drivername}+pymysql")
    if "charset" not in parsed.query:
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    isolation = "REPEATABLE READ" if read_only else "READ COMMITTED"
    engine = sa.create_engine(
        parsed, connect_args={"connect_timeout": 5}, pool_pre_ping=True, isolation_level=isolation
    )
    begin = (
        "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"
        if read_only
        else "START TRANSACTION"
    )

    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql(begin)

    return engine


# -- govgate's lock -------------------------------------------------------------------------


def _raw(conn: Connection, sql: str, args: tuple = ()):
    """One value from SQL run on the driver's own cursor, outside SQLAlchemy's transaction:
    taking and releasing the lock must neither begin nor end a transaction."""
    with conn.connection.driver_connection.cursor() as cursor:
        cursor.execute(sql, args)
        row = cursor.fetchone()
    return row[0] if row else None


def raw_execute(conn: Connection, sql: str) -> None:
    """Run SQL on the driver's own cursor: a statement of govgate's guard, not of the rollout
    (the rollout's statement guard does not see it)."""
    with conn.connection.driver_connection.cursor() as cursor:
        cursor.execute(sql)


def lock_name(conn: Connection) -> str:
    """The lock's name: per database, as GET_LOCK names are server-wide (at most 64 chars)."""
    database = _raw(conn, "SELECT DATABASE()") or ""
    name = LOCK_PREFIX + database
    if len(name) > 64:
        name = LOCK_PREFIX + hashlib.sha256(database.encode()).hexdigest()[:48]
    return name


def acquire_lock(conn: Connection) -> str:
    """Take govgate's lock on CONN's session, waiting for another holder; returns its name.

    Call it before the transaction begins. Raises EnvironmentFault when another session
    held it for LOCK_WAIT_S seconds; driver errors propagate for `db.session` to translate.
    """
    name = lock_name(conn)
    if _raw(conn, "SELECT GET_LOCK(%s, %s)", (name, LOCK_WAIT_S)) != 1:
        raise EnvironmentFault(
            f"another govgate held the lock {name} for {LOCK_WAIT_S} s",
            hint="find the session holding it: SELECT IS_USED_LOCK('" + name + "')",
        )
    return name


def release_lock(conn: Connection, name: str) -> None:
    """Release the lock NAME; a connection that cannot is invalidated, never returned to the
    pool still holding it (the server frees the lock when that session ends)."""
    try:
        if not conn.closed and not conn.invalidated:
            _raw(conn, "SELECT RELEASE_LOCK(%s)", (name,))
            return
    except Exception:
        pass
    try:
        conn.invalidate()
    except Exception:
        pass


# -- what the rollout's guard reads ---------------------------------------------------------


def in_transaction(conn: Connection) -> bool:
    """Whether the session's transaction is still open (no implicit commit happened)."""
    return conn.exec_driver_sql("SELECT @@in_transaction").scalar() == 1


def handler_counters(conn: Connection) -> dict[str, int]:
    """This session's row operations so far: Handler_write, _update, _delete (rows written by
    triggers included; writes to internal temporary tables are counted apart, not here)."""
    rows = conn.exec_driver_sql("SHOW SESSION STATUS LIKE 'Handler%%'").all()
    found = {name: int(value) for name, value in rows}
    return {name: found.get(name, 0) for name in HANDLER_COUNTERS}


def first_verb(statement: str) -> str:
    """The statement's first keyword, upper case, after comments and parentheses.

    "/*!" when the statement holds an executable comment (`/*!50000 DROP ... */`, `/*M!...*/`):
    the server runs what such a comment says, so no guard may take it for a comment.
    """
    if "/*!" in statement or "/*M!" in statement:
        return "/*!"
    text = statement.lstrip()
    while True:
        if text.startswith("/*"):
            text = text[text.find("*/") + 2 :].lstrip() if "*/" in text else ""
        elif text.startswith(("--", "#")):
            text = text[text.find("\n") + 1 :].lstrip() if "\n" in text else ""
        elif text.startswith("("):
            text = text[1:].lstrip()
        else:
            break
    word = ""
    for ch in text:
        if not (ch.isalpha() or ch == "_"):
            break
        word += ch
    return word.upper()
