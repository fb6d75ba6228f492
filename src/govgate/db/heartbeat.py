"""The agents' heartbeats (`os_agent_heartbeats`, revision v4) and what they say in words.

Each agent process keeps one row up to date while it runs (`beat`, through its own
connection, in a transaction of its own: never inside a rollout's). Readers (`status --why`,
`doctor`, the owner's page) take the newest rows (`sightings`) and put them into words
against the present (`liveness`): "agent on HOST (pid N) seen 3 s ago, idle", or "no agent
seen for 5 minutes". Nothing here judges the gate: a missing agent is a note, never a reason.

The agent's role may INSERT and UPDATE this table and nothing else of it (`grant`); on a
database without it (older than v4) readers say so instead of failing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import schema as s
from .mysql import is_mysql

TABLE = s.agent_heartbeats.name
STATES = ("starting", "idle", "waiting", "applying", "stopped")
DEFAULT_STALE_AFTER_S = 60.0
_SHOWN = 5  # readers look at the newest rows only


@dataclass(frozen=True)
class Heartbeat:
    """One agent process as it last wrote itself down."""

    id: str
    identity: str
    version: str
    host: str
    pid: int
    started_at: str
    seen_at: str
    state: str
    last_status: str | None = None
    polls: int = 0
    rollouts: int = 0
    errors: int = 0


@dataclass(frozen=True)
class Liveness:
    """Whether an agent was seen recently, in words and as data (`status --json`'s `agent`)."""

    alive: bool
    words: str
    seen_s: float | None  # seconds since the newest heartbeat; None: none at all
    stale_after_s: float
    agents: tuple[dict, ...] = ()  # the newest rows, each with its age, newest first


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def beat(conn: Connection, row: Heartbeat) -> None:
    """Write ROW (update this process's row, insert it the first time)."""
    values = {k: v for k, v in row.__dict__.items() if k != "id"}
    table = s.agent_heartbeats
    if conn.execute(table.update().where(table.c.id == row.id).values(**values)).rowcount:
        return
    conn.execute(table.insert().values(id=row.id, **values))


def present(conn: Connection) -> bool:
    return sa.inspect(conn).has_table(TABLE)


def sightings(conn: Connection, limit: int = _SHOWN) -> tuple[Heartbeat, ...] | None:
    """The newest heartbeats, newest first; None when this database has no heartbeat table
    (older than v4) or this login may not read it. Reads in a savepoint: a refused read
    leaves the caller's transaction usable."""
    if not present(conn):
        return None
    table = s.agent_heartbeats
    query = sa.select(table).order_by(table.c.seen_at.desc()).limit(limit)
    try:
        with conn.begin_nested():
            rows = conn.execute(query).mappings().all()
    except sa.exc.DBAPIError:
        return None
    return tuple(Heartbeat(**dict(r)) for r in rows)


def liveness(
    found: tuple[Heartbeat, ...] | None,
    stale_after_s: float = DEFAULT_STALE_AFTER_S,
    at: datetime | None = None,
) -> Liveness:
    """FOUND (see `sightings`) in words as of AT (default: now)."""
    at = at or datetime.now(UTC)
    if found is None:
        return Liveness(
            False,
            "agent unknown: this database has no heartbeat table yet (run `govgate upgrade`), "
            "or this login may not read it",
            None,
            stale_after_s,
        )
    aged = [(row, max(0.0, (at - _parse(row.seen_at)).total_seconds())) for row in found]
    agents = tuple({**row.__dict__, "seen_s": round(age, 1)} for row, age in aged)
    running = [(r, age) for r, age in aged if r.state != "stopped" and age <= stale_after_s]
    if running:
        words = "; ".join(_one(r, age) for r, age in running)
        return Liveness(True, words, round(running[0][1], 1), stale_after_s, agents)
    if not aged:
        return Liveness(False, "no agent has ever been seen", None, stale_after_s, agents)
    row, age = aged[0]
    if row.state == "stopped":
        words = f"no agent running: the last, on {row.host} (pid {row.pid}), stopped {ago(age)}"
    else:
        words = f"no agent seen for {span(age)} (the last was on {row.host}, pid {row.pid})"
    return Liveness(False, words, round(age, 1), stale_after_s, agents)


def _one(row: Heartbeat, age: float) -> str:
    said = f"agent on {row.host} (pid {row.pid}) seen {ago(age)}, {row.state}"
    return said + (f" (the gate: {row.last_status})" if row.last_status else "")


def ago(seconds: float) -> str:
    return "just now" if seconds < 1 else f"{span(seconds)} ago"


def span(seconds: float) -> str:
    """SECONDS in the largest whole unit: '3 s', '5 minutes', '2 hours', '3 days'."""
    s_ = int(seconds)
    units = ((86400, "day", "days"), (3600, "hour", "hours"), (60, "minute", "minutes"))
    for size, one, many in units:
        if s_ >= size:
            n = s_ // size
            return f"{n} {one if n == 1 else many}"
    return f"{s_} s"


def _parse(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return datetime.fromtimestamp(0, UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# -- the roles ----------------------------------------------------------------------------

# MySQL/MariaDB: a GRANT to a role that does not exist (1133, 1396) or that is not allowed.
_NO_ROLE = (1133, 1396, 3523)


def grant(conn: Connection, agent_role: str, reader_roles: tuple[str, ...]) -> None:
    """Let AGENT_ROLE read, insert and update the heartbeats, and READER_ROLES read them.

    Roles that do not exist are skipped (SQLite has none). On MySQL and MariaDB a GRANT
    commits the open transaction (DDL): `upgrade` runs it after the table exists.
    """
    wanted = [(agent_role, "SELECT, INSERT, UPDATE")] + [(r, "SELECT") for r in reader_roles]
    if conn.dialect.name == "postgresql":
        for role, privileges in wanted:
            conn.exec_driver_sql(
                f"DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') "
                f"THEN GRANT {privileges} ON {TABLE} TO {role}; END IF; END $$"
            )
    elif is_mysql(conn):
        for role, privileges in wanted:
            try:
                conn.exec_driver_sql(f"GRANT {privileges} ON `{TABLE}` TO {role}")
            except sa.exc.DBAPIError as exc:
                if getattr(exc.orig, "args", (None,))[0] not in _NO_ROLE:
                    raise
