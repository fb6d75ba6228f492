"""What every family shares: the test suite's helpers on sys.path, figures, labs, forked runs.

The families reuse tests/support (the labs, the throwaway servers, the approvers' keys) so that
the suite measures exactly what the tests prove; this module puts tests/ on sys.path first.
"""

from __future__ import annotations

import os
import resource
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))

from support import signing  # noqa: E402
from support.labs import Lab, build_pg_template, copy_pg_lab, copy_sqlite_lab  # noqa: E402

# As under pytest (tests/conftest.py): every govgate run trusts the suite's approvers, and no
# govgate.toml from the folder the suite runs in reaches it.
os.environ["GOVGATE_ALLOWED_SIGNERS"] = signing.allowed_signers()
os.environ["GOVGATE_CONFIG"] = os.devnull

BACKENDS = ("sqlite", "postgres", "mariadb")


@dataclass
class Figure:
    """One measured figure: COUNT good out of TOTAL, against a bar (`zero` bad, or `all` good)."""

    family: str
    name: str
    good: int
    total: int
    bar: str = "all"  # "all": every one good (100%); "zero": the count of bad ones must be 0
    minimum: int = 0  # the least TOTAL the issue asks for (0: any)
    failures: list[str] = field(default_factory=list)
    info: bool = False  # a figure without a bar (shown, never judged)

    @property
    def bad(self) -> int:
        return self.total - self.good

    @property
    def ok(self) -> bool:
        if self.info:
            return True
        return self.total > 0 and self.bad == 0 and self.total >= self.minimum

    def value(self) -> str:
        if self.bar == "zero":
            return f"{self.bad} of {self.total}"
        pct = 100.0 * self.good / self.total if self.total else 0.0
        return f"{pct:.1f}% ({self.good}/{self.total})"

    def bar_text(self) -> str:
        if self.info:
            return "no bar (information)"
        need = f", at least {self.minimum} trials" if self.minimum else ""
        return ("must be 0" if self.bar == "zero" else "must be 100%") + need

    def line(self) -> str:
        verdict = "info" if self.info else ("MEETS" if self.ok else "FAILS")
        return f"{verdict:5}  {self.family}: {self.name}: {self.value()}  [{self.bar_text()}]"


def tally(family: str, name: str, results: list[tuple[bool, str]], **kw) -> Figure:
    """A figure from (good, what) pairs; WHAT of each bad one is kept as its failure."""
    bad = [what for good, what in results if not good]
    return Figure(family, name, len(results) - len(bad), len(results), failures=bad, **kw)


# -- the databases -------------------------------------------------------------------------


class Servers:
    """The throwaway servers and One-Roof templates of one run; labs are copied from them."""

    def __init__(self, backends: tuple[str, ...], folder: Path):
        self.backends, self.folder = backends, folder
        self.pg = self.mariadb = None
        self.sqlite_template: Path | None = None
        self._templates: dict[str, str] = {}

    @classmethod
    def reuse(
        cls,
        folder: Path,
        sqlite_template: Path,
        pg=None,
        pg_template: str | None = None,
        mariadb=None,
        mariadb_template: str | None = None,
    ) -> Servers:
        """Servers and templates someone else started and stops (the test suite's fixtures)."""
        backends = ("sqlite",) + (("postgres",) if pg else ()) + (("mariadb",) if mariadb else ())
        made = cls(backends, folder)
        made.sqlite_template, made.pg, made.mariadb = sqlite_template, pg, mariadb
        made._templates = {"postgres": pg_template, "mariadb": mariadb_template}
        return made

    def __enter__(self) -> Servers:
        from govgate import api
        from govgate.config import Settings

        if "sqlite" in self.backends:
            self.sqlite_template = self.folder / "template.db"
            api.demo(Settings(), str(self.sqlite_template), actor="test-builder")
        if "postgres" in self.backends:
            from support.pgcluster import PgCluster

            self.pg = PgCluster().start()
            self._templates["postgres"] = build_pg_template(self.pg, "oneroof_template")
        if "mariadb" in self.backends:
            from support.mariadb import MariaDbServer
            from support.mariadb_labs import build_mariadb_template

            self.mariadb = MariaDbServer().start()
            self._templates["mariadb"] = build_mariadb_template(self.mariadb, "oneroof_template")
        return self

    def __exit__(self, *exc) -> None:
        for server in (self.pg, self.mariadb):
            if server is not None:
                server.stop()

    def server(self, backend: str):
        return {"postgres": self.pg, "mariadb": self.mariadb}.get(backend)

    def lab(self, backend: str) -> Lab:
        """A fresh One-Roof demo on BACKEND, with a folder of its own."""
        folder = Path(tempfile.mkdtemp(prefix=f"lab-{backend}-", dir=self.folder))
        if backend == "sqlite":
            return copy_sqlite_lab(folder, self.sqlite_template)
        if backend == "postgres":
            return copy_pg_lab(self.pg, self._templates["postgres"], folder)
        from support.mariadb_labs import copy_mariadb_lab

        return copy_mariadb_lab(self.mariadb, self._templates["mariadb"], folder)

    def drop(self, lab: Lab) -> None:
        server = self.server(lab.backend)
        if server is not None:
            server.drop_database(lab.db_name)


