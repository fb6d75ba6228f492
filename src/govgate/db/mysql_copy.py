"""MySQL and MariaDB: a rehearsal's scratch copy, `mariadb-dump --single-transaction` into a
new database on the same server, dropped when done however it ends.

`--single-transaction` reads every InnoDB table in one consistent snapshot beside other
sessions without locking them; a table of another engine (MyISAM, Aria, MEMORY) is read
outside that snapshot and could be copied half-written. So the copy is refused when a table
the rehearsal depends on (govgate's own, and the governed collections) is not InnoDB.

The password reaches the dump and the client through a defaults file readable by this
user alone, deleted afterwards: never on a command line, where `ps` would show it. Messages
name the URL with its password masked.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from ..errors import EnvironmentFault, GovgateError, Refused
from ..urls import mask_url, parse_url
from . import schema as s
from . import scratch
from .engine import make_engine, quote
from .session import connect

Progress = Callable[[str, int, int], None]


@contextmanager
def scratch_copy(url: str, progress: Progress | None) -> Iterator[str]:
    """A fresh copy of the database at URL in a new database `govgate_rehearsal_…`, dropped
    when the block ends. Refused when a table the rehearsal reads is not InnoDB;
    EnvironmentFault when the database cannot be created, copied or the tools are missing."""
    parsed = parse_url(url)
    name = scratch.database_name()
    copy_url = parsed.set(database=name).render_as_string(hide_password=False)
    for stale in scratch.stale_databases(url):
        _admin(url, "drop", stale)
    _admin(url, "create", name)
    try:
        with _defaults_file(parsed) as defaults:
            _copy(defaults, parsed.database, name, url, progress)
        yield copy_url
    finally:
        _admin(url, "drop", name)


def _admin(url: str, action: str, name: str) -> None:
    """ "create": check the engines, then create database NAME with the source's character
    set and collation; "drop": drop it if it exists."""
    engine = make_engine(url)
    try:
        with connect(engine) as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            if action == "drop":
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {quote(conn, name)}"))
                return
            _refuse_other_engines(conn)
            charset, collation = conn.execute(
                sa.text(
                    "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME "
                    "FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = DATABASE()"
                )
            ).one()
            conn.execute(
                sa.text(
                    f"CREATE DATABASE {quote(conn, name)} CHARACTER SET {charset} "
                    f"COLLATE {collation}"
                )
            )
    except Refused:
        raise
    except GovgateError as exc:
        raise EnvironmentFault(
            f"cannot create or drop the rehearsal database: {exc.message}",
            hint="the main URL's login needs CREATE and DROP on databases named "
            "govgate_rehearsal_% to rehearse on MySQL or MariaDB",
        ) from exc
    finally:
        engine.dispose()


def _refuse_other_engines(conn) -> None:
    governed = set(s.metadata.tables)
    if s.governed_collections.name in sa.inspect(conn).get_table_names():
        governed |= {c for (c,) in conn.execute(sa.select(s.governed_collections.c.collection))}
    rows = conn.execute(
        sa.text(
            "SELECT TABLE_NAME, ENGINE FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'"
        )
    ).all()
    other = sorted(f"{t} ({e})" for t, e in rows if t in governed and (e or "").lower() != "innodb")
    if other:
        raise Refused(
            "a rehearsal copies production in one consistent snapshot, which only InnoDB tables "
            f"give; these governed tables use another engine: {', '.join(other)}",
            hint="convert them (ALTER TABLE … ENGINE=InnoDB) before rehearsing",
        )


def _tool(*names: str) -> str:
    for name in names:
        for path in (shutil.which(name), f"/usr/bin/{name}"):
            if path and os.access(path, os.X_OK):
                return path
    raise EnvironmentFault(
        f"{names[0]} is not installed",
        hint="install the MariaDB client tools (Debian: mariadb-client), or MySQL's",
    )


def _option(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@contextmanager
def _defaults_file(parsed) -> Iterator[str]:
    """A `[client]` options file with the login, host, port and password; mode 0600."""
    lines = ["[client]", f"host={_option(parsed.host or '127.0.0.1')}"]
    lines += [f"port={int(parsed.port or 3306)}", f"user={_option(parsed.username or '')}"]
    if parsed.password:
        lines.append(f"password={_option(parsed.password)}")
    fd, path = tempfile.mkstemp(prefix="govgate-client-", suffix=".cnf")
    try:
        with os.fdopen(fd, "w") as handle:  # mkstemp made it 0600
            handle.write("\n".join(lines) + "\n")
        yield path
    finally:
        os.unlink(path)


def _copy(defaults: str, source: str, target: str, url: str, progress: Progress | None) -> None:
    first = f"--defaults-extra-file={defaults}"  # must be the first option
    dump_cmd = [_tool("mariadb-dump", "mysqldump"), first, "--single-transaction"]
    dump_cmd += ["--routines", "--triggers", "--skip-lock-tables", "--hex-blob"]
    dump_cmd += ["--default-character-set=utf8mb4", "--", source]
    load_cmd = [_tool("mariadb", "mysql"), first, "--default-character-set=utf8mb4", target]
    if progress:
        progress("copying production", 0, 1)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MYSQL", "MARIADB"))}
    dump = subprocess.Popen(dump_cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    load = subprocess.run(load_cmd, stdin=dump.stdout, capture_output=True, env=env)
    dump.stdout.close()
    dump_err = dump.communicate()[1]
    if dump.returncode or load.returncode:
        lines = (dump_err or load.stderr).decode(errors="replace").strip().splitlines()
        raise EnvironmentFault(
            f"copying production at {mask_url(url)} failed: "
            + (lines[-1] if lines else "unknown error"),
            hint="the main URL's login needs SELECT, SHOW VIEW, TRIGGER and LOCK TABLES on "
            "production, and may need SUPER or SET USER to restore views and triggers whose "
            "definer is another login",
        )
    if progress:
        progress("copying production", 1, 1)
