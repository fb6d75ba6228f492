"""Kernel containment with Landlock: real syscalls, real sockets, real databases, no mocks.

Every restriction happens in a child forked by ``run_contained``; the pytest process itself
is never restricted (the last tests prove it).
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import socket
import sqlite3
import struct
import subprocess
import threading
import time
from pathlib import Path

import psycopg
import pytest

from govgate.guards.landlock import (
    Availability,
    ContainedError,
    ContainedTimeout,
    Policy,
    abi_version,
    availability,
    run_contained,
)

LOOPBACK = "127.0.0.1"


@pytest.fixture
def listeners():
    """Two TCP listeners on 127.0.0.1: the first one's port is allowed, the second's is not."""
    socks = []
    for _ in range(2):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((LOOPBACK, 0))
        s.listen(8)
        s.setblocking(False)
        socks.append(s)
    yield socks
    for s in socks:
        s.close()


@pytest.fixture
def writable(tmp_path: Path) -> Path:
    folder = tmp_path / "writable"
    folder.mkdir()
    return folder


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A folder the policy does not name, holding one existing file."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "existing.txt").write_text("kept\n")
    return folder


def _port(sock: socket.socket) -> int:
    return sock.getsockname()[1]


def _raw_connect_errno(port: int) -> int:
    """Connect to 127.0.0.1:PORT through libc directly (no Python socket, no audit hook)."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.socket(socket.AF_INET, socket.SOCK_STREAM, 0)
    assert fd >= 0
    try:
        # struct sockaddr_in: family (host order), port and address (network order), padding.
        raw = struct.pack("=H", socket.AF_INET) + struct.pack("!H", port)
        raw += socket.inet_aton(LOOPBACK) + bytes(8)
        address = ctypes.create_string_buffer(raw, len(raw))
        ctypes.set_errno(0)
        result = libc.connect(fd, address, len(raw))
        return 0 if result == 0 else ctypes.get_errno()
    finally:
        libc.close(fd)


def _connect(port: int, host: str = LOOPBACK) -> str:
    """Connect with Python's socket; return "connected" or the error's class name and errno."""
    try:
        with socket.create_connection((host, port), timeout=5):
            return "connected"
    except OSError as exc:
        return f"{type(exc).__name__} {exc.errno}"


def _no_child_left() -> bool:
    try:
        return os.waitpid(-1, os.WNOHANG) == (0, 0)
    except ChildProcessError:
        return True


def test_kernel_reports_a_landlock_abi_with_network_rules():
    abi = abi_version()
    found = availability()
    # CI runs on this kernel: a missing Landlock is a broken machine, never a skip.
    assert abi >= 4, f"Landlock ABI {abi} < 4 on Linux {os.uname().release}: {found.reason}"
    assert found == Availability(abi, can_restrict_tcp=True, can_forbid_exec=True, reason="")


def test_a_policy_refuses_ports_that_are_not_tcp_ports():
    for bad in (0, 65536, -1, True, "5432"):
        with pytest.raises(ValueError):
            Policy(frozenset({bad}))
    policy = Policy([5432, 5432], ["/tmp"])  # lists are normalised
    assert policy.tcp_connect_ports == frozenset({5432}) and policy.writable_paths == ("/tmp",)


def test_a_contained_child_reaches_the_allowed_port_and_the_kernel_refuses_any_other(listeners):
    allowed, refused = listeners
    policy = Policy(frozenset({_port(allowed)}))

    def probe() -> dict[str, object]:
        return {
            "python to allowed": _connect(_port(allowed)),
            "libc to allowed": _raw_connect_errno(_port(allowed)),
            "libc to refused": _raw_connect_errno(_port(refused)),
            "python to refused": _connect(_port(refused)),
            "bind a listener": _bind_result(),
        }

    seen = run_contained(probe, policy=policy, timeout=30)
    assert seen == {
        "python to allowed": "connected",
        "libc to allowed": 0,
        "libc to refused": errno.EACCES,
        "python to refused": f"PermissionError {errno.EACCES}",
        "bind a listener": f"PermissionError {errno.EACCES}",
    }
    assert _accept_all(allowed) == 2
    assert _accept_all(refused) == 0  # the kernel refused before a single packet left


