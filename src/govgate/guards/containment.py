"""Kernel containment of a rollout: the Landlock policy its settings call for, whether a
rollout runs contained here (`[agent] containment`), and the contained child itself.

The in-process guard (`emission`) sees what Python does; native code (a C extension, ctypes)
walks past it. Contained, the rollout runs in a forked child that Landlock restricts before
the child opens its transaction (`landlock.run_contained`): the kernel then refuses it

- a TCP connection to any port but its database's (5432 PostgreSQL, 3306 MySQL/MariaDB
  unless the URL, PGPORT or a libpq service says otherwise; none for SQLite or a unix socket)
  and, when `[directus] url`
  is on this host, Directus's;
- any program (execve fails with EACCES), and any write outside the SQLite file's folder
  (its -journal/-wal siblings) and the report folder. Everything stays readable: the child
  imports modules lazily.

Landlock filters TCP by port, not by address, and does not filter UDP (DNS) or named unix
sockets: the audit hook keeps narrowing those (docs/SECURITY.md). The parent is never
restricted; it gets back the child's result or error (GovgateError pickles whole), and the
attempts the emission guards recorded in the child, so that reports still name them.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import URL

from ..db import engine as engines
from ..db.session import connect
from ..errors import GovgateError, Refused, causes, crosses_a_pipe, describe
from ..urls import parse_url
from . import emission, landlock

REQUIRED, AUTO, OFF = "required", "auto", "off"
KERNEL = "refused by the kernel's containment (Landlock)"
_DATABASE_PORTS = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306}
_HTTP_PORTS = {"http": 80, "https": 443}
_inside = False  # set in a contained child: an EACCES there is the kernel's refusal


@dataclass(frozen=True)
class Containment:
    """Whether rollouts run contained here, and why not: what `doctor`, `status --why` and
    the agent's first event say. `detail` is `words` without its leading "kernel containment"."""

    setting: str  # [agent] containment: required, auto or off
    abi: int  # the kernel's Landlock ABI, 0 where there is none
    contained: bool  # rollouts run in a contained child
    refuses: bool  # required, and Landlock cannot contain here: no rollout runs
    reason: str  # why Landlock cannot contain a rollout here; "" where it can
    detail: str

    @property
    def words(self) -> str:
        joint = " " if self.detail.startswith(("unavailable", "off")) else ": "
        return f"kernel containment{joint}{self.detail}"


def decide(settings) -> Containment:
    """What SETTINGS' `containment` makes of this kernel's Landlock (ABI 4 or later needed)."""
    found = landlock.availability()
    usable = found.can_restrict_tcp and found.can_forbid_exec
    reason = "" if usable else found.reason.removesuffix(": no kernel containment")
    setting = settings.containment
    named = f"[agent] containment = {setting}"
    if setting == OFF:
        also = (
            f"Landlock ABI {found.abi} is available" if usable else f"unavailable anyway: {reason}"
        )
        detail = f"off ({named}, for debugging only): rollouts run without it; {also}"
    elif usable:
        detail = f"Landlock ABI {found.abi}, rollouts contained ({named})"
    elif setting == REQUIRED:
        detail = f"unavailable: {reason}; {named}: the agent will not run a rollout"
    else:
        detail = f"unavailable: {reason}; {named}: rollouts run guarded in-process only"
    contained = usable and setting != OFF
    refuses = not usable and setting == REQUIRED
    return Containment(setting, found.abi, contained, refuses, reason, detail)


def refusal(found: Containment) -> Refused:
    """The error of a rollout that `required` keeps from running uncontained."""
    return Refused(
        f"no rollout runs without kernel containment, and it is unavailable here: "
        f"{found.reason}; [agent] containment = {found.setting}; nothing was changed",
        hint="run the agent on Linux 6.7 or later with Landlock enabled, or set "
        '[agent] containment = "auto" (GOVGATE_CONTAINMENT=auto) to run it guarded in-process only',
    )


# -- the policy ----------------------------------------------------------------------------


def policy(settings, url: str | URL) -> landlock.Policy:
    """The Landlock policy of a rollout through database URL (the agent's) under SETTINGS."""
    parsed = parse_url(url)
    writable: list[str] = []
    if parsed.get_backend_name() == "sqlite":
        ports: set[int] = set()
        if parsed.database and parsed.database != ":memory:":
            writable.append(str(Path(parsed.database).resolve().parent))
    else:
        ports = _database_ports(parsed)
    ports |= _directus_ports(getattr(settings, "directus_url", None))
    report = Path(settings.report_dir)
    if report.is_dir():  # a folder that does not exist yet is written by the parent, if at all
        writable.append(str(report.resolve()))
    return landlock.Policy(frozenset(ports), tuple(dict.fromkeys(writable)))


