# Facts about MariaDB 10.11 (Debian 12's 10.11.19) that matter to a governance tool, each checked
# by tests/test_mariadb_server.py against this fixture:
#
# (a) Any DDL (CREATE VIEW, CREATE TABLE, ...) inside a transaction COMMITs it implicitly first:
#     BEGIN; INSERT; CREATE VIEW; ROLLBACK leaves the INSERT in place and the view created, so
#     DDL and data changes cannot share one undoable transaction as on PostgreSQL or SQLite.
#     CREATE TEMPORARY TABLE is the exception: it leaves the transaction open.
# (b) @@in_transaction is 1 while a transaction is open and 0 after COMMIT, ROLLBACK or an implicit
#     commit. With autocommit off it stays 0 until a statement touches a transactional table
#     (SELECT 1 does not open one); BEGIN / START TRANSACTION opens one at once.
# (c) GET_LOCK(name, timeout) locks belong to the session, not the transaction: they survive COMMIT
#     and ROLLBACK, block other sessions (GET_LOCK returns 0 there), one session may hold several,
#     and they go with RELEASE_LOCK or the end of the session.
# (d) SHOW SESSION STATUS counters Handler_write / Handler_update / Handler_delete count row
#     operations of this session only, as one total over all tables (no per-table split; that
#     needs SET GLOBAL userstat=1 and information_schema.TABLE_STATISTICS, which is server-wide).
#     INSERT of 3 rows -> Handler_write +3. Writes to internal temp tables (GROUP BY needing one)
#     do NOT move Handler_write: they go to Handler_tmp_write (unlike MySQL). Rows written by
#     triggers and rows later rolled back DO count. Handler_update also counts rows an UPDATE
#     matched but left unchanged (SET v = 'z' on rows already 'z': 0 rows affected, +1 per row;
#     not for SET v = v), so they bound, not equal, the rows changed. NB SQLAlchemy's MySQL
#     dialects set CLIENT_FOUND_ROWS: its rowcount counts matched rows, not changed ones.
# (e) CREATE ROLE, GRANT role TO user, SET DEFAULT ROLE role FOR user all work; a new session of
#     the user starts with CURRENT_ROLE() = the default role. Column grants appear in
#     information_schema.COLUMN_PRIVILEGES with GRANTEE written 'role'@'' for a role. Surprise:
#     CREATE ROLE grants the new role to its creator WITH ADMIN OPTION (mysql.roles_mapping).
# (f) SHOW GRANTS FOR CURRENT_USER lists only the user's own grants and role memberships
#     (GRANT `role` TO `user`@`host`), NOT the roles' privileges. Plain SHOW GRANTS adds the
#     privileges of the active role and of the roles granted to it; after SET ROLE NONE it no longer
#     does. SHOW GRANTS output also carries the password hash (IDENTIFIED BY PASSWORD '*...').
# (g) mariadb-dump output starts with `/*M!999999\- enable the sandbox mode */`, which MySQL's
#     client and MariaDB clients before 10.5.25/10.6.18/10.11.8 reject (mariadb-dump docs).
"""A throwaway MariaDB server for the test suite.

``MariaDbServer().start()`` runs ``mariadb-install-db`` into a fresh temp dir and starts
``mariadbd`` on 127.0.0.1 with durability switched off.  As root the server runs as the ``mysql``
OS user, or ``nobody`` where Debian's server-core package created no ``mysql`` user.  Clients log
in as ``gg_admin`` (all privileges, with grant option) with a random per-server password; root
stays reachable only through the unix socket inside the 0700 temp dir.  scripts/ensure-mariadb
installs the binaries.
"""

from __future__ import annotations

import atexit
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from urllib.parse import quote

import pymysql
from pymysql.constants import CLIENT

from .throwaway import Throwaway

HOST = "127.0.0.1"
ADMIN_USER = "gg_admin"
_OS_USERS = ("mysql", "nobody")
_PORT_IN_USE = ("Address already in use", "Do you already have another server running on port")
# Given to mariadb-install-db too, so that the redo log is not resized on the first start.  The
# default 96M redo log made install-db take ~1.8 s instead of ~0.9 s.
# flush-log-at-trx-commit=2, not 0: still no fsync, but each commit reaches the OS and survives
# kill() (SIGKILL); with 0, 10 of 10 commits made just before a kill() were lost.
# fmt: off
_INNODB_OPTIONS = ("--innodb-log-file-size=32M", "--innodb-buffer-pool-size=64M",
                   "--innodb-flush-log-at-trx-commit=2", "--innodb-doublewrite=0")
