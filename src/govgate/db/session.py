"""Every connection and transaction govgate opens, and the one place driver errors are translated.

- `session(url, mode)`: one transaction on an engine made for it and disposed afterwards,
  the way every command reaches its database.
- `Database(url)`: an engine held across several transactions (the agent's polls, a
  rollout and the record of its abort); `transaction()` on it.
- `transaction(engine, mode)`: WRITE commits when the block ends cleanly, DRY_RUN always
  rolls back (dry runs, rehearsal checks), READ never writes. Any exception rolls back.

A driver error that leaves any of these (SQLAlchemy's or the driver's own) leaves it as a
member of the GovgateError family: `DatabaseUnreachable` when the connection failed or
was lost, `DatabaseError` otherwise, each raised from the original so that nothing is lost.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine

from ..errors import DatabaseError, DatabaseUnreachable, GovgateError, describe
from ..urls import mask_url
from . import mysql
from .engine import LOCK_KEY, Mode, is_postgres, is_sqlite, make_engine

# Driver modules whose own exceptions (raised outside SQLAlchemy, e.g. by a LISTEN
# connection) are database errors too; their connection-level classes mean "lost".
_DRIVER_MODULES = ("psycopg", "pymysql", "sqlite3")
_LOST_NAMES = {"OperationalError", "InterfaceError"}


def translate(exc: BaseException, url: str | None = None) -> GovgateError | None:
    """The GovgateError that stands for driver error EXC, or None when EXC is not one."""
    if isinstance(exc, GovgateError) or not isinstance(exc, Exception):
        return None
    driver = exc.orig if isinstance(exc, sa_exc.DBAPIError) else exc
    if isinstance(exc, sa_exc.DBAPIError):
        lost = exc.connection_invalidated or isinstance(
            exc, (sa_exc.OperationalError, sa_exc.InterfaceError)
        )
    elif isinstance(exc, sa_exc.DisconnectionError):
        lost = True
    elif type(exc).__module__.split(".")[0] in _DRIVER_MODULES:
        lost = any(cls.__name__ in _LOST_NAMES for cls in type(exc).__mro__)
    else:
        return None
    if type(driver).__module__.split(".")[0] == "pymysql" and driver.args:
        # PyMySQL calls almost every server error OperationalError (a refused grant, a
        # custody trigger's refusal): only these error numbers mean the server is out of reach.
        errno = driver.args[0] if isinstance(driver.args[0], int) else 0
        lost = (
            getattr(exc, "connection_invalidated", False)
            or errno in mysql.UNREACHABLE_ERRNOS
            or not errno
        )
    where = f" at {mask_url(url)}" if url else ""
    if lost:
        return DatabaseUnreachable(
            f"the database{where} cannot be reached or the connection was lost: {describe(exc)}",
            hint="check that the server runs and the URL, user and password are right",
        )
    return DatabaseError(
        f"database error{where}: {describe(exc)}",
        hint="`govgate doctor` checks the connection, the schema and the privileges",
    )


@contextmanager
def driver_errors(url: str | None = None) -> Iterator[None]:
    """Re-raise any driver error from the block as its GovgateError (see `translate`)."""
    try:
        yield
    except Exception as exc:
        mapped = translate(exc, url)
        if mapped is None:
            raise
        raise mapped from exc


@contextmanager
def connect(engine: Engine) -> Iterator[Connection]:
    """A connection; failures to connect or during use raise DatabaseUnreachable/DatabaseError."""
    url = engine.url.render_as_string(hide_password=False)
    with driver_errors(url):
        conn = engine.connect()
        with conn:
            yield conn


@contextmanager
def transaction(
    engine: Engine, mode: Mode = Mode.WRITE, *, lock: bool = False
) -> Iterator[Connection]:
    """One transaction. WRITE commits on success; DRY_RUN and READ always roll back.

    With `lock`, the transaction first takes govgate's lock: PostgreSQL
    `pg_advisory_xact_lock` and SQLite `BEGIN IMMEDIATE`, which end with the transaction;
    MySQL and MariaDB `GET_LOCK`, taken before the transaction begins and released after it
    ends (db/mysql.py). Any exception inside the block rolls everything back and propagates.
    The cyclic garbage collector pauses while it runs (see `collector_paused`).
    """
    with collector_paused(), connect(engine) as conn:
        if is_sqlite(conn):
            conn.execution_options(sqlite_begin="IMMEDIATE" if mode is Mode.WRITE else "DEFERRED")
        held = mysql.acquire_lock(conn) if lock and mysql.is_mysql(conn) else None
        try:
            trans = conn.begin()
            try:
                if lock and is_postgres(conn):
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
                yield conn
            except BaseException:
                _quiet_rollback(trans)
                raise
            if mode is Mode.WRITE:
                trans.commit()
            else:
                trans.rollback()
        finally:
            if held is not None:
                mysql.release_lock(conn, held)


_paused = 0  # transactions running now (threads of the page or the agent may overlap)
_paused_lock = threading.Lock()
_was_enabled = True


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while the block runs; the last block to leave
    restores it as the first found it.

    Why: a transaction reads or writes tens of thousands of rows as tuples, each a new
    container the collector counts; at 60,000 slots its passes over them were a third of a
    `status` or an `apply`. Those rows hold no cycles, and reference counting still frees
    them as usual: a paused collector only defers the rare cycle to the next collection.
    """
    global _paused, _was_enabled
    with _paused_lock:
        if _paused == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _paused_lock:
            _paused -= 1
            if _paused == 0 and _was_enabled:
                gc.enable()


def _quiet_rollback(trans) -> None:
    # A lost connection cannot roll back: the server does it when the session dies.
    try:
        if trans.is_active:
            trans.rollback()
    except Exception:
        pass


class Database:
    """An engine for URL kept across transactions; `close()` (or `with`) disposes of it.

    READ databases are read-only by the database's own rules (see `make_engine`).
    """

    def __init__(self, url: str, *, read_only: bool = False, create: bool = False):
        self.url = url
        self.engine = make_engine(url, read_only=read_only, create=create)

    def transaction(self, mode: Mode = Mode.WRITE, *, lock: bool = False):
        """A transaction on this database (see the module's `transaction`)."""
        return transaction(self.engine, mode, lock=lock)

    def close(self) -> None:
        try:
            self.engine.dispose()
        except Exception:  # a dead server cannot be said goodbye to; the pool is gone anyway
            pass

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


@contextmanager
def session(
    url: str, mode: Mode = Mode.WRITE, *, lock: bool = False, create: bool = False
) -> Iterator[Connection]:
    """One transaction on URL, on an engine made for it and disposed of afterwards.

    READ sessions use a read-only connection (PostgreSQL and MySQL/MariaDB read-only
    transactions, SQLite mode=ro), so a read command cannot write even by mistake.
    """
    with (
        Database(url, read_only=mode is Mode.READ, create=create) as db,
        db.transaction(mode, lock=lock) as conn,
    ):
        yield conn
