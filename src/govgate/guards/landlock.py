"""Kernel containment of a rollout with Linux Landlock, in pure Python (ctypes).

A rollout may connect over TCP only to its database (and local Directus) port, write only
to its report and SQLite folders, and start no program. Native code walks past the audit
hook guard (ctypes ``connect()``, ``system()``); under Landlock the kernel refuses it.

* TCP is restricted by *port*, not address: an allowed port is allowed on every address;
  narrowing to the database host is the in-process guard's job.
* Only TCP ``connect``/``bind`` are controlled. UDP (so DNS), raw sockets (root has
  CAP_NET_RAW) and connecting to a *named* unix socket (a PostgreSQL socket) are not. On
  ABI 6+, abstract unix sockets and signals to processes outside the domain are refused.
* Executing any file is refused everywhere, whoever calls ``execve`` (Python, libc
  ``system()``, a shell, a memfd). Shared libraries still load.
* Descriptors opened before the restriction keep working (stdout, an inherited socket).
* Landlock restricts the calling *thread* and its future children, irreversibly; hence
  :func:`run_contained` restricts a forked, single-threaded child, never the caller.
"""

from __future__ import annotations

import ctypes
import functools
import os
import pickle
import select
import signal
import stat
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

# create_ruleset, add_rule, restrict_self: the same numbers on x86_64 and aarch64.
_SYSCALLS = {"x86_64": (444, 445, 446), "aarch64": (444, 445, 446)}
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH, _RULE_NET_PORT = 1, 2
_PR_SET_PDEATHSIG, _PR_SET_NO_NEW_PRIVS = 1, 38
_EPERM, _EOPNOTSUPP = 1, 95
_MIN_ABI = 4  # the first ABI with TCP rules (Linux 6.7)
_KILL_GRACE = 2.0
_STOPS = {signal.SIGINT, signal.SIGTERM}

# Filesystem access rights in bit order, which is also ABI order: ABI 1 knows EXECUTE up
# to MAKE_SYM, ABI 2 adds REFER, ABI 3 TRUNCATE, ABI 5 IOCTL_DEV.
_FS_ORDER = (
    "EXECUTE WRITE_FILE READ_FILE READ_DIR REMOVE_DIR REMOVE_FILE MAKE_CHAR MAKE_DIR "
    "MAKE_REG MAKE_SOCK MAKE_FIFO MAKE_BLOCK MAKE_SYM REFER TRUNCATE IOCTL_DEV"
)
_FS = {name: 1 << bit for bit, name in enumerate(_FS_ORDER.split())}


def _rights(names: str) -> int:
    return sum(_FS[name] for name in names.split())


# The only rights a rule on a non-directory may carry (any other is EINVAL).
_FILE_RIGHTS = _rights("EXECUTE WRITE_FILE READ_FILE TRUNCATE IOCTL_DEV")
_READ = _rights("READ_FILE READ_DIR")
# Writing is all up to TRUNCATE but EXECUTE (no programs) and MAKE_CHAR/MAKE_BLOCK (root
# could mknod the disk and write it raw); IOCTL_DEV (on devices opened later) is not granted.
_WRITE = (_FS["TRUNCATE"] * 2 - 1) & ~_rights("EXECUTE READ_FILE READ_DIR MAKE_CHAR MAKE_BLOCK")
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1


class LandlockUnavailable(Exception):
    """The kernel cannot apply the policy; nothing was restricted."""


class ContainedError(Exception):
    """The child failed without a re-raisable exception; ``type_name`` names an unpicklable one."""

    def __init__(self, message: str, type_name: str = "") -> None:
        super().__init__(message)
        self.type_name = type_name  # pickled along in __dict__


class ContainedTimeout(ContainedError, TimeoutError):
    """The contained child did not finish in time and was stopped."""


@dataclass(frozen=True)
class Policy:
    """What a contained rollout may still do; ValueError for a bad port or an empty path.

    ``tcp_connect_ports``: TCP ports it may connect to, on any address. ``writable_paths``:
    folders or files that stay writable: the report folder, the SQLite file's folder (for
    its -journal/-wal/-shm siblings). ``readable_everywhere``: whether every file stays
    readable; without it only the writable paths are, so no module can be imported either.
    """

    tcp_connect_ports: frozenset[int]
    writable_paths: tuple[str, ...] = ()
    readable_everywhere: bool = True

    def __post_init__(self) -> None:
        ports = frozenset(self.tcp_connect_ports)
        for port in ports:
            if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
                raise ValueError(f"not a TCP port: {port!r}")
        paths = tuple(os.fspath(p) for p in self.writable_paths)
        if not all(paths):
            raise ValueError("an empty writable path")
        object.__setattr__(self, "tcp_connect_ports", ports)  # frozen: normalise lists
        object.__setattr__(self, "writable_paths", paths)