# --no-defaults skips Debian's /etc/mysql, whose utf8mb4 defaults we restate here.
# Statistics in memory: persistent ones are rewritten (InnoDB writes, redo) some 10 s after a
# table's rows change, which would move the change marker (db/marker.py) in a later test.
_SERVER_OPTIONS = ("--bind-address=127.0.0.1", "--skip-name-resolve", "--skip-log-bin",
                   "--max-connections=200", "--character-set-server=utf8mb4",
                   "--collation-server=utf8mb4_general_ci", "--innodb-stats-persistent=0")
# root keeps a passwordless root@localhost, reachable only through the 0700 temp dir's socket.
_INSTALL_OPTIONS = ("--auth-root-authentication-method=normal", "--skip-test-db",
                    "--skip-name-resolve")
# fmt: on


def fresh_database_name(prefix: str = "gg") -> str:
    """Return a new unique, lowercase database name such as ``gg_1a2b3c4d5e6f``."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}".lower()


def _free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def find_binary(*names: str) -> str:
    """Return the path of the first of *names* found on PATH, /usr/sbin or /usr/bin.

    Raises RuntimeError naming scripts/ensure-mariadb when none is installed.
    """
    for name in names:
        for path in (shutil.which(name), f"/usr/sbin/{name}", f"/usr/bin/{name}"):
            if path and os.access(path, os.X_OK):
                return path
    raise RuntimeError(f"{names[0]} not found: run scripts/ensure-mariadb (as root)")


def _ident(name: str) -> str:
    """Quote *name* as a MariaDB identifier."""
    return "`" + name.replace("`", "``") + "`"


class MariaDbServer(Throwaway):
    """A throwaway MariaDB server on 127.0.0.1; stopped and deleted by stop() and at exit.

    The temp dir (``tempfile.mkdtemp`` under *base_dir*, default the system temp dir) is
    created at init and holds the data dir, the unix socket, the pid file and ``server.log``.
    *base_dir* must be traversable by the server's OS user when running as root.
    """

    host: str
    port: int
    datadir: str
    socket: str
    log: str

    def __init__(self, base_dir: str | None = None, port: int | None = None):
        """Create (but do not start) a server: pick the port and OS user, make the temp dir.

        Raises RuntimeError if the binaries are missing or, as root, no non-root OS user exists.
        """
        self.host = HOST
        self._port_given = port is not None
        self.port = port if port is not None else _free_port()
        self._mariadbd = find_binary("mariadbd", "mysqld")
        self._install_db = find_binary("mariadb-install-db", "mysql_install_db")
        self._as_root = os.geteuid() == 0
        self.os_user = self._pick_os_user()
        self.admin_user = ADMIN_USER
        self.admin_password = secrets.token_urlsafe(18)
        self._root_dir = tempfile.mkdtemp(prefix="mariadb-", dir=base_dir)
        self.datadir = os.path.join(self._root_dir, "data")
        self.socket = os.path.join(self._root_dir, "mysqld.sock")
        self.log = os.path.join(self._root_dir, "server.log")
        self._pid_file = os.path.join(self._root_dir, "mysqld.pid")
        open(self.log, "ab").close()  # created by us, so that it can be chowned below
        if self._as_root:
            pw = pwd.getpwnam(self.os_user)
            for path in (self._root_dir, self.log):
                os.chown(path, pw.pw_uid, pw.pw_gid)
        os.chmod(self._root_dir, 0o700)
        self._proc: subprocess.Popen | None = None
        self._started_once = False
        self._removed = False
        atexit.register(self._cleanup_at_exit)

    @property
    def pid(self) -> int | None:
        """The running mariadbd's process id, or None when it is not running."""
        return self._proc.pid if self.is_running() else None

    def _pick_os_user(self) -> str:
        """Return the OS user to run the server as: ourselves, or (as root) mysql or nobody."""
        if not self._as_root:
            return pwd.getpwuid(os.geteuid()).pw_name
        known = {entry.pw_name for entry in pwd.getpwall()}
        for name in _OS_USERS:
            if name in known:
                return name
        raise RuntimeError(f"running as root but none of the OS users {_OS_USERS} exists")

    # -- process helpers ---------------------------------------------------

    def _child_options(self) -> dict:
        """Popen keyword arguments that run a child as the server's OS user in the temp dir.

        The uid switch happens in the forked child rather than through runuser, because runuser
        stays as a watching parent and kill() must deliver SIGKILL to mariadbd itself.
        """
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MYSQL", "MARIADB"))}
        env.update(LC_ALL="C", LANG="C", HOME=self._root_dir, TMPDIR=self._root_dir)
        options: dict = {"cwd": self._root_dir, "env": env, "stdin": subprocess.DEVNULL}
        if self._as_root:
            pw = pwd.getpwnam(self.os_user)
            options.update(user=pw.pw_uid, group=pw.pw_gid, extra_groups=[])
        return options

    def _log_tail(self, since: int = 0, lines: int = 30) -> str:
        """Return the last *lines* lines of the server log written after byte offset *since*."""
        with open(self.log, "rb") as f:
            f.seek(since)
            text = f.read().decode("utf-8", "replace")
        return "\n".join(text.splitlines()[-lines:])

    def _install_datadir(self) -> None:
        """Create the system tables with mariadb-install-db; raise RuntimeError on failure."""
        cmd = [self._install_db, "--no-defaults", f"--datadir={self.datadir}"]
        cmd += [f"--user={self.os_user}", *_INSTALL_OPTIONS, *_INNODB_OPTIONS]
        options = self._child_options()
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, **options)
        if r.returncode != 0:
            raise RuntimeError(
                f"mariadb-install-db failed (exit {r.returncode}):\n{r.stdout}{r.stderr}"
            )

    def _spawn(self) -> None:
        """Start mariadbd in the background, its stderr appended to the server log."""
        cmd = [self._mariadbd, "--no-defaults", f"--datadir={self.datadir}", f"--port={self.port}"]
        cmd += [f"--socket={self.socket}", f"--pid-file={self._pid_file}"]
        cmd += [f"--log-error={self.log}", f"--tmpdir={self._root_dir}"]
        cmd += [*_SERVER_OPTIONS, *_INNODB_OPTIONS]
        with open(self.log, "ab") as log:
            # A new session keeps a terminal's Ctrl-C away from the server; atexit stops it.
            self._proc = subprocess.Popen(
                cmd, stdout=log, stderr=log, start_new_session=True, **self._child_options()
            )

    def _root_connect(self) -> pymysql.Connection:
        """Connect as root through the unix socket (passwordless, never reachable over TCP)."""
        return pymysql.connect(
            unix_socket=self.socket, user="root", password="", autocommit=True, connect_timeout=5
        )

    def _wait_ready(self, timeout: float = 60) -> bool:
        """Wait until the server accepts connections; return False if it exits or times out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                return False
            try:
                self._root_connect().close()
                return True
            except (pymysql.MySQLError, OSError):
                time.sleep(0.02)
        return False

    def _create_admin(self) -> None:
        """Create the admin login and drop root's passwordless TCP accounts."""
        password = self.admin_password.replace("'", "''")
        with self._root_connect() as conn, conn.cursor() as cur:
            for host in ("127.0.0.1", "localhost"):
                account = f"{_ident(ADMIN_USER)}@'{host}'"
                cur.execute(f"CREATE USER IF NOT EXISTS {account} IDENTIFIED BY '{password}'")
                cur.execute(f"GRANT ALL PRIVILEGES ON *.* TO {account} WITH GRANT OPTION")
            cur.execute("SELECT host FROM mysql.user WHERE user = 'root' AND host <> 'localhost'")
            for (host,) in cur.fetchall():
                cur.execute("DROP USER 'root'@%s", (host,))

    def _terminate(self, sig: signal.Signals) -> None:
        """Send *sig* to mariadbd and wait for it; escalate to SIGKILL after 60 s."""
        if self.is_running():
            self._proc.send_signal(sig)
            try:
                self._proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=30)
        self._proc = None

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> MariaDbServer:
        """Start the server (initialising the data dir first if needed); wait until it answers.

        Until the first successful start, an automatically picked port that turns out to be
        taken is replaced by another one; afterwards the port never changes.  Raises
        RuntimeError with the server log tail if the server does not come up.
        """
        if self._removed:
            raise RuntimeError("this MariaDbServer was stopped with remove=True; create a new one")
        if self.is_running():
            return self
        if not os.path.isdir(os.path.join(self.datadir, "mysql")):
            self._install_datadir()
        for _attempt in range(5):
            offset = os.path.getsize(self.log)
            self._spawn()
            if self._wait_ready():
                break
            self._terminate(signal.SIGKILL)
            tail = self._log_tail(offset)
            if self._started_once or self._port_given or not any(m in tail for m in _PORT_IN_USE):
                raise RuntimeError(
                    f"mariadbd failed to start on {self.host}:{self.port}:\n"
                    f"--- tail of {self.log} ---\n{tail}"
                )
            self.port = _free_port()
        else:
            raise RuntimeError(f"mariadbd found no free port; see {self.log}")
        if not self._started_once:
            self._create_admin()
            self._started_once = True
        return self

    def stop(self, remove: bool = True) -> None:
        """Shut the server down (SIGTERM, a clean shutdown); with *remove*, delete the temp dir.

        Idempotent: stopping a stopped or removed server does nothing.
        """
        if self._removed:
            return
        self._terminate(signal.SIGTERM)
        if remove:
            self._remove()

    def kill(self) -> None:
        """Simulate a crash: SIGKILL mariadbd, keeping the data; start() recovers and resumes.

        Commits acknowledged before the kill survive it (see _INNODB_OPTIONS).
        """
        self._terminate(signal.SIGKILL)

    def is_running(self) -> bool:
        """Return whether this object's mariadbd process is alive."""
        return self._proc is not None and self._proc.poll() is None

    # -- SQL helpers -------------------------------------------------------

    def url(self, database: str = "", user: str | None = None, password: str | None = None) -> str:
        """Return an SQLAlchemy URL for *database* on 127.0.0.1:port with charset utf8mb4.

        Without *user* the admin login and its password are used; with *user*, *password*
        (if given) is added to the URL.
        """
        if user is None:
            user, password = self.admin_user, self.admin_password
        auth = quote(user, safe="")
        if password is not None:
            auth += ":" + quote(password, safe="")
        path = quote(database, safe="")
        return f"mysql+pymysql://{auth}@{self.host}:{self.port}/{path}?charset=utf8mb4"

    def admin_connect(self, database: str | None = None) -> pymysql.Connection:
        """Return a new autocommit PyMySQL connection as the admin over TCP; caller closes it."""
        login = {"user": self.admin_user, "password": self.admin_password, "database": database}
        return pymysql.connect(host=self.host, port=self.port, **login, charset="utf8mb4",
                               autocommit=True, connect_timeout=10,
                               client_flag=CLIENT.MULTI_STATEMENTS)  # fmt: skip

    def admin_execute(self, sql: str, database: str | None = None) -> None:
        """Execute *sql* (one or more ;-separated statements) as the admin in autocommit mode.

        Raises pymysql.MySQLError from the first statement that fails; later ones do not run.
        """
        with self.admin_connect(database) as conn, conn.cursor() as cur:
            cur.execute(sql)
            while cur.nextset():
                pass

    def admin_query(self, sql: str, database: str | None = None) -> list[tuple]:
        """Run one statement as the admin and return its rows as tuples."""
        with self.admin_connect(database) as conn, conn.cursor() as cur:
            cur.execute(sql)
            return [tuple(row) for row in cur.fetchall()]

    def create_database(self, name: str) -> str:
        """Create database *name* (utf8mb4) and return url(name)."""
        self.admin_execute(
            f"CREATE DATABASE {_ident(name)} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"
        )
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop database *name* if it exists, first killing the sessions whose current db it is.

        Sessions that use its tables from another current database can still block the DROP;
        it then fails after 30 s (lock_wait_timeout) instead of waiting for a year.
        """
        with self.admin_connect() as conn, conn.cursor() as cur:
            cur.execute("SET SESSION lock_wait_timeout = 30")
            where = "db = %s AND id <> CONNECTION_ID()"
            cur.execute(f"SELECT id FROM information_schema.PROCESSLIST WHERE {where}", (name,))
            for (session_id,) in cur.fetchall():
                try:
                    cur.execute(f"KILL {int(session_id)}")
                except pymysql.MySQLError:
                    pass  # it ended by itself meanwhile
            cur.execute(f"DROP DATABASE IF EXISTS {_ident(name)}")