def _bind_result() -> str:
    try:
        with socket.socket() as s:
            s.bind((LOOPBACK, 0))
        return "bound"
    except OSError as exc:
        return f"{type(exc).__name__} {exc.errno}"


def _accept_all(listener: socket.socket) -> int:
    count = 0
    while True:
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1


def test_landlock_allows_the_port_on_any_address_so_the_address_is_the_guards_job(listeners):
    allowed, _ = listeners
    # 127.0.0.2 is loopback too, with nobody listening: the kernel's TCP stack answers
    # "refused", which shows Landlock let the connect through (it would say EACCES).
    seen = run_contained(_connect, _port(allowed), "127.0.0.2", policy=Policy({_port(allowed)}))
    assert seen == f"ConnectionRefusedError {errno.ECONNREFUSED}"


def test_a_contained_child_cannot_start_any_program(writable):
    marker = writable / "marker"

    def probe() -> dict[str, object]:
        seen: dict[str, object] = {}
        seen["system"] = ctypes.CDLL(None).system(f"touch {marker}".encode())
        seen["marker after system"] = marker.exists()
        for name, start in (
            ("execv", lambda: os.execv("/bin/true", ["true"])),
            ("subprocess", lambda: subprocess.run(["true"], check=False)),
        ):
            try:
                start()
                seen[name] = "started"
            except PermissionError as exc:
                seen[name] = exc.errno
        seen["fork_exec"] = _fork_exec_errno("/bin/true")
        seen["memfd"] = _memfd_exec_errno("/bin/true")
        marker.write_text("the folder itself is writable\n")
        return seen

    seen = run_contained(probe, policy=Policy(frozenset(), (str(writable),)), timeout=30)
    assert seen.pop("system") != 0  # /bin/sh could not be executed
    assert seen == {
        "marker after system": False,
        "execv": errno.EACCES,
        "subprocess": errno.EACCES,
        "fork_exec": errno.EACCES,
        "memfd": errno.EACCES,
    }


def _fork_exec_errno(program: str) -> int:
    """Start PROGRAM with _posixsubprocess.fork_exec; return the exec errno its child reports."""
    import _posixsubprocess

    errpipe_read, errpipe_write = os.pipe()
    try:
        pid = _posixsubprocess.fork_exec(
            [program.encode()], [program.encode()], True, (errpipe_write,), None, None,
            -1, -1, -1, -1, -1, -1, errpipe_read, errpipe_write,
            False, False, -1, None, None, None, -1, None, False,
        )  # fmt: skip
        os.close(errpipe_write)
        errpipe_write = -1
        report = b""  # b"OSError:<hex errno>:..." when exec failed, in several writes
        while chunk := os.read(errpipe_read, 1024):
            report += chunk
        os.waitpid(pid, 0)
    finally:
        os.close(errpipe_read)
        if errpipe_write >= 0:
            os.close(errpipe_write)
    return int(report.split(b":")[1], 16) if report else 0


def _memfd_exec_errno(program: str) -> int:
    """Copy PROGRAM into an anonymous memfd and execute that from a forked child."""
    fd = os.memfd_create("copy")
    try:
        os.write(fd, Path(program).read_bytes())
        pid = os.fork()
        if pid == 0:
            try:
                os.execve(fd, [program], {})
            except OSError as exc:
                os._exit(exc.errno)
            os._exit(0)
        return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    finally:
        os.close(fd)


