"""A throwaway PostgreSQL server for the test suite.

``PgCluster().start()`` runs ``initdb`` into a fresh temp dir and starts a
postmaster on 127.0.0.1 and on a unix socket in that dir (``socket_dir``), with trust auth
(but for the logins ``password_login`` makes) and durability switched off.  As root
the PostgreSQL binaries are run as the ``postgres`` OS user via ``runuser``.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from urllib.parse import quote

import psycopg

from .throwaway import Throwaway

HOST = "127.0.0.1"
_PG_USER = "postgres"
_PORT_IN_USE = ("Address already in use", "could not create any TCP/IP sockets")
_SETTINGS = {
    "listen_addresses": f"'{HOST}'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
}
# Members of PASSWORD_GROUP must give their password (see `password_login`); everyone else
# is trusted, over TCP on 127.0.0.1 and over the unix socket in `socket_dir`.
PASSWORD_GROUP = "pgcluster_password"
_HBA = (
    f"local all +{PASSWORD_GROUP} scram-sha-256\n"
    f"host all +{PASSWORD_GROUP} 127.0.0.1/32 scram-sha-256\n"
    "local all all trust\nhost all all 127.0.0.1/32 trust\n"
)


def fresh_database_name(prefix: str = "gg") -> str:
    """Return a new unique, lowercase database name such as ``gg_1a2b3c4d5e6f``."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}".lower()


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _find_bindir() -> str:
    """Return the directory holding initdb, pg_ctl and postgres, or raise RuntimeError."""
    candidates = []
    found = shutil.which("initdb")
    if found:
        candidates.append(os.path.dirname(os.path.realpath(found)))
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        reverse=True,
        key=lambda p: [int(n) for n in re.findall(r"\d+", p)],
    )
    for bindir in candidates:
        if all(
            os.access(os.path.join(bindir, b), os.X_OK) for b in ("initdb", "pg_ctl", "postgres")
        ):
            return bindir
    raise RuntimeError(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH or in "
        "/usr/lib/postgresql/*/bin; install them with `apt-get install postgresql`."
    )


