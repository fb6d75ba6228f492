"""No external emission, enforced at run time.

While a guard is active the whole process may open network connections only to
its database and, where configured, the local Directus API. Every other
attempt raises EmissionBlocked where it is made and is recorded on the guard,
so the rollout that was running aborts and the attempt can be reported.

How: one process-wide audit hook (PEP 578; `sys.addaudithook` cannot be
undone, so it is installed once and is inert while no guard is active). It
watches the events through which Python code reaches the network or hands
work to another program:

- `socket.connect`, `socket.sendto`, `socket.sendmsg`: allowed for AF_UNIX,
  and for AF_INET/AF_INET6 only to an allowed (address, port);
- `socket.getaddrinfo`, `socket.gethostbyname`, `socket.gethostbyaddr`,
  `socket.getnameinfo`: a name lookup is itself a message to a DNS server, so
  only the allowed host names (and IP literals, which need no lookup) pass;
- `subprocess.Popen`, `os.system`, `os.exec`, `os.posix_spawn`, `os.spawn`:
  a child process is out of the hook's sight, so none is started.

The guard is process-wide, not per thread: a library that emits from a
background thread is refused too. It sees what Python does; the database
driver's own C code (libpq) is not seen and needs no permission. Code that
bypasses Python entirely (C extensions opening sockets) is out of reach of
any in-process check: the systemd unit in deploy/ adds IPAddressDeny/Allow
for that layer.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError

from ..errors import EmissionBlocked
from ..urls import parse_url

_DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306, "http": 80, "https": 443}
_ALWAYS_RESOLVABLE = frozenset({"localhost"})  # answered from /etc/hosts, no lookup leaves the host


@dataclass(frozen=True)
class Allowance:
    """Where the process may connect: (host or address, port) pairs, and the names it may
    resolve.
    """

    endpoints: frozenset[tuple[str, int]]
    hosts: frozenset[str]
    described: tuple[str, ...]  # "database 127.0.0.1:5432", for messages and logs
    backends: frozenset[str] = frozenset()  # the databases' kinds: which drivers to preload

    def allows(self, host: str, port: int) -> bool:
        return (_norm(host), int(port)) in self.endpoints

    def may_resolve(self, host: str) -> bool:
        name = _norm(host)
        return name in self.hosts or name in _ALWAYS_RESOLVABLE or _is_ip(name)


@dataclass(frozen=True)
class Attempt:
    """One refused attempt: what was tried, through which event, from which thread, when."""

    event: str
    target: str
    thread: str
    at: str

    def __str__(self) -> str:
        return f"{self.target} ({self.event})"


@dataclass
class Guard:
    """One active guard: its allowance and the attempts it refused."""

    allowance: Allowance
    attempts: list[Attempt] = field(default_factory=list)

    def check(self) -> None:
        """Raises EmissionBlocked when anything was refused, even if the caller swallowed it."""
        if self.attempts:
            first = self.attempts[0]
            more = f" (and {len(self.attempts) - 1} more)" if len(self.attempts) > 1 else ""
            raise EmissionBlocked(
                f"an outbound connection was attempted and refused: {first}{more}; "
                "nothing was sent",
                hint=_HINT,
            )


_HINT = (
    "govgate emits nothing outside: only the database and the configured local Directus "
    "may be reached while the agent or apply runs"
)

_lock = threading.Lock()
_active: tuple[Guard, ...] = ()  # copy-on-write: the hook reads it without the lock
_installed = False


# -- the allowance ---------------------------------------------------------------------


def allowance(settings, *urls: str | URL | None) -> Allowance:
    """What SETTINGS (database URLs, Directus URL) and the extra database URLS allow."""
    endpoints: set[tuple[str, int]] = set()
    hosts: set[str] = set()
    described: list[str] = []
    backends: set[str] = set()
    for url in (settings.db_url, settings.agent_url, *urls):
        backends.add(_backend(url))
        for host, port in _database_endpoints(url):
            _add(endpoints, hosts, described, "database", host, port)
    if getattr(settings, "directus_url", None):
        parts = urlsplit(settings.directus_url)
        if parts.hostname:
            port = parts.port or _DEFAULT_PORTS.get(parts.scheme, 80)
            _add(endpoints, hosts, described, "Directus", parts.hostname, port)
    return Allowance(
        frozenset(endpoints),
        frozenset(hosts),
        tuple(dict.fromkeys(described)),
        frozenset(backends - {None}),
    )


def _backend(url: str | URL | None) -> str | None:
    if url is None:
        return None
    try:
        return parse_url(url).get_backend_name()
    except ArgumentError:
        return None


def _database_endpoints(url: str | URL | None) -> list[tuple[str, int]]:
    if url is None:
        return []
    try:
        parsed = parse_url(url)
    except ArgumentError:
        return []
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return []
    port = parsed.port or _DEFAULT_PORTS.get(backend, 5432)
    found = []
    for host in (parsed.host, parsed.query.get("host"), parsed.query.get("hostaddr")):
        for one in [host] if isinstance(host, str) else list(host or ()):
            for name in str(one).split(","):
                if name and not name.startswith(
                    "/"
                ):  # a directory is a unix socket: always allowed
                    found.append((name, port))
    return found


def _add(endpoints: set, hosts: set, described: list, what: str, host: str, port: int) -> None:
    name = _norm(host)
    endpoints.add((name, port))
    hosts.add(name)
    described.append(f"{what} {host}:{port}")
    if _is_ip(name):
        return
    try:  # the addresses the name stands for now, looked up before the guard is up
        for *_, sockaddr in socket.getaddrinfo(name, port, type=socket.SOCK_STREAM):
            endpoints.add((_norm(sockaddr[0]), port))
    except (OSError, UnicodeError, EmissionBlocked):
        pass  # connecting by name stays allowed; the driver resolves it itself


def _norm(host) -> str:
    if isinstance(host, (bytes, bytearray)):
        host = bytes(host).decode("idna", "replace")
    text = str(host).strip().lower().rstrip(".")
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    text = text.split("%", 1)[0]  # an IPv6 scope id
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return text
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return str(address)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


# -- activation --------------------------------------------------------------------------


@contextmanager
def guarded(allow: Allowance) -> Iterator[Guard]:
    """While the block runs, the process reaches nothing but what ALLOW names.

    Guards nest: while several are active, a target must be allowed by every
    one of them, and a refused attempt is recorded on each.
    """
    global _active
    install()
    _preload(allow)
    guard = Guard(allow)
    with _lock:
        _active = _active + (guard,)
    try:
        yield guard
    finally:
        with _lock:
            _active = tuple(g for g in _active if g is not guard)


def active() -> bool:
    return bool(_active)


def guards() -> tuple[Guard, ...]:
    """The guards active now, outermost first (a forked child starts with the same ones)."""
    return _active


def install() -> None:
    """Install the process-wide audit hook (once; it cannot be removed)."""
    global _installed
    with _lock:
        if not _installed:
            sys.addaudithook(_hook)
            _installed = True


def _preload(allow: Allowance) -> None:
    # Load the PostgreSQL driver before the guard is up: a lazily loaded libpq
    # (ctypes.util.find_library) would run a helper program under the guard. Only where a
    # PostgreSQL database is in play: importing it costs an SQLite rollout 70 ms.
    if "postgresql" not in allow.backends:
        return
    try:
        import psycopg
        import psycopg.pq  # noqa: F401
    except ImportError:
        pass


# -- the hook --------------------------------------------------------------------------


def _hook(event: str, args: tuple) -> None:
    guards = _active
    if not guards:
        return
    check = _CHECKS.get(event)
    if check is None:
        return
    try:
        refused = next(filter(None, (check(args, g.allowance) for g in guards)), None)
    except EmissionBlocked:
        raise
    except Exception:  # an unexpected argument shape: refuse rather than guess
        refused = f"{event} {args!r:.120}"
    if refused is None:
        return
    attempt = Attempt(
        event,
        refused,
        threading.current_thread().name,
        datetime.now(UTC).isoformat(timespec="milliseconds"),
    )
    for guard in guards:
        guard.attempts.append(attempt)
    what = "start a program" if event in _SPAWN_EVENTS else "connect to"
    raise EmissionBlocked(
        f"refused to {what} {refused} ({event}): the process may reach only "
        f"{_allowed_words(guards)}; nothing was sent",
        hint=_HINT,
    )


def _allowed_words(guards: tuple[Guard, ...]) -> str:
    names = [d for g in guards[-1:] for d in g.allowance.described]
    return ", ".join(names) + " and local unix sockets" if names else "local unix sockets"


def _address_check(sock, address, allow: Allowance) -> str | None:
    family = getattr(sock, "family", None)
    if family == getattr(socket, "AF_UNIX", object()):
        return None
    if (
        family in (socket.AF_INET, socket.AF_INET6)
        and isinstance(address, tuple)
        and len(address) >= 2
    ):
        host, port = address[0], address[1]
        if allow.allows(host, port):
            return None
        shown = _norm(host)
        return f"[{shown}]:{port}" if ":" in shown else f"{shown}:{port}"
    name = getattr(family, "name", family)
    return f"{name} {address!r:.80}"


def _connect(args, allow: Allowance) -> str | None:
    sock, address = args
    return _address_check(sock, address, allow)


def _sendmsg(args, allow: Allowance) -> str | None:
    sock, address = args
    if address is None:  # a connected socket: its connect was checked
        return None
    return _address_check(sock, address, allow)


def _lookup(args, allow: Allowance) -> str | None:
    host = args[0]
    if host is None or allow.may_resolve(host):
        return None
    return f"the name {_norm(host)}"


def _nameinfo(args, allow: Allowance) -> str | None:
    sockaddr = args[0]
    host = sockaddr[0] if isinstance(sockaddr, tuple) and sockaddr else sockaddr
    name = _norm(host)
    if name in allow.hosts or any(name == h for h, _ in allow.endpoints) or _is_loopback(name):
        return None
    return f"a reverse lookup of {name}"


def _is_loopback(name: str) -> bool:
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return name in _ALWAYS_RESOLVABLE


def _spawn(args, allow: Allowance) -> str:
    shown = args[1] if len(args) > 1 and args[1] else args[0]
    if isinstance(shown, (list, tuple)):
        shown = " ".join(map(str, shown))
    return f"'{str(shown):.120}'"


def _system(args, allow: Allowance) -> str:
    return f"'{str(args[0]):.120}'"


_SPAWN_EVENTS = frozenset(
    {"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.startfile"}
)

_CHECKS = {
    "socket.connect": _connect,
    "socket.sendto": _connect,
    "socket.sendmsg": _sendmsg,
    "socket.getaddrinfo": _lookup,
    "socket.gethostbyname": _lookup,
    "socket.gethostbyaddr": _nameinfo,
    "socket.getnameinfo": _nameinfo,
    "subprocess.Popen": _spawn,
    "os.system": _system,
    "os.exec": _spawn,
    "os.posix_spawn": _spawn,
    "os.spawn": lambda args, allow: _spawn(args[1:], allow),
    "os.startfile": _system,
}
