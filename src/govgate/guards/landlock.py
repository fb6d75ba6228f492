"""Kernel containment of a rollout with Linux Landlock, in pure Python (ctypes).

Native code walks past the in-process audit-hook guard (ctypes ``connect()``, ``system()``);
under Landlock the kernel refuses a contained rollout any TCP connection but to its database
(and local Directus) port, any write outside its report and SQLite folders, and any program.
Landlock filters TCP by *port*, not address: an allowed port is open on every address, and
narrowing to the database host stays the audit hook's job. UDP (so DNS), raw sockets and
*named* unix sockets (PostgreSQL's) stay reachable; abstract unix sockets and signals out
of the domain do not (ABI 6+). Descriptors opened before stay usable. Landlock restricts the
calling *thread* and its later children for good: :func:`run_contained` forks a child for it.
"""

from __future__ import annotations

import contextlib
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
_RULE_PATH_BENEATH, _RULE_NET_PORT = 1, 2
_PR_SET_PDEATHSIG, _PR_SET_NO_NEW_PRIVS = 1, 38
_EPERM, _EOPNOTSUPP = 1, 95
_MIN_ABI = 4  # the first ABI with TCP rules (Linux 6.7)
_STOPS = (signal.SIGTERM, signal.SIGINT)  # restored in this order: SIGINT's may raise

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
    """What a contained rollout may still do: TCP ports to connect to (on any address),
    folders or files that stay writable (report folder, the SQLite file's folder for its
    -journal/-wal/-shm siblings), whether all files stay readable (else only the writable
    paths: not even a module can be imported). ValueError for a bad port or an empty path."""

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
    words = [ctypes.c_long(a) if isinstance(a, int) else a and ctypes.byref(a) for a in args]
    ctypes.set_errno(0)
    result = _libc().syscall(ctypes.c_long(number), *words)
    return result, ctypes.get_errno()


def _probe() -> tuple[int, int]:
    """Return (ABI version, errno): (0, errno) when unavailable, errno 0 off Linux."""
    if not sys.platform.startswith("linux") or os.uname().machine not in _SYSCALLS:
        return 0, 0
    result, err = _syscall(0, None, 0, 1)  # 1: LANDLOCK_CREATE_RULESET_VERSION
    return (result, 0) if result > 0 else (0, err)


def abi_version() -> int:
    """Return the kernel's Landlock ABI version, 0 if unavailable (ENOSYS, EOPNOTSUPP, EPERM)."""
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


def _add_path_rule(ruleset_fd: int, path: str, rights: int) -> None:
    """Grant RIGHTS beneath PATH; OSError if PATH cannot be opened."""
    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            rights &= _FILE_RIGHTS
        result, err = _syscall(1, ruleset_fd, _RULE_PATH_BENEATH, _PathBeneathAttr(rights, fd), 0)
        if result != 0:
            raise LandlockUnavailable(f"cannot add a rule for {path}: {os.strerror(err)}")
    finally:
        os.close(fd)


def restrict_self(policy: Policy) -> None:
    """Restrict the calling thread and all it starts later to POLICY, irreversibly.

    Sets no_new_privs; then execve() fails with EACCES everywhere, so do writes outside the
    writable paths (and /dev/null), TCP bind, TCP connect but to the allowed ports, and on
    ABI 6+ abstract unix sockets and signals leaving the domain. Other threads stay free.
    LandlockUnavailable if the kernel cannot apply POLICY, OSError if a writable path cannot
    be opened: then nothing is restricted (no_new_privs may be set).
    """
    abi, _ = _probe()
    if abi < _MIN_ABI:
        raise LandlockUnavailable(availability().reason)
    handled_fs = _FS["IOCTL_DEV" if abi >= 5 else "TRUNCATE"] * 2 - 1  # all the ABI knows
    scoped = _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL if abi >= 6 else 0
    attr = _RulesetAttr(handled_fs, _NET_BIND_TCP | _NET_CONNECT_TCP, scoped)
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
            result, err = _syscall(1, ruleset_fd, _RULE_NET_PORT, rule, 0)
            if result != 0:
                raise LandlockUnavailable(f"cannot allow TCP port {port}: {os.strerror(err)}")
        # Demanded by the kernel (unless CAP_SYS_ADMIN); no setuid program can lift it then.
        if _libc().prctl(_PR_SET_NO_NEW_PRIVS, ctypes.c_ulong(1), 0, 0, 0) != 0:
            raise LandlockUnavailable(f"cannot set no_new_privs: {os.strerror(ctypes.get_errno())}")
        result, err = _syscall(2, ruleset_fd, 0)
        if result != 0:
            raise LandlockUnavailable(f"cannot enforce the ruleset: {os.strerror(err)}")
    finally:
        os.close(ruleset_fd)


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        return f"was killed by signal {number} ({signal.strsignal(number) or '?'})"
    return f"exited with status {os.waitstatus_to_exitcode(status)}"


def _readable(fds: list[int], seconds: float) -> set[int]:
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    return {fd for fd, _ in poller.poll(max(0, int(seconds * 1000)))}


def _signal(pidfd: int, sig: int) -> None:
    """Signal the child through its pidfd: never a stranger that got a recycled pid."""
    with contextlib.suppress(ProcessLookupError):  # it has ended
        signal.pidfd_send_signal(pidfd, sig)