@dataclass(frozen=True)
class Availability:
    """What Landlock can enforce here; ``reason`` says in words what is missing, or ""."""

    abi: int
    can_restrict_tcp: bool
    can_forbid_exec: bool
    reason: str


class _RulesetAttr(ctypes.Structure):  # handled_access_net since ABI 4, scoped since ABI 6
    _fields_ = [(n, ctypes.c_uint64) for n in ("handled_access_fs", "handled_access_net", "scoped")]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1  # packed in the kernel: 12 bytes, not 16
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


class _NetPortAttr(ctypes.Structure):
    _fields_ = [("allowed_access", ctypes.c_uint64), ("port", ctypes.c_uint64)]


@functools.cache
def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def _syscall(index: int, *args: int | ctypes.Structure | None) -> tuple[int, int]:
    """Make Landlock syscall INDEX (0 create, 1 add_rule, 2 restrict); (result, errno)."""
    number = _SYSCALLS[os.uname().machine][index]
    # syscall() is variadic: every argument must travel as a full machine word.
    words = [
        ctypes.c_long(a) if isinstance(a, int) else ctypes.byref(a) if a else None for a in args
    ]
    ctypes.set_errno(0)
    result = _libc().syscall(ctypes.c_long(number), *words)
    return result, ctypes.get_errno()


def _probe() -> tuple[int, int]:
    """Return (ABI version, errno): (0, errno) when unavailable, errno 0 off Linux."""
    if not sys.platform.startswith("linux") or os.uname().machine not in _SYSCALLS:
        return 0, 0
    result, err = _syscall(0, None, 0, _CREATE_RULESET_VERSION)
    return (result, 0) if result > 0 else (0, err)


def abi_version() -> int:
    """Return the kernel's Landlock ABI version; 0 when unavailable (not Linux, unknown
    architecture, ENOSYS, not enabled at boot: EOPNOTSUPP, blocked by seccomp: EPERM)."""
    return _probe()[0]


def availability() -> Availability:
    """Report what Landlock can enforce here, and what is missing in plain words."""
    if not sys.platform.startswith("linux"):
        why = f"Landlock exists only on Linux, this is {sys.platform}: no kernel containment"
        return Availability(0, False, False, why)
    abi, err = _probe()
    kernel = f"Linux {os.uname().release}"
    if abi == 0:
        why = {
            0: f"govgate knows no Landlock system calls on {os.uname().machine}",
            _EOPNOTSUPP: f"Landlock is in this kernel ({kernel}) but was not enabled at boot",
            _EPERM: f"the Landlock system calls are blocked here ({kernel}; seccomp?)",
        }.get(err, f"Landlock is not available on this kernel ({kernel})")
        return Availability(0, False, False, f"{why}: no kernel containment")
    if abi < _MIN_ABI:
        why = f"Landlock ABI {abi} ({kernel}) cannot restrict TCP (that needs ABI 4, Linux 6.7)"
        return Availability(abi, False, True, f"{why}: no kernel containment")
    return Availability(abi, True, True, "")


def _add_rule(ruleset_fd: int, kind: int, rule: ctypes.Structure, what: str) -> None:
    result, err = _syscall(1, ruleset_fd, kind, rule, 0)
    if result != 0:
        raise LandlockUnavailable(f"cannot allow {what}: {os.strerror(err)}")


def _add_path_rule(ruleset_fd: int, path: str, rights: int) -> None:
    """Grant RIGHTS beneath PATH; OSError if PATH cannot be opened."""
    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            rights &= _FILE_RIGHTS
        _add_rule(ruleset_fd, _RULE_PATH_BENEATH, _PathBeneathAttr(rights, fd), path)
    finally:
        os.close(fd)


