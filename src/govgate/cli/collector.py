"""Python's cyclic garbage collector in a `govgate` process.

A one-shot command (`status`, `apply`, `propose`…) ends within seconds and builds tens of
thousands of tuples that live until then (a 60,000-slot state, a proposal's slots): every
pass of the collector over them was wasted, for cyclic garbage that the process's end
reclaims anyway. At 60,000 slots the one pass after each transaction (db.session pauses the
collector inside it) was 30–85 ms of a `status`, `verify` or `rollback`. So a one-shot command
runs without it. `serve` and `agent` run for days: they collect, rarely.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_LONG_RUNNING_THRESHOLDS = (100_000, 50, 100)


@contextmanager
def one_command() -> Iterator[None]:
    """Run a command without the cyclic collector, with what was imported frozen out of any
    later scan; the collector's state and thresholds as found afterwards (the test suite
    calls the command line in its own process)."""
    enabled, thresholds = gc.isenabled(), gc.get_threshold()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        if enabled:
            gc.enable()


def long_running() -> None:
    """For `serve` and `agent`: collect again, far less often than Python's default (what
    they build per poll holds no cycles; a transaction pauses the collector while it runs)."""
    gc.set_threshold(*_LONG_RUNNING_THRESHOLDS)
    gc.enable()
