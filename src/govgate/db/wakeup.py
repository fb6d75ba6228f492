"""Waking the agent on PostgreSQL: a NOTIFY trigger on approvals, and a listener.

`install` (called by `govgate init` and `demo`) puts an AFTER INSERT OR UPDATE
trigger on os_proposal_approvals that runs `pg_notify('govgate_gate',
NEW.proposal_id)`: the notification is delivered when the approver's
transaction commits, so the agent never wakes to an uncommitted approval. It
only creates what is missing, touches no row, and does nothing on SQLite.

`Listener` is the agent's dedicated autocommit connection that LISTENs on the
channel. The agent still polls: a notification can be lost with a dropped
connection, and approvals are not the only thing that changes the gate.
"""

from __future__ import annotations

import select
import time
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import pgconninfo
from .session import driver_errors

CHANNEL = "govgate_gate"
FUNCTION = "govgate_notify_gate"
TRIGGER = "govgate_gate_notify"
TABLE = "os_proposal_approvals"

_FUNCTION_SQL = f"""
CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    PERFORM pg_notify('{CHANNEL}', NEW.proposal_id);
    RETURN NULL;
END
$body$"""
_TRIGGER_SQL = (
    f"CREATE TRIGGER {TRIGGER} AFTER INSERT OR UPDATE ON {TABLE} "
    f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()"
)


def install(conn: Connection) -> tuple[str, ...]:
    """Create the notify function and trigger where missing (PostgreSQL only); returns what was
    made.

    A role that may not put a trigger on the approvals table (it belongs to
    someone else) gets nothing made and no error: the agent then wakes by
    polling alone, and `installed` tells.
    """
    if conn.dialect.name != "postgresql":
        return ()
    if conn.execute(sa.text("SELECT to_regclass(:t)"), {"t": TABLE}).scalar() is None:
        return ()
    made = []
    savepoint = conn.begin_nested()
    try:
        if (
            conn.execute(sa.text("SELECT to_regprocedure(:f)"), {"f": f"{FUNCTION}()"}).scalar()
            is None
        ):
            conn.execute(sa.text(_FUNCTION_SQL))
            made.append(f"function {FUNCTION}")
        if not installed(conn):
            conn.execute(sa.text(_TRIGGER_SQL))
            made.append(f"trigger {TRIGGER}")
    except sa.exc.ProgrammingError as exc:
        if getattr(exc.orig, "sqlstate", None) != "42501":  # insufficient_privilege
            raise
        savepoint.rollback()
        return ()
    savepoint.commit()
    return tuple(made)


def installed(conn: Connection) -> bool:
    """Whether the approvals table carries the notify trigger."""
    if conn.dialect.name != "postgresql":
        return False
    return bool(
        conn.execute(
            sa.text(
                "SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = :name AND tgrelid = "
                "to_regclass(:t))"
            ),
            {"name": TRIGGER, "t": TABLE},
        ).scalar()
    )


class Listener:
    """A dedicated autocommit connection LISTENing on the gate's channel.

    Raises DatabaseUnreachable when the server cannot be reached or the connection
    drops; the agent then backs off and makes a new one.
    """

    def __init__(self, url: str, channel: str = CHANNEL):
        with driver_errors(url):
            self._open(url, channel)

    def _open(self, url: str, channel: str) -> None:
        import psycopg

        params = {
            "connect_timeout": 5,
            "fallback_application_name": "govgate-agent-listen",
            "keepalives": 1,
            "keepalives_idle": 10,
            "keepalives_interval": 5,
            "keepalives_count": 3,
            # the URL's own keywords win (a socket directory, sslmode, service, passfile, …)
            **pgconninfo.keywords(url),
        }
        self.channel = channel
        self.conn = psycopg.connect(autocommit=True, **params)
        try:
            self.conn.execute(f"LISTEN {channel}")
        except BaseException:
            self.conn.close()
            raise

    def wait(self, timeout: float, should_stop: Callable[[], bool] = lambda: False) -> list[str]:
        """Block up to TIMEOUT seconds for notifications; returns their payloads (proposal ids)."""
        with driver_errors():
            return self._wait(timeout, should_stop)

    def _wait(self, timeout: float, should_stop: Callable[[], bool]) -> list[str]:
        deadline = time.monotonic() + timeout
        while True:
            got = self.drain()
            if got or should_stop():
                return got
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            # select() lets a signal handler run (and raise) at once (PEP 475).
            select.select([self.conn.fileno()], [], [], min(remaining, 0.25))

    def drain(self) -> list[str]:
        """The notifications that arrived, without waiting."""
        return [n.payload for n in self.conn.notifies(timeout=0)]

    def close(self) -> None:
        try:
            self.conn.close()
        except Exception:
            pass
