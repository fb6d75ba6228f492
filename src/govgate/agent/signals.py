"""Stopping the agent: SIGTERM and SIGINT unwind whatever runs, and the backoff between retries."""

from __future__ import annotations

import signal
import threading

BACKOFF_INITIAL = 0.5
BACKOFF_CAP = 10.0


class Terminated(KeyboardInterrupt):
    """A stop signal arrived. Raised from the signal handler, so that whatever runs,
    a rollout's transaction included, unwinds and rolls back (psycopg also cancels
    a query in flight for a KeyboardInterrupt)."""

    def __init__(self, sig: signal.Signals):
        super().__init__(sig.name)
        self.signal = sig
        self.exit_code = 128 + int(sig)


class Backoff:
    """Exponential backoff: INITIAL, doubling, capped at CAP; `reset` after a success."""

    def __init__(
        self, initial: float = BACKOFF_INITIAL, cap: float = BACKOFF_CAP, factor: float = 2.0
    ):
        self.initial, self.cap, self.factor = initial, cap, factor
        self.attempts = 0

    def next(self) -> float:
        delay = min(self.cap, self.initial * self.factor**self.attempts)
        self.attempts += 1
        return delay

    def reset(self) -> None:
        self.attempts = 0


class Stopper:
    """SIGTERM/SIGINT handling: raise Terminated while armed, else remember the signal."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self):
        self.requested: signal.Signals | None = None
        self.armed = False
        self._previous: dict = {}

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in self.SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)

    def restore(self) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous.clear()

    def _handle(self, signum, _frame) -> None:
        self.requested = signal.Signals(signum)
        if self.armed:
            self.armed = False
            raise Terminated(self.requested)

    def pending(self) -> None:
        if self.requested is not None:
            self.armed = False
            raise Terminated(self.requested)
