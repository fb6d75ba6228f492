"""The unattended agent: watch the gate, run the rollout once READY,
verify it, report it, and keep watching.

`run(settings, ...)` is a generator of `events.Event`s; it never prints or
exits. Its last event is always `stopped`, whose `exit_code` is the process's:

    0        applied, or the proposal is already APPLIED (by this agent or another)
    1        BLOCKED, refused, or aborted (rolled back: nothing changed), or the
             verification after commit failed
    3        environment error: database unreachable, a table missing (`--once`;
             watching, the agent waits those out with backoff instead)
    130/143  stopped by SIGINT/SIGTERM; a rollout in progress was rolled back

How it keeps its guarantees (exactly once, outages, signals, no emission, never
writing approvals) is written down in docs/GUARANTEES.md.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Iterator

from .. import api
from ..config import MIN_INTERVAL, Settings
from ..db import wakeup
from ..errors import (
    EXIT_ENVIRONMENT,
    EXIT_OK,
    EXIT_REFUSED,
    Aborted,
    BadInput,
    Refused,
    describe,
    environmental,
    lost_connection,
)
from ..guards import containment, emission
from ..runbook.apply import StepHook
from ..runbook.gate import GateVerdict, Status
from ..urls import SUPPORTED, mask_url, parse_url, url_problem
from .events import Event, event, status_event, status_key, stopped_event
from .observe import Observer
from .reports import verify_and_report
from .signals import Backoff, Stopper, Terminated


def run(
    settings: Settings,
    *,
    once: bool = False,
    interval: float | None = None,
    hook: StepHook | None = None,
    stop: threading.Event | None = None,
    handle_signals: bool = True,
) -> Iterator[Event]:
    """The agent's events. ONCE: check, act if READY, stop. Otherwise watch until
    STOP is set or a signal arrives. HOOK is passed to every apply (tests inject
    faults with it). Signals are handled only when iterated on the main thread.

    Raises BadInput for a malformed URL or interval (before any event).
    """
    interval = settings.agent_interval if interval is None else interval
    if not math.isfinite(interval) or interval < MIN_INTERVAL:
        raise BadInput(f"the agent's interval must be at least {MIN_INTERVAL} s, not {interval}")
    problem = url_problem(settings.agent_url)
    if problem:
        raise BadInput(
            f"the agent's database URL {mask_url(settings.agent_url)}: {problem}",
            hint=f"use one of the forms {SUPPORTED}",
        )
    backend = parse_url(settings.agent_url).get_backend_name()
    return _Agent(settings, float(interval), backend, hook, stop).events(once, handle_signals)


# -- the agent ---------------------------------------------------------------------------


class _Agent:
    def __init__(
        self,
        settings: Settings,
        interval: float,
        backend: str,
        hook: StepHook | None,
        stop: threading.Event | None,
    ):
        self.settings, self.interval, self.backend = settings, interval, backend
        self.hook, self.stop = hook, stop
        self.listen = backend == "postgresql"
        self.stopper = Stopper()
        self.guard: emission.Guard | None = None
        self.seen_attempts = 0
        self.listener: wakeup.Listener | None = None
        self.held: tuple[str | None, str] | None = None  # (approval, fingerprint) that aborted
        self.unreported: str | None = None  # a rollout applied here whose report is not written yet
        self.seen = Observer(settings)  # heartbeat row, metrics file, systemd (agent/observe.py)

    # -- the two modes

    def events(self, once: bool, handle_signals: bool) -> Iterator[Event]:
        if handle_signals:
            self.stopper.install()
        code, reason = EXIT_OK, "stop requested"
        try:
            with emission.guarded(emission.allowance(self.settings)) as guard:
                self.guard = guard
                try:
                    yield from self._emit(
                        event(
                            "started",
                            identity=self.settings.agent_identity,
                            pid=os.getpid(),
                            mode="once" if once else "watch",
                            backend=self.backend,
                            database=mask_url(self.settings.agent_url),
                            interval=self.interval,
                            listen=self.listen and not once,
                            report_dir=str(self.settings.report_dir),
                            allowed=list(guard.allowance.described)
                            or ["local files and unix sockets only"],
                            containment=containment.decide(self.settings).words,
                        )
                    )
                    yield from self._all(self.seen.start())
                    code = yield from (self._once() if once else self._watch())
                    reason = "checked once" if once else reason
                except Terminated as stopped:
                    code, reason = stopped.exit_code, f"{stopped.signal.name} received"
                finally:
                    self.stopper.armed = False
                    self._drop()
                yield from self.seen.stop(code)
                yield stopped_event(code, reason)
        finally:
            self.stopper.restore()

    def _once(self) -> Iterator[Event]:
        try:
            verdict = self._verdict()
            yield from self._all(self.seen.polled(verdict))
            yield from self._emit(status_event(verdict))
            if verdict.status is Status.APPLIED:
                yield from self._emit(
                    event(
                        "already_applied", rollout=verdict.rollout_id, proposal=verdict.proposal_id
                    )
                )
                return EXIT_OK
            if verdict.status is not Status.READY:
                return EXIT_REFUSED
            return (yield from self._act(verdict))
        except Exception as exc:
            if not environmental(exc):
                raise
            yield from self._all(self.seen.trouble(exc))
            yield from self._emit(self._trouble(exc, level="error"))
            return EXIT_ENVIRONMENT

    def _watch(self) -> Iterator[Event]:
        backoff = Backoff()
        down_since: float | None = None
        last = None
        while not self._stopping():
            try:
                if self.listen and self.listener is None:
                    self.listener = wakeup.Listener(self.settings.agent_url)
                    yield from self._emit(event("listening", channel=wakeup.CHANNEL))
                verdict = self._verdict()
                if down_since is not None:
                    yield from self._emit(
                        event(
                            "database_recovered",
                            after_s=round(time.monotonic() - down_since, 2),
                            retries=backoff.attempts,
                        )
                    )
                    down_since = None
                backoff.reset()
                held = (verdict.approval_id, verdict.fingerprint) == self.held
                yield from self._all(self.seen.polled(verdict, holding=held))
                yield from self._attempts()
                if status_key(verdict) != last:
                    yield from self._emit(status_event(verdict))
                    last = status_key(verdict)
                if (
                    self.unreported
                    and verdict.status is Status.APPLIED
                    and verdict.rollout_id == self.unreported
                ):
                    yield from self._finish(self.unreported)
                if (
                    verdict.status is Status.READY
                    and (verdict.approval_id, verdict.fingerprint) != self.held
                ):
                    yield from self._act(verdict)
                    last = None
                    continue  # look again at once: APPLIED now, or why not
                woken = self._wait()
                if woken:
                    yield from self._emit(event("woken", by="notify", proposals=sorted(set(woken))))
            except Exception as exc:
                if not environmental(exc):
                    raise
                delay = backoff.next()
                down_since = down_since if down_since is not None else time.monotonic()
                yield from self._all(self.seen.trouble(exc))
                yield from self._emit(self._trouble(exc, retry_in=delay, retry=backoff.attempts))
                self._drop()
                last = None
                self._sleep(delay)
        return EXIT_OK

    # -- one rollout

    def _act(self, verdict: GateVerdict) -> Iterator[Event]:
        yield from self._all(self.seen.applying())
        yield from self._emit(
            event("rollout_started", proposal=verdict.proposal_id, approval=verdict.approval_id)
        )
        try:
            with self.seen.rolling_out():  # the hook runs in the contained child, if any
                result = api.apply(self.settings, hook=self._step)
        except Terminated:
            yield from self._say_attempts()
            yield from self._say(
                event(
                    "rollout_aborted",
                    "warning",
                    proposal=verdict.proposal_id,
                    approval=verdict.approval_id,
                    rolled_back=True,
                    reason="stopped by a signal; the transaction was rolled back, nothing changed",
                )
            )
            raise
        except Refused as exc:
            yield from self._attempts()
            if lost_connection(exc):
                yield from self._emit(
                    event(
                        "rollout_interrupted",
                        "warning",
                        proposal=verdict.proposal_id,
                        approval=verdict.approval_id,
                        step=getattr(exc, "step", None),
                        reason=exc.message,
                        rolled_back=True,
                    )
                )
                raise
            return (yield from self._not_applied(verdict, exc))
        self.unreported = result.rollout_id
        self.seen.applied()
        yield from self._attempts()
        yield from self._emit(
            event(
                "applied",
                rollout=result.rollout_id,
                proposal=result.proposal_id,
                approval=result.approval_id,
                gap_before=result.gap_before,
                gap_after=result.gap_after,
                records=result.records,
                duration_ms=result.duration_ms,
            )
        )
        ok = yield from self._finish(result.rollout_id)
        return EXIT_OK if ok else EXIT_REFUSED

    def _not_applied(self, verdict: GateVerdict, exc: Refused) -> Iterator[Event]:
        after = self._verdict()
        if after.status is Status.APPLIED:  # another agent was first: that is the one rollout
            yield from self._emit(
                event(
                    "already_applied",
                    rollout=after.rollout_id,
                    proposal=after.proposal_id,
                    note="another agent applied it first",
                )
            )
            return EXIT_OK
        self.seen.failed()
        fields = {
            "proposal": verdict.proposal_id,
            "approval": verdict.approval_id,
            "reason": exc.message,
        }
        if isinstance(exc, Aborted):
            fields.update(step=exc.step, failures=list(exc.failures), rolled_back=True)
        yield from self._emit(
            event(
                "rollout_aborted" if isinstance(exc, Aborted) else "rollout_refused",
                "error",
                **fields,
            )
        )
        if after.status is Status.READY:
            self.held = (verdict.approval_id, verdict.fingerprint)
            yield from self._emit(
                event(
                    "holding",
                    "warning",
                    approval=verdict.approval_id,
                    reason="not retrying this approval on this state; a new ratification or a "
                    "change in production wakes the agent",
                )
            )
        return EXIT_REFUSED

    def _step(self, name: str, conn) -> None:
        self.seen.step()
        if self.hook:
            self.hook(name, conn)
        if name == "commit":  # past the point of no return: a signal now waits for the commit
            self.stopper.armed = False

    def _finish(self, rollout_id: str) -> Iterator[Event]:
        self.unreported = None
        ok, said = verify_and_report(self.settings, rollout_id)
        for ev in said:
            yield from self._emit(ev)
        return ok

    def _verdict(self) -> GateVerdict:
        return api.status(self.settings)  # through the agent's own connection

    # -- waiting

    def _wait(self) -> list[str]:
        wait = self.seen.wait_s(self.interval)
        if self.listener is not None:
            return self.listener.wait(wait, self._stopping)
        self._sleep(wait)
        return []

    def _sleep(self, seconds: float) -> None:
        (self.stop.wait if self.stop is not None else time.sleep)(seconds)

    def _stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def _drop(self) -> None:
        if self.listener is not None:
            self.listener.close()
            self.listener = None

    # -- saying things

    def _trouble(self, exc: BaseException, level: str | None = None, **fields) -> Event:
        lost = lost_connection(exc)
        return event(
            "database_unavailable" if lost else "environment_error",
            level or ("warning" if lost else "error"),
            error=describe(exc),
            hint=getattr(exc, "hint", None),
            **fields,
        )

    def _emit(self, ev: Event) -> Iterator[Event]:
        """Yield EV with signals deferred, then honour a signal that came meanwhile."""
        self.stopper.armed = False
        yield ev
        self.stopper.armed = True
        self.stopper.pending()

    def _all(self, events: list[Event]) -> Iterator[Event]:
        for ev in events:
            yield from self._emit(ev)

    def _say(self, ev: Event) -> Iterator[Event]:
        """Yield EV with signals deferred, leaving a pending one for later (used while stopping)."""
        was, self.stopper.armed = self.stopper.armed, False
        yield ev
        self.stopper.armed = was

    def _attempt_events(self) -> list[Event]:
        new = self.guard.attempts[self.seen_attempts :] if self.guard else []
        self.seen_attempts += len(new)
        return [
            event(
                "emission_blocked", "error", target=a.target, via=a.event, thread=a.thread, at=a.at
            )
            for a in new
        ]

    def _attempts(self) -> Iterator[Event]:
        for ev in self._attempt_events():
            yield from self._emit(ev)

    def _say_attempts(self) -> Iterator[Event]:
        for ev in self._attempt_events():
            yield from self._say(ev)
