"""libpq connection strings from a SQLAlchemy PostgreSQL URL, for the client tools and psycopg.

The keywords are the ones SQLAlchemy's psycopg dialect hands to `psycopg.connect` for the
same URL (its `create_connect_args`), so pg_dump, pg_restore and the LISTEN connection reach
the server an engine reaches, as the same user, through the same socket or TCP address,
with the same `sslmode`, `service`, `passfile` and every other libpq keyword in the query.
What the URL leaves out (user, host, port, password) stays libpq's to fill in: the
environment (`PGUSER`, `PGHOST`, …), a `service` file, `.pgpass`.

A tool gets the conninfo string on its command line (`--dbname=…`), which other users of
the machine can read in the process list: the password never goes there, only in
`PGPASSWORD`, in the tool's environment.
"""

from __future__ import annotations

import os
import re
from functools import cache

from ..errors import BadInput
from ..text import escape
from ..urls import SUPPORTED, mask_url, parse_url, url_problem, with_database

# What a tool waits for a server that does not answer, unless the URL says otherwise.
CONNECT_TIMEOUT = "10"


@cache
def _dialect():
    from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

    return PGDialect_psycopg()


def keywords(url: str, *, database: str | None = None) -> dict[str, str]:
    """libpq's keywords for URL, the password included; DATABASE instead of the URL's own.

    Host and port follow SQLAlchemy's rules (the authority, or `?host=` and `?port=`, which
    may name a socket directory or several hosts). Raises BadInput for a URL that is not a
    usable PostgreSQL URL (`urls.url_problem`: e.g. a keyword libpq does not know).
    """
    problem = url_problem(url)
    if problem is None and parse_url(url).get_backend_name() != "postgresql":
        problem = "not a PostgreSQL URL"
    if problem:
        raise BadInput(f"database URL {mask_url(url)}: {problem}", hint=f"use {SUPPORTED}")
    parsed = parse_url(url if database is None else with_database(url, database))
    _, params = _dialect().create_connect_args(parsed)
    params.pop("context", None)  # psycopg's adapters, not a libpq keyword
    return {key: str(value) for key, value in params.items()}


def conninfo(url: str, *, database: str | None = None) -> str:
    """URL as a libpq conninfo string without its password, for a tool's `--dbname=`.

    DATABASE names another database on the same server (a scratch copy). Raises BadInput
    as `keywords` does.
    """
    from psycopg.conninfo import make_conninfo

    params = keywords(url, database=database)
    params.pop("password", None)
    return make_conninfo("", **params)


def tool_env(url: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a client tool runs with: BASE (this process's), plus URL's password.

    The URL's password goes in `PGPASSWORD`; without one, an inherited `PGPASSWORD`, a
    `passfile`, `PGPASSFILE` or `~/.pgpass` applies, as it does to this process's own
    connections. `PGCONNECT_TIMEOUT` is set unless already there (the URL's
    `connect_timeout` overrides it anyway).
    """
    env = dict(os.environ if base is None else base)
    env.setdefault("PGCONNECT_TIMEOUT", CONNECT_TIMEOUT)
    password = keywords(url).get("password")
    if password is not None:
        env["PGPASSWORD"] = password
    return env


def tool_args(url: str, *, database: str | None = None) -> tuple[list[str], dict[str, str]]:
    """(`--dbname=<conninfo>`, the environment) for pg_dump, pg_restore, psql, createdb."""
    return [f"--dbname={conninfo(url, database=database)}"], tool_env(url)


def shown(message: str, url: str) -> str:
    """A tool's message about URL, safe to show: its password masked, control characters
    escaped."""
    password = keywords(url).get("password")
    if password:
        message = message.replace(password, "***")
    return escape(message)


# libpq's words when a connection is not made (pg_dump and pg_restore print them as they are).
_CONNECTION_FAILED = re.compile(
    r"connection to server .* failed|could not connect|invalid connection option"
    r"|could not translate host name|connection to database .* failed"
    r"|password authentication failed|no password supplied|SSL",
    re.IGNORECASE,
)


def connection_failed(message: str) -> bool:
    """Whether a client tool's error MESSAGE says it could not connect (not a later error)."""
    return bool(_CONNECTION_FAILED.search(message))
