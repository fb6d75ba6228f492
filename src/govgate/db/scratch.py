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
import socket
import uuid

PREFIX = "govgate_rehearsal_"  # a database's name on PostgreSQL and MariaDB
FOLDER_PREFIX = "govgate-rehearsal-"  # a folder in the temporary directory, for SQLite
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