def scratch_folder(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


# -- a function in a forked child ------------------------------------------------------------


@dataclass
class Forked:
    code: int | None  # the exit status; None when killed by a signal or timed out
    signal: int | None
    out: str
    err: str
    timed_out: bool = False
    seconds: float = 0.0


def fork_start(fn: Callable[[], int], folder: Path, memory_mb: int | None = None):
    """Fork a child running FN (everything is already imported: no interpreter start-up);
    its stdout and stderr go to files. Returns (pid, out path, err path).

    The child leaves through os._exit: no atexit handler of the parent (which would stop the
    throwaway servers) ever runs in it.
    """
    stamp = time.monotonic_ns()
    out_path, err_path = folder / f"child-{stamp}.out", folder / f"child-{stamp}.err"
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 70
        try:
            os.setsid()  # a group of its own: a timeout kills it and its children only
            for fd, path in ((1, out_path), (2, err_path)):
                target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                os.dup2(target, fd)
                os.close(target)
            sys.stdout = open(1, "w", closefd=False)
            sys.stderr = open(2, "w", closefd=False)
            if memory_mb:
                limit = memory_mb * 1024 * 1024
                resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            code = fn()
        except BaseException:
            traceback.print_exc()
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code if isinstance(code, int) else 70)
    return pid, out_path, err_path


def fork_wait(pid: int, out_path: Path, err_path: Path, timeout: float, started: float) -> Forked:
    """Wait for the child PID (at most until STARTED + TIMEOUT); kill its group on timeout."""
    timed_out, status = False, None
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() - started > timeout:
            timed_out = True
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            _, status = os.waitpid(pid, 0)
            break
        time.sleep(0.01)
    seconds = time.monotonic() - started
    out = out_path.read_text(errors="replace")
    err = err_path.read_text(errors="replace")
    out_path.unlink(missing_ok=True)
    err_path.unlink(missing_ok=True)
    sig = -os.waitstatus_to_exitcode(status) if os.WIFSIGNALED(status) else None
    code = None if sig or timed_out else os.waitstatus_to_exitcode(status)
    return Forked(code, sig, out, err, timed_out, seconds)


def forked(
    fn: Callable[[], int], folder: Path, timeout: float = 60, memory_mb: int | None = None
) -> Forked:
    """FN run in a forked child; its exit status and output."""
    started = time.monotonic()
    pid, out_path, err_path = fork_start(fn, folder, memory_mb)
    return fork_wait(pid, out_path, err_path, timeout, started)


def cli_main(argv: list[str], env: dict | None = None) -> Callable[[], int]:
    """A child's body: `govgate ARGV` through cli.main, under ENV added to the environment."""

    def run() -> int:
        os.environ.update(env or {})
        from govgate.cli import main

        return main(argv)

    return run


TRACEBACK = "Traceback (most recent call last)"