class PgCluster(Throwaway):
    """A throwaway PostgreSQL cluster on 127.0.0.1 and a unix socket; trust auth but for
    `password_login`'s logins; stopped and deleted by stop().

    The temp dir (``tempfile.mkdtemp`` under *base_dir*, default the system temp dir)
    is created at init and holds the data dir, the unix socket and ``server.log``.
    *base_dir* must be traversable by the ``postgres`` user when running as root.
    """

    host: str
    port: int
    datadir: str

    def __init__(self, base_dir: str | None = None, port: int | None = None):
        """Create (but do not start) a cluster: pick the port and make the temp dir."""
        self.host = HOST
        self._port_given = port is not None
        self.port = port if port is not None else free_port()
        self._bindir = _find_bindir()
        self._as_root = os.geteuid() == 0
        self._root_dir = tempfile.mkdtemp(prefix="pgcluster-", dir=base_dir)
        if self._as_root:
            try:
                pw = pwd.getpwnam(_PG_USER)
            except KeyError:
                shutil.rmtree(self._root_dir)
                raise RuntimeError(
                    f"running as root but there is no {_PG_USER!r} OS user"
                ) from None
            os.chown(self._root_dir, pw.pw_uid, pw.pw_gid)
        os.chmod(self._root_dir, 0o700)
        self.datadir = os.path.join(self._root_dir, "data")
        self.logfile = os.path.join(self._root_dir, "server.log")
        self._started_once = False
        self._removed = False
        atexit.register(self._cleanup_at_exit)

    # -- process helpers ---------------------------------------------------

    def _run(self, binary: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """Run a PostgreSQL binary (as the postgres user when root) and return the result."""
        cmd = [os.path.join(self._bindir, binary), *args]
        if self._as_root:
            cmd = ["runuser", "-u", _PG_USER, "--", *cmd]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "LC_"))}
        env.update(LC_ALL="C", LANG="C")
        return subprocess.run(
            cmd,
            cwd=self._root_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def _log_tail(self, since: int = 0, lines: int = 30) -> str:
        """Return the last *lines* lines of the server log written after byte offset *since*."""
        try:
            with open(self.logfile, "rb") as f:
                f.seek(since)
                text = f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _log_size(self) -> int:
        """Return the server log's current size in bytes (0 if it does not exist yet)."""
        try:
            return os.path.getsize(self.logfile)
        except FileNotFoundError:
            return 0

    def _initdb(self) -> None:
        """Create the data dir and write the server settings and pg_hba.conf."""
        r = self._run(
            "initdb",
            "-D",
            self.datadir,
            "--auth=trust",
            "-U",
            _PG_USER,
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
        )
        if r.returncode != 0:
            raise RuntimeError(f"initdb failed (exit {r.returncode}):\n{r.stdout}{r.stderr}")
        settings = dict(
            _SETTINGS, unix_socket_directories="'{}'".format(self._root_dir.replace("'", "''"))
        )
        # Appending/truncating keeps the files' owner (postgres) and mode.
        with open(os.path.join(self.datadir, "postgresql.conf"), "a") as f:
            f.write("\n# pgcluster\n" + "".join(f"{k} = {v}\n" for k, v in settings.items()))
        with open(os.path.join(self.datadir, "pg_hba.conf"), "w") as f:
            f.write(_HBA)

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> PgCluster:
        """Start the server (running initdb first if needed) and wait until it accepts connections.

        Until the first successful start, an automatically picked port that turns out
        to be taken is replaced by another one; afterwards the port never changes.
        Raises RuntimeError with the server log tail if the server does not come up.
        """
        if self._removed:
            raise RuntimeError("this PgCluster was stopped with remove=True; create a new one")
        if self.is_running():
            return self
        if not os.path.exists(os.path.join(self.datadir, "PG_VERSION")):
            self._initdb()
        for _attempt in range(5):
            offset = self._log_size()
            r = self._run(
                "pg_ctl",
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                self.datadir,
                "-l",
                self.logfile,
                "-o",
                f"-p {self.port}",
            )
            if r.returncode == 0:
                self._started_once = True
                return self
            tail = self._log_tail(offset)
            if self._started_once or self._port_given or not any(m in tail for m in _PORT_IN_USE):
                break
            self.port = free_port()
        raise RuntimeError(
            f"PostgreSQL failed to start on {self.host}:{self.port} (pg_ctl exit {r.returncode}):\n"
            f"{r.stdout}{r.stderr}\n--- tail of {self.logfile} ---\n{tail}"
        )

    def stop(self, remove: bool = True) -> None:
        """Stop the server (``pg_ctl stop -m fast``) if it runs; with *remove*, delete the temp dir.

        Idempotent: stopping a stopped or removed cluster does nothing.
        """
        if self._removed:
            return
        if self.is_running():
            self._pg_ctl_stop("fast")
        if remove:
            self._remove()

    def kill(self) -> None:
        """Simulate an outage: ``pg_ctl stop -m immediate``, keeping the data; start() brings it
        back.

        WAL is flushed first (best effort), so that commits acknowledged under
        synchronous_commit=off survive, as they would on a real server crash given time.
        """
        if not self.is_running():
            return
        try:
            self.admin_execute("CHECKPOINT")
        except psycopg.Error:
            pass
        self._pg_ctl_stop("immediate")

    def _pg_ctl_stop(self, mode: str) -> None:
        """Run ``pg_ctl stop -m mode -w``; raise RuntimeError with the log tail if the server
        survives.
        """
        r = self._run("pg_ctl", "stop", "-w", "-t", "60", "-m", mode, "-D", self.datadir)
        if r.returncode != 0 and self.is_running():
            raise RuntimeError(
                f"pg_ctl stop -m {mode} failed (exit {r.returncode}):\n{r.stdout}{r.stderr}\n"
                f"--- tail of {self.logfile} ---\n{self._log_tail()}"
            )

    def is_running(self) -> bool:
        """Return whether a postmaster is running on this cluster's data dir."""
        if self._removed or not os.path.exists(os.path.join(self.datadir, "postmaster.pid")):
            return False
        return self._run("pg_ctl", "status", "-D", self.datadir, timeout=30).returncode == 0

    # -- SQL helpers -------------------------------------------------------

    @property
    def socket_dir(self) -> str:
        """The directory of the server's unix socket (``.s.PGSQL.<port>``)."""
        return self._root_dir

    def url(
        self,
        database: str = "postgres",
        user: str = "postgres",
        password: str | None = None,
        driver: str = "postgresql+psycopg",
        socket: bool = False,
    ) -> str:
        """Return an SQLAlchemy URL for *database* on 127.0.0.1:port, or with *socket* through
        the unix socket (``user@/db?host=<socket_dir>&port=<port>``)."""
        auth = quote(user, safe="")
        if password is not None:
            auth += ":" + quote(password, safe="")
        if socket:
            where = f"?host={quote(self.socket_dir, safe='')}&port={self.port}"
            return f"{driver}://{auth}@/{quote(database, safe='')}{where}"
        return f"{driver}://{auth}@{self.host}:{self.port}/{quote(database, safe='')}"

    def password_login(self, name: str, password: str, *attributes: str) -> None:
        """Create login role *name* that must give *password* (scram-sha-256), in
        PASSWORD_GROUP, with extra role *attributes* such as ``SUPERUSER``."""
        self.admin_execute(
            f"DO $$ BEGIN CREATE ROLE {PASSWORD_GROUP} NOLOGIN; "
            "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        )
        literal = "'" + password.replace("'", "''") + "'"
        self.admin_execute(
            f"CREATE ROLE {_ident(name)} LOGIN PASSWORD {literal} {' '.join(attributes)} "
            f"IN ROLE {PASSWORD_GROUP}"
        )

    def admin_execute(self, sql: str, database: str = "postgres") -> None:
        """Execute *sql* in autocommit mode as the postgres superuser in *database*."""
        with psycopg.connect(
            host=self.host,
            port=self.port,
            user=_PG_USER,
            dbname=database,
            autocommit=True,
            connect_timeout=10,
        ) as conn:
            conn.execute(sql)

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create database *name* (optionally from *template*) and return url(name)."""
        sql = f"CREATE DATABASE {_ident(name)}"
        if template is not None:
            sql += f" TEMPLATE {_ident(template)}"
        self.admin_execute(sql)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop database *name* if it exists, terminating its connections (WITH (FORCE))."""
        self.admin_execute(f"DROP DATABASE IF EXISTS {_ident(name)} WITH (FORCE)")


def _ident(name: str) -> str:
    """Quote *name* as an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'
