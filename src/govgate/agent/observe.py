"""How an agent is seen without opening a port: its heartbeat row, a metrics file, systemd.

The loop tells the `Observer` what happens (started, polled, applying, trouble, stopped);
on each poll the observer

- writes this process's heartbeat row (`db.heartbeat`) through the agent's own connection,
  in a transaction of its own (never inside a rollout's). To keep the page's change marker
  meaningful (`web.fresh`: a commit makes the page recompute), an unchanged heartbeat is
  written at most every `heartbeat_every` seconds: a quarter of `[agent] stale_after`,
  at most 15 s; any change of state or of the gate's word is written at once;
- replaces the metrics file (`[agent] metrics_file`, `agent.metrics`), when configured;
- sends systemd `WATCHDOG=1` and a `STATUS=` line (`agent.systemd`), under `Type=notify`.

None of this can stop the agent: a failed heartbeat or metrics file is said once as a
warning event (a lost database is the loop's to report), and the agent goes on.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from .. import __version__
from ..config import Settings
from ..db import heartbeat
from ..db.session import Database
from ..errors import describe, lost_connection
from . import metrics
from .events import Event, event
from .systemd import Notifier

HEARTBEAT_CAP_S = 15.0


class Observer:
    """The agent's heartbeat, metrics file and systemd notifications."""

    def __init__(self, settings: Settings, notifier: Notifier | None = None):
        self.settings = settings
        self.notifier = notifier if notifier is not None else Notifier.from_environment()
        self.row = heartbeat.Heartbeat(
            id=secrets.token_hex(12),
            identity=settings.agent_identity,
            version=__version__,
            host=socket.gethostname(),
            pid=os.getpid(),
            started_at=heartbeat.now(),
            seen_at=heartbeat.now(),
            state="starting",
        )
        self.started = time.time()
        self.every = min(HEARTBEAT_CAP_S, settings.agent_stale_after / 4)
        self.state, self.status, self.gap = "starting", None, None
        self.polls = self.rollouts = self.errors = 0
        self.last_poll: float | None = None
        self.database_up = False
        self._db: Database | None = None
        self._written: tuple | None = None  # what the last heartbeat said, and when (monotonic)
        self._said: set[str] = set()  # the problems already said once

    # -- what the loop tells it

    def start(self) -> list[Event]:
        self.notifier.send(ready=1, status=f"govgate agent {__version__} started")
        return self._publish()

    def polled(self, verdict, *, holding: bool = False) -> list[Event]:
        self.polls += 1
        self.last_poll, self.database_up = time.time(), True
        self.status, self.gap = verdict.status.value, verdict.gap
        self.state = "waiting" if holding else "idle"
        return self._publish()

    def applying(self) -> list[Event]:
        self.state = "applying"
        return self._publish(force=True)

    def applied(self) -> None:
        self.rollouts += 1

    def failed(self) -> None:
        """A rollout was refused or aborted (counted; the next poll says the rest)."""
        self.errors += 1

    def trouble(self, exc: BaseException) -> list[Event]:
        """The database is out of reach (or another environment error): retrying."""
        self.errors += 1
        self.state, self.database_up = "waiting", not lost_connection(exc)
        self._drop()
        return self._publish(database=False)

    def step(self) -> None:
        """A rollout goes on: systemd's watchdog hears from it between polls. Only from the
        agent's own process: a contained child's datagram is ignored (`NotifyAccess=main`)
        or refused (an abstract socket); `rolling_out` speaks for it."""
        if os.getpid() == self.row.pid:
            self.notifier.send(watchdog=1)

    @contextmanager
    def rolling_out(self) -> Iterator[None]:
        """While the block runs a rollout (in a contained child, this process only waits),
        a thread keeps systemd's watchdog fed: a quarter of its period apart."""
        period = self.notifier.watchdog_s()
        if not period:
            yield
            return
        done = threading.Event()

        def feed() -> None:
            while not done.wait(period / 4):
                self.notifier.send(watchdog=1)

        thread = threading.Thread(target=feed, name="govgate-watchdog", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()

    def stop(self, code: int) -> list[Event]:
        self.state = "stopped"
        self.notifier.send(stopping=1, status=f"stopping (exit {code})")
        try:
            return self._publish(force=True, up=False)
        finally:
            self._drop()
            self.notifier.close()

    def wait_s(self, interval: float) -> float:
        """How long the agent may wait before its next poll: INTERVAL, or less when systemd's
        watchdog wants to hear from it sooner (half its period)."""
        period = self.notifier.watchdog_s()
        return min(interval, period / 2) if period else interval

    # -- saying it

    def _publish(self, *, force: bool = False, up: bool = True, database: bool = True) -> list:
        said: list[Event] = []
        if database:
            said += self._beat(force)
        said += self._metrics(up)
        gate = f"the gate says {self.status}, gap {self.gap}" if self.status else "gate not read"
        self.notifier.send(watchdog=1, status=f"{self.state}: {gate}")
        return said

    def _beat(self, force: bool) -> list[Event]:
        said = (self.state, self.status, self.rollouts)
        now = time.monotonic()
        if not force and self._written and self._written[0] == said:
            if now - self._written[1] < self.every:
                return []
        row = heartbeat.Heartbeat(
            **{
                **self.row.__dict__,
                "seen_at": heartbeat.now(),
                "state": self.state,
                "last_status": self.status,
                "polls": self.polls,
                "rollouts": self.rollouts,
                "errors": self.errors,
            }
        )
        try:
            if self._db is None:
                self._db = Database(self.settings.agent_url)
            with self._db.transaction() as conn:
                heartbeat.beat(conn, row)
        except Exception as exc:
            self._drop()
            if lost_connection(exc):
                return []  # the loop reports the outage itself
            return self._once(
                "heartbeat",
                event(
                    "heartbeat_failed",
                    "warning",
                    error=describe(exc),
                    hint="run `govgate upgrade` (the heartbeat table is revision v4) and "
                    "`govgate init --roles` (the agent's role may insert and update it)",
                ),
            )
        self._written = (said, now)
        self._said.discard("heartbeat")
        return []

    def _metrics(self, up: bool) -> list[Event]:
        path = self.settings.metrics_file
        if not path:
            return []
        snap = metrics.Snapshot(
            up=up,
            started=self.started,
            last_poll=self.last_poll,
            state=self.state,
            status=self.status,
            gap=self.gap,
            polls=self.polls,
            rollouts=self.rollouts,
            errors=self.errors,
            database_up=self.database_up,
            info={"version": __version__, "host": self.row.host, "identity": self.row.identity},
        )
        try:
            metrics.write(path, metrics.render(snap))
        except OSError as exc:
            return self._once(
                "metrics",
                event("metrics_failed", "warning", file=path, error=exc.strerror or str(exc)),
            )
        self._said.discard("metrics")
        return []

    def _once(self, what: str, ev: Event) -> list[Event]:
        if what in self._said:
            return []
        self._said.add(what)
        return [ev]

    def _drop(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