def _stop_child(pid: int, pidfd: int) -> int:
    """SIGTERM the child, SIGKILL it after a grace period; reap it, return its wait status."""
    if pidfd < 0:  # interrupted before its pidfd existed: the unreaped pid is still ours
        os.kill(pid, signal.SIGKILL)
    for sig in (signal.SIGTERM, signal.SIGKILL) if pidfd >= 0 else ():
        _signal(pidfd, sig)
        if _readable([pidfd], 2.0):  # grace; a pidfd turns readable when its process ends
            break
    with contextlib.suppress(ChildProcessError):  # else reaped already
        return os.waitpid(pid, 0)[1]
    return 0


def _encode_outcome(ok: bool, value: Any) -> bytes:
    """Pickle the child's outcome; fall back to a ContainedError that surely unpickles."""
    try:
        data = pickle.dumps((ok, value), pickle.HIGHEST_PROTOCOL)
        pickle.loads(data)  # some objects pickle but cannot be rebuilt
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
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM])  # a pending one ends us
        _libc().prctl(_PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGTERM), 0, 0, 0)
        if os.getppid() == parent:  # else the parent died before PDEATHSIG was armed
            try:
                restrict_self(policy)
                data = _encode_outcome(True, call())
            except BaseException as exc:  # everything goes to the parent
                exc.add_note("Raised in the contained child:\n" + traceback.format_exc())
                data = _encode_outcome(False, exc)
            view = memoryview(data)
            while view:
                view = view[os.write(write_fd, view) :]
            code = 0
        for stream in (sys.stdout, sys.stderr):
            stream.flush()  # what FN printed
    finally:
        os._exit(code)


def _collect(read_fd: int, pidfd: int, deadline: float | None) -> bytes | None:
    """Read what the child sends until it has ended; None if the DEADLINE passes first."""
    chunks, watched = [], [read_fd, pidfd]
    while deadline is None or time.monotonic() < deadline:
        # Every half second: a signal another thread took is handled (and forwarded) late.
        left = 0.5 if deadline is None else min(0.5, deadline - time.monotonic())
        ready = _readable(watched, left)
        if read_fd in ready:
            chunks.append(os.read(read_fd, 1 << 16))
            watched = watched if chunks[-1] else [pidfd]  # the pipe's end: await the exit
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
    A child ending without a result raises ContainedError saying how; past TIMEOUT seconds
    it gets SIGTERM, then SIGKILL: ContainedTimeout. On Ctrl-C, or SIGTERM in the main
    thread, the child gets SIGTERM and is reaped, then the caller's own handling goes on.
    No zombie, no atexit handler in the child, SIGTERM to it if the caller dies. Hold no
    locks nor database connections across the call (FN opens its own); the caller's open
    descriptors stay usable in the child. FN is trusted code (its outcome is unpickled
    here), contained against accidents and native code: no sandbox for hostile code.
    """
    if timeout is not None and timeout <= 0:
        raise ValueError(f"timeout must be positive, not {timeout!r}")
    deadline = None if timeout is None else time.monotonic() + timeout
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()  # else the child would write the caller's pending output again
    # In the main thread, SIGTERM and SIGINT are caught here (SIGTERM goes to the child) so
    # that no handler raises inside os.fork's at-fork hooks, which would swallow it.
    main = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.getsignal(sig) for sig in _STOPS} if main else {}
    pid, pidfd, caught, waiting, blocked = -1, -1, [], False, None

    def on_signal(signum: int, frame: Any) -> None:
        if signum == signal.SIGINT and waiting and callable(previous[signum]):
            previous[signum](signum, frame)  # the caller's Ctrl-C, e.g. KeyboardInterrupt
            return
        caught.append(signum)  # for the caller's handlers once the call is over
        if signum == signal.SIGTERM and pidfd >= 0:
            _signal(pidfd, signal.SIGTERM)

    read_fd, write_fd = os.pipe()
    try:
        for sig in previous:
            signal.signal(sig, on_signal)
        parent, call = os.getpid(), functools.partial(fn, *args, **kwargs)
        # The child starts deaf to SIGTERM: Python forgets signals that land during os.fork.
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM])
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            _child_main(write_fd, parent, policy, call)
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        blocked = None
        pidfd = os.pidfd_open(pid)
        os.close(write_fd)  # no handler of ours raises: the two lines go together
        write_fd, waiting = -1, True
        early, caught[:] = dict.fromkeys(caught), []
        for signum in early:  # what came during the fork
            on_signal(signum, None)
        data = _collect(read_fd, pidfd, deadline)
        if data is None:
            status, pid = _stop_child(pid, pidfd), -1
            raise ContainedTimeout(f"no result within {timeout} s: the child {_describe(status)}")
        status, pid, waiting = os.waitpid(pid, 0)[1], -1, False
    except BaseException:
        waiting = False
        if pid > 0:
            _stop_child(pid, pidfd)
        raise
    finally:  # waiting is False by now: restoring cannot run the caller's SIGINT handler
        if blocked is not None:  # os.fork failed
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        fds, pidfd = (read_fd, write_fd, pidfd), -1
        for fd in fds:
            if fd >= 0:
                os.close(fd)
        for sig, handler in previous.items():  # None: set outside Python, cannot be restored
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
    for signum in dict.fromkeys(caught):  # the caller's own dispositions decide
        signal.raise_signal(signum)
    if signal.SIGTERM in caught:
        raise ContainedError(f"interrupted by SIGTERM: the contained child {_describe(status)}")
    if not data:
        raise ContainedError(f"the contained child {_describe(status)} before sending a result")
    try:
        ok, value = pickle.loads(data)
    except Exception as exc:  # a torn or unreadable outcome
        raise ContainedError(f"cannot read the contained child's outcome: {exc}") from None
    if not ok:
        raise value
    return value
