"""What a database URL must be before govgate connects with it.

One rule for every place a URL comes from (`--db`, `GOVGATE_DB`, a configuration file), so that
each can name itself in the error. The problem text never quotes the URL: it may hold a password.
"""

from __future__ import annotations

import re
from functools import cache

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from .text import escape

# backend -> the drivers govgate installs and tests (None: the URL names no driver)
DRIVERS = {
    "sqlite": {None, "pysqlite"},
    "postgresql": {None, "psycopg"},
    "mysql": {None, "pymysql"},
    "mariadb": {None, "pymysql"},
}
SUPPORTED = (
    "sqlite:///path.db, postgresql+psycopg://user:pass@host/db, "
    "mysql+pymysql://user:pass@host/db or mariadb+pymysql://user:pass@host/db"
)


# `host:/db`: an empty port means the default one, as libpq reads it (SQLAlchemy would not)
_EMPTY_PORT = re.compile(r"^([^:/?#]+://[^/?#]*?):(?=[/?#]|$)")


def parse_url(url: str | URL) -> URL:
    """URL as SQLAlchemy's URL object (one already parsed as it is). Raises ArgumentError, or
    ValueError for a port that is not a number."""
    if isinstance(url, URL):  # an engine's own (the emission guard's allowance gets one)
        return url
    return make_url(_EMPTY_PORT.sub(r"\1", url, count=1))


# Query keys a driver reads as the database's name; they would win over the URL's path.
_DATABASE_KEYS = {
    "postgresql": ("dbname",),
    "mysql": ("database", "db"),
    "mariadb": ("database", "db"),
}


def with_database(url: str, name: str) -> str:
    """URL naming database NAME on the same server, everything else kept (the password too).

    A database named in the query (`?dbname=` on PostgreSQL) is dropped: the driver would
    prefer it to NAME.
    """
    parsed = parse_url(url)
    keys = _DATABASE_KEYS.get(parsed.get_backend_name(), ())
    parsed = parsed.difference_update_query(keys).set(database=name)
    return parsed.render_as_string(hide_password=False)


_MASK = "MASKED"  # a placeholder the query keeps as it is, replaced by *** once rendered


def mask_url(url: str) -> str:
    """The URL with its password (in the authority or as `?password=`) replaced by `***`,
    safe to print or log."""
    try:
        parsed = parse_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        return "<unparseable database URL>"
    masked = "password" in parsed.query
    if masked:
        parsed = parsed.update_query_dict({"password": _MASK})
    text = parsed.render_as_string(hide_password=True)
    return text.replace(f"password={_MASK}", "password=***") if masked else text


def url_problem(url: str) -> str | None:
    """Why URL cannot name a database govgate governs, in words; None when it can.

    Checks the form only (scheme, driver, port, an in-memory SQLite, on PostgreSQL that each
    key of the query is a libpq connection keyword given once): whether the database exists
    and answers is for the connection to find out.
    """
    try:
        parsed = parse_url(url)
    except ArgumentError:
        return "not a database URL"
    except ValueError:  # SQLAlchemy's int() of the port
        return "the port is not a number (it must be 1 to 65535)"
    backend, _, driver = parsed.drivername.partition("+")
    if backend not in DRIVERS:
        return f"'{backend}' is not a database govgate supports"
    if (driver or None) not in DRIVERS[backend]:
        return f"the driver '{driver}' is not installed with govgate for {backend}"
    if parsed.port is not None and not 1 <= parsed.port <= 65535:
        return f"the port {parsed.port} is out of range (1 to 65535)"
    if backend == "sqlite" and (not parsed.database or parsed.database == ":memory:"):
        return "an in-memory SQLite database cannot be governed: give a file, sqlite:///path.db"
    if backend == "postgresql":
        return _libpq_problem(parsed)
    return None


def _libpq_problem(parsed: URL) -> str | None:
    # Every key of the query goes to libpq as a connection keyword; host and port may repeat
    # (SQLAlchemy's form for several hosts), the others have one value each.
    for key, value in parsed.query.items():
        if not isinstance(value, str) and key not in ("host", "port"):
            return f"the query gives {_key(key)} more than once"
    known = _libpq_keywords()
    unknown = sorted(k for k in parsed.query if known and k not in known)
    if unknown:
        return (
            f"{_key(unknown[0])} in the query is not a libpq connection keyword "
            "(host, port, sslmode, sslrootcert, service, passfile, …)"
        )
    return None


def _key(key: str) -> str:
    return repr(escape(key[:40]))


@cache
def _libpq_keywords() -> frozenset[str]:
    try:
        from psycopg import pq
    except ImportError:  # a broken installation: the engine says so when it connects
        return frozenset()
    return frozenset(o.keyword.decode() for o in pq.Conninfo.get_defaults())
