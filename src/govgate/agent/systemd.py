"""systemd's notification protocol (sd_notify(3)), without a dependency: one datagram each.

Under `Type=notify` systemd sets `$NOTIFY_SOCKET` to a unix datagram socket: a path, or an
abstract name written with a leading `@`. The agent sends `READY=1` once it runs,
`WATCHDOG=1` on each poll (with `WatchdogSec=`, systemd restarts an agent that stops
sending it), `STATUS=…` (shown by `systemctl status`) and `STOPPING=1`. Without the
variable nothing is sent. A unix datagram is local, not an emission: the network guard
lets AF_UNIX through (guards/emission.py); the agent sends from its own process, never
from inside a Landlock-contained child (which would refuse abstract sockets).
"""

from __future__ import annotations

import os
import socket


class Notifier:
    """Datagrams to systemd's notification socket, or nothing when there is none."""

    def __init__(self, address: str | None):
        self.address = _address(address)
        self.sock: socket.socket | None = None
        self.failed: str | None = None  # why the last datagram could not be sent

    @classmethod
    def from_environment(cls, env: dict | None = None) -> Notifier:
        env = os.environ if env is None else env
        return cls(env.get("NOTIFY_SOCKET"))

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def watchdog_s(self, env: dict | None = None) -> float | None:
        """systemd's watchdog period in seconds ($WATCHDOG_USEC, for this process), or None."""
        env = os.environ if env is None else env
        pid, usec = env.get("WATCHDOG_PID"), env.get("WATCHDOG_USEC", "")
        if not self.enabled or not usec.isdigit() or (pid and pid != str(os.getpid())):
            return None
        return int(usec) / 1e6 or None

    def send(self, **fields) -> bool:
        """Send FIELDS (READY=1, STATUS=…) in one datagram; False when not sent."""
        if self.address is None:
            return False
        text = "\n".join(f"{k.upper()}={_one_line(v)}" for k, v in fields.items())
        try:
            if self.sock is None:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self.sock.sendto(text.encode("utf-8"), self.address)
        except OSError as exc:
            self.failed = f"{self.address!r}: {exc.strerror or exc}"
            self.close()
            return False
        self.failed = None
        return True

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def _address(raw: str | None) -> str | None:
    if not raw:
        return None
    if raw.startswith("@"):  # an abstract socket: a leading NUL byte
        return "\0" + raw[1:]
    return raw if raw.startswith("/") else None  # vsock and others: not supported


def _one_line(value) -> str:
    return str(value).replace("\n", " ")
