"""Names of the rehearsal's scratch copies, and the copies a killed rehearsal left behind.

A rehearsal drops its copy in a `finally`; kill -9, an OOM kill or a power cut end it before
that runs, and the copy stays (a whole database on PostgreSQL and MariaDB, a folder in the
temporary directory on SQLite). Each copy's name carries its host (a hash of the host name)
and the pid of the rehearsal that made it, so the next rehearsal on the same host drops every
copy whose process is gone. A copy made on another host, or by a process still running, is
never touched: a pid cannot be checked across hosts, and a live one may be rehearsing now.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import tempfile
import uuid
from pathlib import Path

import sqlalchemy as sa

from .engine import make_engine
from .session import connect

PREFIX = "govgate_rehearsal_"  # a database's name on PostgreSQL and MariaDB
FOLDER_PREFIX = "govgate-rehearsal-"  # a folder in the temporary directory, for SQLite
# Where each server lists its databases (a LIKE pattern picks the scratch copies' prefix).
_DATABASES = {
    "postgresql": "SELECT datname FROM pg_database WHERE datname LIKE :p",
    "mysql": "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE :p",
}
_NAME = re.compile(rf"^(?:{PREFIX}|{FOLDER_PREFIX})([0-9a-f]{{8}})_([0-9]+)_\w+$")


def _host() -> str:
    return hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]


def database_name() -> str:
    """A new scratch database's name: host, pid and a random part (41 characters, within
    PostgreSQL's 63 and MariaDB's 64)."""
    return f"{PREFIX}{_host()}_{os.getpid()}_{uuid.uuid4().hex[:12]}"


def folder_prefix() -> str:
    """The prefix of a new SQLite scratch folder (tempfile.mkdtemp adds a random part)."""
    return f"{FOLDER_PREFIX}{_host()}_{os.getpid()}_"


def is_stale(name: str) -> bool:
    """Whether NAME is a scratch copy made on this host by a process that is gone."""
    found = _NAME.match(name)
    return bool(found) and found[1] == _host() and not _alive(int(found[2]))


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def stale_databases(url: str) -> list[str]:
    """Scratch databases on URL's server (PostgreSQL, MySQL or MariaDB) that a killed rehearsal
    on this host left behind. Raises the connection's GovgateError when the server does not
    answer."""
    engine = make_engine(url)
    try:
        with connect(engine) as conn:
            dialect = "postgresql" if conn.dialect.name == "postgresql" else "mysql"
            pattern = PREFIX.replace("_", r"\_") + "%"
            names = conn.execute(sa.text(_DATABASES[dialect]), {"p": pattern}).scalars()
            return [name for name in names if is_stale(name)]
    finally:
        engine.dispose()


def drop_stale_folders() -> None:
    """Remove the SQLite scratch folders a killed rehearsal on this host left behind."""
    for path in Path(tempfile.gettempdir()).glob(FOLDER_PREFIX + "*"):
        if path.is_dir() and is_stale(path.name):
            shutil.rmtree(path, ignore_errors=True)