def restrict_self(policy: Policy) -> None:
    """Restrict the calling thread and all it starts later to POLICY, irreversibly.

    Sets no_new_privs; then execve() fails with EACCES everywhere, writes outside the
    writable paths (and /dev/null) fail, TCP bind fails, TCP connect fails except to the
    allowed ports, and on ABI 6+ so do abstract unix sockets and signals leaving the domain.
    Raises LandlockUnavailable if the kernel cannot apply POLICY, OSError if a writable path
    cannot be opened; then nothing is restricted (no_new_privs may be set). Other threads
    of the process stay free.
    """
    abi, _ = _probe()
    if abi < _MIN_ABI:
        raise LandlockUnavailable(availability().reason)
    attr = _RulesetAttr(
        handled_access_fs=_FS["IOCTL_DEV" if abi >= 5 else "TRUNCATE"] * 2 - 1,  # all known
        handled_access_net=_NET_BIND_TCP | _NET_CONNECT_TCP,
        scoped=_SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL if abi >= 6 else 0,
    )
    size = ctypes.sizeof(attr) if abi >= 6 else 16  # the struct as this ABI knows it
    ruleset_fd, err = _syscall(0, attr, size, 0)
    if ruleset_fd < 0:
        raise LandlockUnavailable(f"cannot create a Landlock ruleset: {os.strerror(err)}")
    try:
        if policy.readable_everywhere:
            _add_path_rule(ruleset_fd, "/", _READ)
        # Libraries silence output by writing to /dev/null; letting them costs nothing.
        for path in policy.writable_paths + (("/dev/null",) if os.path.exists("/dev/null") else ()):
            _add_path_rule(ruleset_fd, path, (_READ | _WRITE) & attr.handled_access_fs)
        for port in sorted(policy.tcp_connect_ports):
            rule = _NetPortAttr(_NET_CONNECT_TCP, port)
            _add_rule(ruleset_fd, _RULE_NET_PORT, rule, f"connecting to TCP port {port}")
        # The kernel demands no_new_privs (or CAP_SYS_ADMIN); it also keeps setuid
        # programs from lifting the restriction.
        if _libc().prctl(_PR_SET_NO_NEW_PRIVS, ctypes.c_ulong(1), 0, 0, 0) != 0:
            raise LandlockUnavailable(f"cannot set no_new_privs: {os.strerror(ctypes.get_errno())}")
        result, err = _syscall(2, ruleset_fd, 0)
        if result != 0:
            raise LandlockUnavailable(f"cannot enforce the ruleset: {os.strerror(err)}")
    finally:
        os.close(ruleset_fd)


class _Terminated(BaseException):  # SIGTERM reached the caller waiting for the child
    pass


def _raise_terminated(signum: int, frame: object) -> None:
    raise _Terminated


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        return f"was killed by signal {number} ({signal.strsignal(number) or '?'})"
    return f"exited with status {os.waitstatus_to_exitcode(status)}"


def _readable(fds: list[int], seconds: float | None) -> set[int]:
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    wait_ms = None if seconds is None else max(0, int(seconds * 1000))
    return {fd for fd, _ in poller.poll(wait_ms)}


def _stop_child(pid: int, pidfd: int) -> int:
    """SIGTERM the child, SIGKILL it after a grace period; reap it, return its wait status."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:  # through the pidfd: never a stranger that inherited a recycled pid
            signal.pidfd_send_signal(pidfd, sig)
        except ProcessLookupError:
            break
        if _readable([pidfd], _KILL_GRACE):  # a pidfd turns readable when its process ends
            break
    try:
        return os.waitpid(pid, 0)[1]
    except ChildProcessError:  # reaped already
        return 0


def _encode_outcome(ok: bool, value: Any) -> bytes:
    """Pickle the child's outcome; fall back to a ContainedError that surely unpickles."""
    try:
        if not ok:
            value.add_note("Raised in the contained child:\n" + traceback.format_exc())
        data = pickle.dumps((ok, value), pickle.HIGHEST_PROTOCOL)
        if not ok:
            pickle.loads(data)  # some exceptions pickle but cannot be rebuilt
        return data
    except Exception as exc:  # any pickling failure is reported alike
        name = "" if ok else type(value).__qualname__
        what = f"{name}: {value}" if name else f"the result cannot be pickled: {exc}"
        return pickle.dumps((False, ContainedError(what, name)), pickle.HIGHEST_PROTOCOL)


def _child_main(write_fd: int, parent: int, policy: Policy, call: Callable[[], Any]) -> NoReturn:
    """The forked child: restrict, run CALL, send the outcome, and _exit (no atexit)."""
    code = 70  # what the parent sees if even sending the outcome failed
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the parent forwards SIGTERM
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPS)
        _libc().prctl(_PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGTERM), 0, 0, 0)
        if os.getppid() == parent:  # else the parent died before PDEATHSIG was armed
            try:
                restrict_self(policy)
                data = _encode_outcome(True, call())
            except BaseException as exc:  # everything goes to the parent
                data = _encode_outcome(False, exc)
            view = memoryview(data)
            while view:
                view = view[os.write(write_fd, view) :]
            code = 0
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
    finally:
        os._exit(code)