def test_a_contained_child_writes_only_in_its_writable_folders_and_reads_everywhere(
    writable, elsewhere
):
    def probe() -> dict[str, object]:
        seen: dict[str, object] = {}
        (writable / "report").mkdir()
        (writable / "report" / "run.json").write_text("{}")
        os.rename(writable / "report" / "run.json", writable / "report" / "final.json")
        seen["written"] = sorted(p.name for p in writable.rglob("*"))
        for name, attempt in (
            ("new file elsewhere", lambda: (elsewhere / "new.txt").write_text("x")),
            ("overwrite elsewhere", lambda: (elsewhere / "existing.txt").write_text("x")),
            ("remove elsewhere", lambda: (elsewhere / "existing.txt").unlink()),
            ("folder elsewhere", lambda: (elsewhere / "sub").mkdir()),
            ("write /proc/self/comm", lambda: Path("/proc/self/comm").write_text("x")),
        ):
            try:
                attempt()
                seen[name] = "done"
            except PermissionError as exc:
                seen[name] = exc.errno
        seen["read elsewhere"] = (elsewhere / "existing.txt").read_text()
        seen["list elsewhere"] = os.listdir(elsewhere)
        seen["read /etc"] = len(Path("/etc/passwd").read_text()) > 0
        seen["read /proc"] = "Pid:" in Path("/proc/self/status").read_text()
        seen["write /dev/null"] = Path("/dev/null").write_text("discarded")
        return seen

    seen = run_contained(probe, policy=Policy(frozenset(), (str(writable),)), timeout=30)
    assert seen == {
        "written": ["final.json", "report"],
        "new file elsewhere": errno.EACCES,
        "overwrite elsewhere": errno.EACCES,
        "remove elsewhere": errno.EACCES,
        "folder elsewhere": errno.EACCES,
        "write /proc/self/comm": errno.EACCES,
        "read elsewhere": "kept\n",
        "list elsewhere": ["existing.txt"],
        "read /etc": True,
        "read /proc": True,
        "write /dev/null": len("discarded"),
    }
    assert sorted(os.listdir(elsewhere)) == ["existing.txt"]
    assert (elsewhere / "existing.txt").read_text() == "kept\n"


def test_a_sqlite_database_in_the_writable_folder_works_in_a_contained_child(writable):
    path = writable / "prod.db"

    def rollout() -> list[tuple]:
        conn = sqlite3.connect(path)
        try:
            assert conn.execute("PRAGMA journal_mode=WAL").fetchone() == ("wal",)
            conn.execute("CREATE TABLE roles (name TEXT PRIMARY KEY)")
            with conn:
                conn.executemany("INSERT INTO roles VALUES (?)", [("editor",), ("viewer",)])
            return conn.execute("SELECT name FROM roles ORDER BY name").fetchall()
        finally:
            conn.close()

    assert run_contained(rollout, policy=Policy(frozenset(), (str(writable),))) == [
        ("editor",),
        ("viewer",),
    ]
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM roles").fetchone() == (2,)


@pytest.mark.postgres
def test_postgresql_over_its_tcp_port_and_unix_socket_works_but_other_ports_are_refused(
    pg, listeners
):
    database = f"ll_{os.getpid()}_{time.monotonic_ns()}"
    pg.create_database(database)
    with psycopg.connect(host=pg.host, port=pg.port, user="postgres", dbname=database) as conn:
        socket_dir = conn.execute("SHOW unix_socket_directories").fetchone()[0].split(",")[0]
    _, other = listeners

    def rollout() -> dict[str, object]:
        seen: dict[str, object] = {}
        for how, host in (("tcp", pg.host), ("unix socket", socket_dir)):
            with psycopg.connect(
                host=host, port=pg.port, user="postgres", dbname=database, connect_timeout=10
            ) as conn:
                seen[how] = conn.execute("SELECT 1").fetchone()
        try:
            psycopg.connect(host=LOOPBACK, port=_port(other), user="x", connect_timeout=5)
            seen["other port"] = "connected"
        except psycopg.OperationalError as exc:
            seen["other port"] = "Permission denied" in str(exc)
        return seen

    try:
        seen = run_contained(rollout, policy=Policy(frozenset({pg.port})), timeout=60)
    finally:
        pg.drop_database(database)
    assert seen == {"tcp": (1,), "unix socket": (1,), "other port": True}
    assert _accept_all(other) == 0


