"""Copies of a database for rehearsal, dropped when done however it ends.

SQLite: the backup API on a `mode=ro` connection. PostgreSQL: `pg_dump | pg_restore`
into a scratch database, which reads one consistent snapshot beside other connections.

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
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from glob import glob
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from ..errors import EnvironmentFault, GovgateError
from .engine import make_engine
from .session import connect

Progress = Callable[[str, int, int], None]  # (what, done, total)


@contextmanager
def scratch_copy(url: str, progress: Progress | None) -> Iterator[str]:
    """A fresh copy of the database at URL, dropped when the block ends, however it ends."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        folder = tempfile.mkdtemp(prefix="govgate-rehearsal-")
        target = os.path.join(folder, "copy.db")
        try:
            _sqlite_backup(parsed.database, target, progress)
            yield f"sqlite:///{target}"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    name = "govgate_rehearsal_" + uuid.uuid4().hex[:12]
    copy_url = parsed.set(database=name).render_as_string(hide_password=False)
    _pg_admin(url, f'CREATE DATABASE "{name}"')
    try:
        _pg_copy(url, copy_url, progress)
        yield copy_url
    finally:
        _pg_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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


def _pg_admin(url: str, sql: str) -> None:
    engine = make_engine(url)
    try:
        with connect(engine) as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text(sql))
    except GovgateError as exc:
        raise EnvironmentFault(
            f"cannot create or drop the rehearsal database: {exc.message}",
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


def _libpq_env(url) -> tuple[list[str], dict[str, str]]:
    # The password goes through the environment, never the command line.
    args = [
        "-h",
        url.host or "127.0.0.1",
        "-p",
        str(url.port or 5432),
        "-U",
        url.username or "postgres",
    ]
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    if url.password:
        env["PGPASSWORD"] = url.password
    return args, env


def _pg_copy(source_url: str, target_url: str, progress: Progress | None) -> None:
    src, dst = make_url(source_url), make_url(target_url)
    src_args, env = _libpq_env(src)
    dst_args, _ = _libpq_env(dst)
    if progress:
        progress("copying production", 0, 1)
    dump = subprocess.Popen(
        [_pg_tool("pg_dump"), *src_args, "-d", src.database, "-Fc", "--no-owner"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    restore = subprocess.run(
        [
            _pg_tool("pg_restore"),
            *dst_args,
            "-d",
            dst.database,
            "--no-owner",
            "--exit-on-error",
            "--single-transaction",
        ],
        stdin=dump.stdout,
        capture_output=True,
        env=env,
    )
    dump.stdout.close()
    dump_err = dump.communicate()[1]
    if dump.returncode or restore.returncode:
        message = (dump_err or restore.stderr).decode(errors="replace").strip().splitlines()
        raise EnvironmentFault(
            f"copying production failed: {message[-1] if message else 'unknown error'}",
            hint="check that pg_dump matches the server's major version",
        )
    if progress:
        progress("copying production", 1, 1)


def copy_exists(url: str | None) -> bool:
    if not url:
        return False
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return Path(parsed.database).exists()
    return False  # dropped in scratch_copy's finally, which raises if it cannot drop
