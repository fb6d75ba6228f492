"""Engines: one per database URL, read-only where the database can enforce it.

Sessions and transactions on them are `db.session`'s; nothing else opens one.
"""

from __future__ import annotations

import enum
import weakref
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import NoSuchModuleError

from ..errors import BadInput, DatabaseUnreachable
from ..urls import SUPPORTED, mask_url, parse_url, url_problem
from . import mysql

# pg_advisory_xact_lock key: every writer of govgate serialises on it (MySQL and MariaDB:
# GET_LOCK, see db/mysql.py).
LOCK_KEY = 0x676F76676174  # "govgat"


# Every engine this process made, and (in a forked child) the pools it inherited: see
# `forget_inherited`.
_made: weakref.WeakSet[Engine] = weakref.WeakSet()
_inherited: list = []


class Mode(enum.Enum):
    """WRITE commits on success; DRY_RUN always rolls back; READ is read-only and rolls back."""

    WRITE = "write"
    DRY_RUN = "dry-run"
    READ = "read"


def make_engine(url: str, *, read_only: bool = False, create: bool = False) -> Engine:
    """An engine for URL. Read-only engines cannot write, by the database's own rules.

    Raises BadInput for a malformed URL, DatabaseUnreachable when a SQLite file is
    missing (unless `create`) or the server does not answer.
    """
    problem = url_problem(url)
    if problem:
        raise BadInput(
            f"database URL {mask_url(url)}: {problem}",
            hint=f"use one of the forms {SUPPORTED}",
        )
    parsed = parse_url(url)
    backend = parsed.get_backend_name()
    try:
        if backend == "sqlite":
            engine = _sqlite_engine(parsed, read_only=read_only, create=create)
        elif backend == "postgresql":
            engine = _postgres_engine(parsed, read_only=read_only)
        else:
            engine = mysql.make_engine(parsed, read_only=read_only)
    except (NoSuchModuleError, ImportError) as exc:  # a broken installation, not the URL
        raise BadInput(
            f"no driver for {mask_url(url)}: {exc}",
            hint="reinstall govgate with its dependencies (deploy/install.sh)",
        ) from exc
    _made.add(engine)
    return engine


def forget_inherited() -> None:
    """In a forked child: every engine it inherited starts over with an empty pool.

    The parent's pooled connections share their sockets and SQLite files with the parent:
    used here they would interleave with its traffic, and collected here a driver could say
    goodbye on them (or release the child's own SQLite locks). So the old pools stay
    referenced and untouched until the child ends (`os._exit`: nothing is finalised).
    """
    for engine in list(_made):
        _inherited.append(engine.pool)
        engine.dispose(close=False)


def _sqlite_engine(parsed, *, read_only: bool, create: bool) -> Engine:
    path = parsed.database
    if not create and not Path(path).is_file():
        raise DatabaseUnreachable(
            f"no SQLite database at {path}",
            hint="check the URL, or build the demo with `govgate demo`",
        )
    if read_only:
        target = f"sqlite:///file:{Path(path).resolve()}?mode=ro&uri=true"
    else:
        target = parsed
    engine = sa.create_engine(target, connect_args={"timeout": 30})

    # pysqlite's own transaction handling is disabled so that BEGIN is ours:
    # IMMEDIATE for writers (the lock), DEFERRED for readers.
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        dbapi_conn.execute("PRAGMA busy_timeout = 30000")

    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql(
            "BEGIN " + conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        )

    return engine


def _postgres_engine(parsed, *, read_only: bool) -> Engine:
    # Every key of the URL's query reaches libpq as it is (sslmode, service, passfile, a socket
    # directory in host, …): govgate's own settings only fill what the URL leaves open, so
    # connect_timeout is the URL's when it gives one, and the name is libpq's fallback name.
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    args = {"connect_timeout": 5, "fallback_application_name": "govgate"}
    args = {k: v for k, v in args.items() if k not in parsed.query}
    if not read_only:
        return sa.create_engine(parsed, connect_args=args, pool_pre_ping=True)
    # One snapshot per read: a verdict never mixes states from before and after another commit.
    engine = sa.create_engine(
        parsed, connect_args=args, pool_pre_ping=True, isolation_level="REPEATABLE READ"
    )

    # Read-only for the whole session, set as the connection opens: through `options` it
    # would replace the URL's, a service file's or PGOPTIONS's own `options`.
    @event.listens_for(engine, "connect")
    def _read_only(dbapi_conn, _record):
        autocommit = dbapi_conn.autocommit
        dbapi_conn.autocommit = True
        try:
            dbapi_conn.execute("SET default_transaction_read_only = on")
        finally:
            dbapi_conn.autocommit = autocommit

    return engine


def is_postgres(conn_or_engine) -> bool:
    return conn_or_engine.dialect.name == "postgresql"


def is_sqlite(conn_or_engine) -> bool:
    return conn_or_engine.dialect.name == "sqlite"


def quote(conn: Connection, name: str) -> str:
    """NAME as an identifier quoted by the connection's dialect."""
    return conn.dialect.identifier_preparer.quote(name)


def table_names(conn: Connection) -> set[str]:
    """Names of the tables (not views) in the connection's database."""
    return set(sa.inspect(conn).get_table_names())


def view_names(conn: Connection) -> set[str]:
    return set(sa.inspect(conn).get_view_names())