class _Unpicklable(Exception):
    def __init__(self, a: int, b: int) -> None:  # pickling re-creates it with one arg only
        super().__init__(f"{a} and {b}")


def test_run_contained_returns_values_and_reraises_exceptions_with_their_type():
    policy = Policy(frozenset())
    assert run_contained(lambda a, b=0: {"sum": a + b}, 2, b=3, policy=policy) == {"sum": 5}

    def fails() -> None:
        raise KeyError("no such role")

    with pytest.raises(KeyError, match="no such role") as caught:
        run_contained(fails, policy=policy)
    assert "Raised in the contained child" in caught.value.__notes__[0]

    def fails_oddly() -> None:
        raise _Unpicklable(1, 2)

    with pytest.raises(ContainedError, match="1 and 2") as caught:
        run_contained(fails_oddly, policy=policy)
    assert caught.value.type_name == "_Unpicklable"
    with pytest.raises(ContainedError, match="cannot be pickled"):
        run_contained(lambda: lambda: None, policy=policy)
    assert _no_child_left()


def test_run_contained_reports_how_a_child_without_a_result_ended():
    policy = Policy(frozenset())
    with pytest.raises(ContainedError, match=r"killed by signal 9\b"):
        run_contained(lambda: os.kill(os.getpid(), signal.SIGKILL), policy=policy)
    with pytest.raises(ContainedError, match="exited with status 3"):
        run_contained(os._exit, 3, policy=policy)
    started = time.monotonic()
    with pytest.raises(
        ContainedTimeout, match=r"no result within 0.5 s: the child was killed by signal 15"
    ):
        run_contained(time.sleep, 30, policy=policy, timeout=0.5)
    assert time.monotonic() - started < 10
    assert _no_child_left()


def test_a_policy_that_cannot_be_applied_fails_before_the_function_runs(writable):
    ran = writable / "ran"
    policy = Policy(frozenset(), (str(writable / "missing"),))
    with pytest.raises(FileNotFoundError):
        run_contained(ran.write_text, "unrestricted!", policy=policy)
    assert not ran.exists()


def _interrupt_when_started(pid_file: Path, signum: int) -> threading.Thread:
    def interrupt() -> None:
        deadline = time.monotonic() + 30
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        if pid_file.exists():  # else the child failed early: interrupting pytest would hurt
            os.kill(os.getpid(), signum)

    thread = threading.Thread(target=interrupt, daemon=True)
    thread.start()
    return thread


def _write_pid_and_sleep(pid_file: Path) -> None:
    pid_file.with_suffix(".tmp").write_text(str(os.getpid()))
    pid_file.with_suffix(".tmp").rename(pid_file)  # whole, or not there at all
    time.sleep(60)


def test_ctrl_c_in_the_caller_stops_and_reaps_the_child_then_goes_on(writable):
    pid_file = writable / "pid"
    thread = _interrupt_when_started(pid_file, signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        run_contained(_write_pid_and_sleep, pid_file, policy=Policy(frozenset(), (str(writable),)))
    thread.join()
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)
    assert _no_child_left()


class _Stopped(Exception):
    pass


def test_sigterm_in_the_caller_stops_the_child_then_reaches_the_callers_own_handler(writable):
    def handler(signum: int, frame: object) -> None:
        raise _Stopped

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        pid_file = writable / "pid"
        thread = _interrupt_when_started(pid_file, signal.SIGTERM)
        with pytest.raises(_Stopped):
            run_contained(
                _write_pid_and_sleep, pid_file, policy=Policy(frozenset(), (str(writable),))
            )
        thread.join()
        assert signal.getsignal(signal.SIGTERM) is handler
    finally:
        signal.signal(signal.SIGTERM, previous)
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)
    assert _no_child_left()


