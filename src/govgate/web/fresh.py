"""Answers the page computes once per change: a poll of an unchanged database is one query.

Every open tab polls `/status.json` (and its twins) every few seconds. An answer is kept
with the stamp it was computed under: the change markers of the main and the agent's
database (`db.marker`) and the trust root file's identity (a new allowed_signers changes
what a signature proves). A poll whose stamp is equal gets the kept answer; any commit, to
any table, makes the next poll recompute. The marker is read *before* the answer is
computed, so a commit that races the computation changes the next stamp and is seen then.

Time matters too: an approval expires without any commit. An answer is therefore kept at
most MAX_AGE_S seconds, so the page shows an expiry within that bound; the gate itself
(`apply`, the agent) never uses this cache and judges expiry to the second.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Hashable

from ..config import Settings
from ..db.marker import ChangeMarker
from ..errors import GovgateError

MAX_AGE_S = 30.0


class Fresh:
    """Kept answers for SETTINGS' databases; `close()` releases the markers' connections."""

    def __init__(self, settings: Settings, max_age_s: float = MAX_AGE_S):
        self.settings = settings
        self.max_age_s = max_age_s
        self._markers: list[ChangeMarker] | None = None  # opened at the first poll
        self._kept: dict[Hashable, tuple[tuple, float, object]] = {}
        self._lock = threading.Lock()
        self.computed = 0  # how many answers were computed rather than kept (for tests)

    def get(self, key: Hashable, build: Callable[[], object]) -> object:
        """BUILD()'s value for KEY, computed again only when the stamp changed or aged out."""
        stamp = self._stamp()
        now = time.monotonic()
        if stamp is not None:
            with self._lock:
                kept = self._kept.get(key)
            if kept is not None and kept[0] == stamp and now < kept[1]:
                return kept[2]
        value = build()
        self.computed += 1
        if stamp is not None:
            with self._lock:
                self._kept[key] = (stamp, now + self.max_age_s, value)
        return value

    def _stamp(self) -> tuple | None:
        """The current stamp, or None (recompute) when a marker cannot be had: the
        computation then meets the same database and reports what is wrong with it."""
        try:
            if self._markers is None:
                urls = dict.fromkeys((self.settings.db_url, self.settings.agent_url))
                self._markers = [ChangeMarker(url) for url in urls]
            markers = tuple(m.read() for m in self._markers)
        except GovgateError:
            self.close()
            return None
        if any(m is None for m in markers):
            return None  # a database without a marker: always recompute
        return (*markers, _file_identity(self.settings.allowed_signers))

    def close(self) -> None:
        markers, self._markers = self._markers or [], None
        for marker in markers:
            marker.close()


def _file_identity(path: str | None) -> tuple | None:
    if not path:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return ("missing",)
    return (st.st_ino, st.st_size, st.st_mtime_ns)