def _database_ports(parsed: URL) -> set[int]:
    """The TCP ports a driver connects to for PARSED; none when it uses a unix socket only."""
    backend, query = parsed.get_backend_name(), parsed.query
    hosts = [
        name
        for value in (parsed.host, query.get("host"), query.get("hostaddr"))
        for one in ([value] if isinstance(value, str) else list(value or ()))
        for name in str(one).split(",")
        if name
    ]
    if backend == "postgresql":
        if query.get("service") or os.environ.get("PGSERVICE"):
            return _where_libpq_connects(parsed)
        # libpq: no host means PGHOST, else the default unix socket; no port means PGPORT
        hosts = hosts or [h for h in os.environ.get("PGHOST", "").split(",") if h]
        default = int(os.environ.get("PGPORT") or _DATABASE_PORTS[backend])
    else:  # PyMySQL: a named unix socket wins over any host; no host means localhost, TCP
        hosts = [] if query.get("unix_socket") else hosts or ["localhost"]
        default = _DATABASE_PORTS.get(backend, 3306)
    if not any(not h.startswith("/") for h in hosts):  # a folder is a unix socket
        return set()
    listed = query.get("port")
    extra = [listed] if isinstance(listed, str) else list(listed or ())
    listed = {int(p) for v in extra for p in str(v).split(",") if p.strip().isdigit()}
    return {parsed.port or default} | {p for p in listed if 0 < p < 65536}


def _where_libpq_connects(parsed: URL) -> set[int]:
    """The TCP port libpq reaches PARSED's database on, asked of a connection made here: a
    service file names host and port where the URL cannot show them. None for a unix socket.
    DatabaseUnreachable (before any fork) when the database does not answer."""
    engine = engines.make_engine(parsed.render_as_string(hide_password=False))
    try:
        with connect(engine) as conn:
            info = conn.connection.driver_connection.info
            return set() if info.host.startswith("/") else {info.port}
    finally:
        engine.dispose()


def _directus_ports(url: str | None) -> set[int]:
    """Directus's port when URL names this host. Landlock opens a port on every address, so a
    remote Directus (443 say) stays out: the rollout never calls Directus, the guard names it."""
    if not url:
        return set()
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".")
    try:
        local = ipaddress.ip_address(host).is_loopback
    except ValueError:
        local = host == "localhost" or host.endswith(".localhost")
    return {parts.port or _HTTP_PORTS.get(parts.scheme, 80)} if local else set()


# -- the refusals ----------------------------------------------------------------------------


def kernel_refusal(exc: BaseException) -> OSError | None:
    """In a contained child, the error in EXC's chain that is the kernel refusing a connection,
    a program or a write (EACCES; EPERM for a signal or socket scoped out); else None."""
    if not _inside:
        return None
    return next(
        (
            e
            for e in causes(exc)
            if isinstance(e, OSError) and e.errno in (errno.EACCES, errno.EPERM)
        ),
        None,
    )


def explained(exc: BaseException) -> str:
    """`describe(EXC)`, saying so when the kernel's containment refused what EXC reports."""
    if kernel_refusal(exc) is None:
        return describe(exc)
    return f"{KERNEL}: {describe(exc)}"


# -- the contained run -----------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What a contained child sent back: FN's value or error, and the attempts each emission
    guard active at the fork recorded in the child (already added to the parent's guards)."""

    value: Any
    error: BaseException | None
    attempts: tuple[tuple[emission.Attempt, ...], ...] = ()

    def result(self) -> Any:
        """The value, or the child's error raised here."""
        if self.error is not None:
            raise self.error
        return self.value


def run(fn: Callable[..., Any], /, *args: Any, policy: landlock.Policy, **kwargs: Any) -> Outcome:
    """Run ``fn(*args, **kwargs)`` in a forked child restricted to POLICY; its Outcome.

    The child starts every engine it inherited over (`db.engine.forget_inherited`): FN opens
    its own connections. FN's error comes back as its Outcome's error, with the child's
    traceback as a note; an error the kernel's containment caused says so. Whatever ended
    the child without an outcome is raised here as `landlock.run_contained` raises it
    (ContainedError; Ctrl-C; the caller's SIGTERM handling), LandlockUnavailable included:
    then FN may have run partly, or (LandlockUnavailable, OSError) not at all.
    """
    guards = emission.guards()
    outcome = landlock.run_contained(_child, fn, args, kwargs, policy=policy)
    for guard, seen in zip(guards, outcome.attempts, strict=False):
        guard.attempts.extend(seen)
    return outcome


def _child(fn: Callable[..., Any], args: tuple, kwargs: dict) -> Outcome:
    global _inside
    _inside = True
    engines.forget_inherited()
    guards = emission.guards()  # the parent's, copied by the fork
    marks = [len(guard.attempts) for guard in guards]
    value, error = None, None
    try:
        value = fn(*args, **kwargs)
    except BaseException as exc:  # everything goes to the parent, signals' exceptions too
        exc.add_note("Raised in the contained child:\n" + traceback.format_exc())
        error = _sendable(exc)
    seen = tuple(tuple(g.attempts[n:]) for g, n in zip(guards, marks, strict=True))
    return Outcome(value, error, seen)


def _sendable(exc: BaseException) -> BaseException:
    """EXC, or a Refused standing in for it when it cannot cross the pipe (or when the
    kernel's refusal hides behind an error that does not say so)."""
    if kernel_refusal(exc) is not None and not isinstance(exc, GovgateError):
        stand_in = Refused(f"{explained(exc)}; nothing was sent or started")
    elif crosses_a_pipe(exc):
        return exc
    else:  # its words still travel
        stand_in = Refused(f"{describe(exc)} (in the contained child)")
    stand_in.__notes__ = list(getattr(exc, "__notes__", ()))
    return stand_in


def is_unavailable(exc: BaseException) -> bool:
    """EXC says the kernel could not apply the policy: nothing ran in the child."""
    return isinstance(exc, landlock.LandlockUnavailable)
