"""What every throwaway server of the suite shares: stopped with its block, or at exit."""

from __future__ import annotations

import atexit
import shutil
from typing import Self


class Throwaway:
    """A server started by `start()` and stopped (its temp dir removed) by `stop(remove=True)`.

    Used as a context manager; `atexit` calls `_cleanup_at_exit`, which never raises.
    """

    def start(self) -> Self:  # pragma: no cover - every server defines it
        raise NotImplementedError

    def stop(self, remove: bool = True) -> None:  # pragma: no cover - every server defines it
        raise NotImplementedError

    _root_dir: str
    _removed: bool

    def restart(self) -> None:
        """Stop the server without removing anything and start it again (same port, same data)."""
        self.stop(remove=False)
        self.start()

    def _remove(self) -> None:
        """Delete the temp dir for good (the server is stopped); at exit nothing is left to do."""
        shutil.rmtree(self._root_dir, ignore_errors=True)
        self._removed = True
        atexit.unregister(self._cleanup_at_exit)

    def _cleanup_at_exit(self) -> None:
        """atexit hook: stop the server and delete the temp dir, ignoring errors."""
        try:
            self.stop(remove=True)
        except Exception:
            pass

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