def _collect(read_fd: int, pidfd: int, deadline: float | None) -> bytes | None:
    """Read what the child sends until it has ended; None if the DEADLINE passes first."""
    chunks, watched = [], [read_fd, pidfd]
    while deadline is None or time.monotonic() < deadline:
        ready = _readable(watched, None if deadline is None else deadline - time.monotonic())
        if read_fd in ready:
            chunk = os.read(read_fd, 1 << 16)
            chunks.append(chunk)
            if not chunk:  # end of the pipe: now wait for the end of the child
                watched = [pidfd]
        elif pidfd in ready:  # ended (the pipe may stay open in the child's own children)
            return b"".join(chunks)
    return None


def run_contained(
    fn: Callable[..., Any], /, *args: Any, policy: Policy, timeout: float | None = None,
    **kwargs: Any,
) -> Any:  # fmt: skip
    """Run ``fn(*args, **kwargs)`` in a forked child restricted to POLICY; return its result.

    The child calls :func:`restrict_self` first; the caller is never restricted. The result
    must pickle. FN's exception (or LandlockUnavailable) is re-raised with its type and the
    child's traceback as a note, or as ContainedError naming its type if it cannot pickle.
    A child ending without a result (a signal, os._exit) raises ContainedError saying how;
    past TIMEOUT seconds it gets SIGTERM, then SIGKILL: ContainedTimeout. On Ctrl-C, or
    SIGTERM in the main thread, the child gets SIGTERM and is reaped before the interruption
    goes on (SIGTERM is re-sent under the caller's own disposition). The child is always
    reaped, runs no atexit handler, and gets SIGTERM if the caller dies.

    Fork safety: only the calling thread is copied; hold no locks and no database connections
    across the call (FN opens its own). Descriptors open in the caller stay usable in the
    child. The outcome is unpickled here: FN is trusted code contained against accidents and
    native code, not a sandbox for hostile code.
    """
    if timeout is not None and timeout <= 0:
        raise ValueError(f"timeout must be positive, not {timeout!r}")
    deadline = None if timeout is None else time.monotonic() + timeout
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()  # else the child would write the caller's pending output again
    in_main = threading.current_thread() is threading.main_thread()
    previous, pid, pidfd = signal.SIG_DFL, -1, -1
    read_fd, write_fd = os.pipe()
    # Until the child and its pidfd are in hand, an interruption would lose track of it.
    unblocked = signal.pthread_sigmask(signal.SIG_BLOCK, _STOPS)
    try:
        try:
            if in_main:  # None: a handler set outside Python, which cannot be restored
                previous = signal.signal(signal.SIGTERM, _raise_terminated) or signal.SIG_DFL
            parent, call = os.getpid(), functools.partial(fn, *args, **kwargs)
            pid = os.fork()
            if pid == 0:
                os.close(read_fd)
                _child_main(write_fd, parent, policy, call)
            pidfd = os.pidfd_open(pid)
        finally:
            os.close(write_fd)
            signal.pthread_sigmask(signal.SIG_SETMASK, unblocked)  # pending signals land now
        data = _collect(read_fd, pidfd, deadline)
        if data is None:
            status, pid = _stop_child(pid, pidfd), -1
            raise ContainedTimeout(
                f"the contained child did not finish within {timeout} s and {_describe(status)}"
            )
        status, pid = os.waitpid(pid, 0)[1], -1
    except _Terminated:
        if pid > 0:
            _stop_child(pid, pidfd)
        signal.signal(signal.SIGTERM, previous)
        in_main = False
        os.kill(os.getpid(), signal.SIGTERM)  # the caller's own SIGTERM handling decides
        raise ContainedError("interrupted by SIGTERM; the contained child was stopped") from None
    except BaseException:
        if pid > 0:
            _stop_child(pid, pidfd)
        raise
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)
        for fd in (read_fd, pidfd):
            if fd >= 0:
                os.close(fd)
    if not data:
        raise ContainedError(f"the contained child {_describe(status)} before sending a result")
    try:
        ok, value = pickle.loads(data)
    except Exception as exc:  # a torn or unreadable outcome
        raise ContainedError(f"cannot read the contained child's outcome: {exc}") from None
    if ok:
        return value
    raise value
