"""The One-Roof lab on the suite's throwaway MariaDB server: a template database built once,
and one copy of it per test.

The template is `govgate demo` + `govgate init --roles` (which on MariaDB also makes the
dashboard views), with the agent's and approver's logins in the roles. A copy is the
template's tables, rows, triggers and views copied with SQL into a fresh database, and the
roles' table grants given again there (MariaDB's grants name their database). The next copy
is made in a background thread while a test runs; the one left unused goes with the server.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pymysql

from govgate import api
from govgate.config import Settings

from support import signing
from support.constants import AGENT_LOGIN, APPROVER_LOGIN
from support.labs import Lab
from support.mariadb import MariaDbServer, fresh_database_name


def _logins(server: MariaDbServer) -> None:
    """The agent's and the approver's logins (no password, loopback only), each with its
    govgate role as default role, as the README tells an operator to make them."""
    for login, role in ((AGENT_LOGIN, "govgate_agent"), (APPROVER_LOGIN, "govgate_approver")):
        account = f"'{login}'@'127.0.0.1'"
        server.admin_execute(
            f"CREATE USER IF NOT EXISTS {account}; GRANT {role} TO {account}; "
            f"SET DEFAULT ROLE {role} FOR {account}"
        )


def build_mariadb_template(server: MariaDbServer, name: str) -> str:
    """The One-Roof demo in database NAME, with the roles and the two logins."""
    url = server.create_database(name)
    settings = Settings(db_url=url)
    api.demo(settings, actor="test-builder")
    api.init(settings, actor="test-builder", roles=True, sql_registration=True)
    _logins(server)
    return name


class _Copier:
    """Copies of the template, made with SQL on the server alone and one ahead of time.

    A copy is the template's tables (CREATE TABLE ... LIKE, INSERT ... SELECT), then its
    triggers and views (as SHOW CREATE gives them) and the roles' table grants on the new
    database. It runs in a background thread while the previous test runs, over the server's
    unix socket: a test's network guard (which admits its own database and local sockets only,
    process-wide) never sees it, and it starts no program.
    """

    def __init__(self, server: MariaDbServer, template: str):
        self.server, self.template = server, template
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mariadb-lab")
        self._next: Future | None = None

    def prepared(self) -> str:
        """The name of a fresh copy; the next one is started meanwhile."""
        if self._next is None:
            self._next = self._pool.submit(self._copy)
        name = self._next.result()
        self._next = self._pool.submit(self._copy)
        return name

    def wait(self) -> None:
        """Until the copy being made ahead of time is made."""
        if self._next is not None:
            self._next.result()

    def _copy(self) -> str:
        name = fresh_database_name()
        new, old = _q(name), _q(self.template)
        conn = pymysql.connect(unix_socket=self.server.socket, user=self.server.admin_user,
                               password=self.server.admin_password, autocommit=True,
                               charset="utf8mb4")  # fmt: skip
        try:
            cur = conn.cursor()
            cur.execute(f"CREATE DATABASE {new} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci")
            cur.execute(f"SHOW FULL TABLES FROM {old}")
            kinds = cur.fetchall()
            for table, kind in kinds:
                if kind == "BASE TABLE":
                    cur.execute(f"CREATE TABLE {new}.{_q(table)} LIKE {old}.{_q(table)}")
                    cur.execute(f"INSERT INTO {new}.{_q(table)} SELECT * FROM {old}.{_q(table)}")
            cur.execute(f"USE {new}")
            for table, kind in kinds:
                if kind == "VIEW":
                    cur.execute(f"SHOW CREATE VIEW {old}.{_q(table)}")
                    cur.execute(cur.fetchone()[1].replace(f"{old}.", ""))
            cur.execute(f"SHOW TRIGGERS FROM {old}")
            for trigger in [row[0] for row in cur.fetchall()]:
                cur.execute(f"SHOW CREATE TRIGGER {old}.{_q(trigger)}")
                cur.execute(cur.fetchone()[2])
            cur.execute(
                "SELECT User, Host, Table_name, Table_priv FROM mysql.tables_priv WHERE Db = %s",
                (self.template,),
            )
            for user, host, table, privileges in cur.fetchall():
                grantee = _q(user) + (f"@{_q(host)}" if host else "")
                cur.execute(f"GRANT {privileges.replace(',', ', ')} ON {new}.{_q(table)} "
                            f"TO {grantee}")  # fmt: skip
        finally:
            conn.close()
        return name


def _q(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


_COPIERS: dict[tuple[int, str], _Copier] = {}


def copy_mariadb_lab(server: MariaDbServer, template: str, folder: Path) -> Lab:
    """A lab on a new database loaded from TEMPLATE's dump; drop it after use."""
    key = (id(server), template)
    if key not in _COPIERS:
        _COPIERS[key] = _Copier(server, template)
    name = _COPIERS[key].prepared()
    url = server.url(name)
    settings = Settings(
        db_url=url,
        agent_db_url=server.url(name, user=AGENT_LOGIN),
        report_dir=str(folder / "reports"),
        allowed_signers=signing.allowed_signers(),
    )
    return Lab("mariadb", settings, server.url(name, user=APPROVER_LOGIN))


def wait_until_quiet(server: MariaDbServer, timeout: float = 30.0) -> None:
    """Until nothing but the test itself moves the server's redo log (the change marker).

    The LSN is server-wide: the next lab's copy moves it, then InnoDB's purge of that copy,
    a second or so later. So: the copy made, no history left to purge, and the LSN still over
    a few reads. (The server keeps its statistics in memory: persistent statistics would
    move the LSN some 10 s after each copy, in whichever test runs then.)
    """
    for copier in list(_COPIERS.values()):
        if copier.server is server:
            copier.wait()
    conn = pymysql.connect(unix_socket=server.socket, user=server.admin_user,
                           password=server.admin_password, autocommit=True)  # fmt: skip
    try:
        cur = conn.cursor()
        deadline, seen, still = time.monotonic() + timeout, None, 0
        while still < 5:
            if time.monotonic() > deadline:
                raise AssertionError(f"the MariaDB server's redo log still moves: {seen}")
            cur.execute("SHOW GLOBAL STATUS WHERE Variable_name IN "
                        "('Innodb_lsn_current', 'Innodb_history_list_length')")  # fmt: skip
            found = dict(cur.fetchall())
            idle = found["Innodb_history_list_length"] == "0"
            still = still + 1 if idle and found == seen else 0
            seen = found
            time.sleep(0.05)
    finally:
        conn.close()