def test_a_signal_landing_while_the_child_is_forked_is_neither_lost_nor_left_blocked():
    # Another thread signals at random moments around the fork: each must stop the child.
    def handler(signum: int, frame: object) -> None:
        raise _Stopped

    def later(go: threading.Event, delay: float, signum: int) -> None:
        go.wait()
        time.sleep(delay)
        os.kill(os.getpid(), signum)

    previous = signal.signal(signal.SIGTERM, handler)
    outcomes = []
    try:
        for turn in range(60):
            signum = (signal.SIGTERM, signal.SIGINT)[turn % 2]
            go = threading.Event()
            sender = threading.Thread(target=later, args=(go, turn % 6 / 2000, signum))
            sender.start()
            started = time.monotonic()
            try:
                go.set()
                run_contained(time.sleep, 10, policy=Policy(frozenset()))
                outcomes.append("returned")
            except (_Stopped, KeyboardInterrupt) as exc:
                outcomes.append(type(exc).__name__)
            finally:
                sender.join()
            assert time.monotonic() - started < 5
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert outcomes == ["_Stopped", "KeyboardInterrupt"] * 30
    assert not {signal.SIGINT, signal.SIGTERM} & signal.pthread_sigmask(signal.SIG_BLOCK, ())
    assert _no_child_left()


def test_the_caller_stays_unrestricted_after_running_contained(listeners, elsewhere):
    _, refused = listeners
    assert run_contained(_raw_connect_errno, _port(refused), policy=Policy(frozenset())) == (
        errno.EACCES
    )
    assert subprocess.run(["true"], check=False).returncode == 0
    assert _raw_connect_errno(_port(refused)) == 0
    (elsewhere / "after.txt").write_text("still writable\n")
    assert _accept_all(refused) == 1


@pytest.mark.skipif(abi_version() < 6, reason="scoping needs Landlock ABI 6 (Linux 6.12)")
def test_abstract_unix_sockets_and_signals_leaving_the_child_are_refused_named_sockets_work(
    elsewhere,
):
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    abstract.bind(f"\0govgate-landlock-{os.getpid()}")
    named = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    named.bind(str(elsewhere / "db.sock"))  # like a PostgreSQL socket: not a writable folder
    for s in (abstract, named):
        s.listen(4)

    def probe() -> dict[str, object]:
        seen: dict[str, object] = {}
        for name, target in (
            ("abstract", abstract.getsockname()),
            ("named", str(elsewhere / "db.sock")),
        ):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                try:
                    s.connect(target)
                    seen[name] = "connected"
                except OSError as exc:
                    seen[name] = exc.errno
        try:
            os.kill(os.getppid(), 0)
            seen["signal the caller"] = "sent"
        except PermissionError as exc:
            seen["signal the caller"] = exc.errno
        return seen

    try:
        seen = run_contained(probe, policy=Policy(frozenset()), timeout=30)
    finally:
        abstract.close()
        named.close()
    assert seen == {"abstract": errno.EPERM, "named": "connected", "signal the caller": errno.EPERM}


def test_without_readable_everywhere_only_the_writable_folders_can_be_read(writable, elsewhere):
    (writable / "plan.yaml").write_text("steps: []\n")

    def probe() -> dict[str, object]:
        seen: dict[str, object] = {"inside": (writable / "plan.yaml").read_text()}
        try:
            seen["outside"] = (elsewhere / "existing.txt").read_text()
        except PermissionError as exc:
            seen["outside"] = exc.errno
        return seen

    policy = Policy(frozenset(), (str(writable),), readable_everywhere=False)
    assert run_contained(probe, policy=policy) == {"inside": "steps: []\n", "outside": errno.EACCES}
