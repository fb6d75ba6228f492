"""Copies of a database for rehearsal, dropped when done however it ends.

SQLite: the backup API on a `mode=ro` connection. PostgreSQL: `pg_dump | pg_restore`
into a scratch database, which reads one consistent snapshot beside other connections; the
tools connect with every libpq keyword of the URL (db/pgconninfo.py).
MySQL and MariaDB: `mariadb-dump --single-transaction` into a scratch database (db/mysql_copy.py).

Why pg_dump/pg_restore and not `CREATE DATABASE … TEMPLATE`: a template copy needs
the source to have no other connections, and a Directus production always has some;
pg_dump works beside them and never blocks them.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from glob import glob
from pathlib import Path

import sqlalchemy as sa

from ..errors import DatabaseUnreachable, EnvironmentFault, GovgateError
from ..urls import mask_url, parse_url, with_database
from . import mysql_copy, pgconninfo, scratch
from .engine import make_engine
from .mysql import FAMILY
from .session import connect

Progress = Callable[[str, int, int], None]  # (what, done, total)


@contextmanager
def scratch_copy(url: str, progress: Progress | None) -> Iterator[str]:
    """A fresh copy of the database at URL, dropped when the block ends, however it ends."""
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        scratch.drop_stale_folders()
        folder = tempfile.mkdtemp(prefix=scratch.folder_prefix())
        target = os.path.join(folder, "copy.db")
        try:
            _sqlite_backup(parsed.database, target, progress)
            yield f"sqlite:///{target}"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    if parsed.get_backend_name() in FAMILY:
        with mysql_copy.scratch_copy(url, progress) as copy_url:
            yield copy_url
        return
    for stale in scratch.stale_databases(url):
        _pg_admin(url, f'DROP DATABASE IF EXISTS "{stale}" WITH (FORCE)', "drop a stale")
    name = scratch.database_name()
    copy_url = with_database(url, name)
    _pg_admin(url, f'CREATE DATABASE "{name}"', "create")
    try:
        copy_postgres(url, copy_url, progress)
        yield copy_url
    finally:
        _pg_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', "drop")


def _sqlite_backup(source: str, target: str, progress: Progress | None) -> None:
    src = sqlite3.connect(f"file:{Path(source).resolve()}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:

        def report(_status, remaining, total):
            if progress:
                progress("copying production", total - remaining, total)

        src.backup(dst, pages=256, progress=report)
    finally:
        dst.close()
        src.close()


def _pg_admin(url: str, sql: str, verb: str) -> None:
    engine = make_engine(url)
    try:
        with connect(engine) as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text(sql))
    except DatabaseUnreachable:
        raise  # it names the server and why; CREATEDB has nothing to do with it
    except GovgateError as exc:
        raise EnvironmentFault(
            f"cannot {verb} the rehearsal database: {exc.message}",
            hint="the main URL's role needs CREATEDB to rehearse on PostgreSQL",
        ) from exc
    finally:
        engine.dispose()


def _pg_tool(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if not found:
        raise EnvironmentFault(
            f"{name} is not installed", hint="install the PostgreSQL client tools"
        )
    return found


def copy_postgres(source_url: str, target_url: str, progress: Progress | None = None) -> None:
    """`pg_dump SOURCE | pg_restore TARGET` in one transaction; TARGET must exist and be empty.

    Both tools connect as the URLs say, every libpq keyword kept (db/pgconninfo.py), the
    password in their environment only. Raises DatabaseUnreachable when a tool cannot
    connect, EnvironmentFault when pg_dump is older than the server or anything else fails;
    each message quotes the tool's own first error line, password masked.
    """
    dump_args, dump_env = pgconninfo.tool_args(source_url)
    restore_args, restore_env = pgconninfo.tool_args(target_url)
    if progress:
        progress("copying production", 0, 1)
    # pg_dump's errors go to a file: a pipe nobody reads while pg_restore runs could fill up
    # and stall it.
    with tempfile.TemporaryFile() as dump_err:
        dump = subprocess.Popen(
            [_pg_tool("pg_dump"), *dump_args, "--format=custom", "--no-owner"],
            stdout=subprocess.PIPE,
            stderr=dump_err,
            env=dump_env,
        )
        restore = subprocess.run(
            [_pg_tool("pg_restore"), *restore_args]
            + ["--no-owner", "--exit-on-error", "--single-transaction"],
            stdin=dump.stdout,
            capture_output=True,
            env=restore_env,
        )
        dump.stdout.close()
        dump.wait()
        dump_err.seek(0)
        dump_stderr = dump_err.read()
    # pg_restore stopping first breaks pg_dump's pipe: then pg_restore's error is the cause.
    if restore.returncode and (not dump.returncode or b"Broken pipe" in dump_stderr):
        raise tool_failure("pg_restore", restore.stderr, target_url, "the scratch copy")
    if dump.returncode:
        raise tool_failure("pg_dump", dump_stderr, source_url, "production")
    if restore.returncode:
        raise tool_failure("pg_restore", restore.stderr, target_url, "the scratch copy")
    if progress:
        progress("copying production", 1, 1)


def tool_failure(tool: str, stderr: bytes, url: str, what: str) -> GovgateError:
    """The error for TOOL's failure on URL (WHAT it is), from its own words on STDERR."""
    lines = [x.strip() for x in stderr.decode(errors="replace").splitlines() if x.strip()]
    first = next((x for x in lines if "error:" in x), lines[0] if lines else "")
    said = pgconninfo.shown(first, url) if first else f"{tool} failed without a message"
    where = mask_url(url)
    if "server version mismatch" in first:
        detail = next((x for x in lines if "version:" in x), "")
        return EnvironmentFault(
            f"{tool} is older than the server of {what} at {where}: {said}"
            + (f" ({pgconninfo.shown(detail, url)})" if detail else ""),
            hint="install the PostgreSQL client tools of the server's major version or newer",
        )
    if pgconninfo.connection_failed(first):
        return DatabaseUnreachable(
            f"{tool} cannot connect to {what} at {where}: {said}",
            hint="the tools connect as the URL says (host or socket, port, sslmode, service, "
            "passfile, .pgpass); `govgate --db URL status` tests the same URL",
        )
    return EnvironmentFault(f"copying production with {tool} failed: {said}")


def copy_exists(url: str | None) -> bool:
    if not url:
        return False
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        return Path(parsed.database).exists()
    return False  # dropped in scratch_copy's finally, which raises if it cannot drop
