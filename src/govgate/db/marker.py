"""A cheap answer to "was anything committed to this database since I last looked?".

The owner's page polls every few seconds; recomputing the verdict reads the whole
governance state. A `ChangeMarker` reads one value that changes with every commit, so a
poll on an unchanged database costs one tiny query instead:

- PostgreSQL: `pg_current_snapshot()`. A transaction that writes gets a transaction id;
  while it runs it is listed in every snapshot, and once it ends it leaves the list or
  `xmax` has moved past it. Equal snapshots therefore mean that no write transaction ended
  in between (read-only transactions take no id and change nothing). It covers the whole
  cluster: a write in another database also counts, which only costs a recomputation.
- SQLite: `PRAGMA data_version` on one connection held for the purpose: it changes when
  any other connection commits (the marker's own connection never writes). The file's
  identity is part of the marker: a file replaced by another (a rebuilt demo) would leave
  the held connection on the old one, so a new identity opens a new connection.
- Elsewhere (MySQL/MariaDB): no such value; `read` returns None and callers recompute.

Failures reaching the database raise its GovgateError (see `session.translate`).
"""

from __future__ import annotations

import os
import threading

from ..errors import DatabaseUnreachable
from ..urls import parse_url
from .engine import make_engine
from .session import driver_errors


class ChangeMarker:
    """The change marker of the database at URL; `close()` releases its connection."""

    def __init__(self, url: str):
        self.url = url
        self._engine = make_engine(url, read_only=True)
        self._lock = threading.Lock()
        self._raw = None  # SQLite: the one connection whose data_version is compared
        self._file: tuple[int, int] | None = None  # SQLite: (device, inode) _raw has open

    def read(self) -> str | None:
        """A value equal to the previous one only if nothing was committed in between."""
        name = self._engine.dialect.name
        with self._lock, driver_errors(self.url):
            if name == "sqlite":
                return self._sqlite()
            if name == "postgresql":
                with self._engine.connect() as conn:
                    return conn.exec_driver_sql("SELECT pg_current_snapshot()::text").scalar()
            return None

    def _sqlite(self) -> str:
        try:
            st = os.stat(parse_url(self.url).database)
        except OSError as exc:
            raise DatabaseUnreachable(f"no SQLite database at {self.url}: {exc.strerror}") from exc
        if self._raw is not None and self._file != (st.st_dev, st.st_ino):
            self._drop()
        if self._raw is None:
            self._raw = self._engine.raw_connection()
            self._file = (st.st_dev, st.st_ino)
        (version,) = self._raw.driver_connection.execute("PRAGMA data_version").fetchone()
        return f"{st.st_dev}:{st.st_ino}:{version}"

    def _drop(self) -> None:
        if self._raw is not None:
            self._raw.close()
            self._raw = None

    def close(self) -> None:
        with self._lock:
            self._drop()
        self._engine.dispose()
