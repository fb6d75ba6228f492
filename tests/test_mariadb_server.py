"""Tests for the throwaway MariaDB server, and the MariaDB facts recorded in support/mariadb.py."""

from __future__ import annotations

import os
import pwd
import socket
import subprocess
import sys
import tempfile

import pymysql
import pytest
import sqlalchemy as sa

from support.mariadb import MariaDbServer, find_binary, fresh_database_name


@pytest.fixture(scope="module")
def own_server():
    """A server of this module's own, which the restart and kill tests may take down."""
    with MariaDbServer() as server:
        yield server


@pytest.fixture
def db(mariadb):
    """A fresh database on the shared server with tables t (id, v) and u (x); dropped after."""
    name = fresh_database_name()
    mariadb.create_database(name)
    mariadb.admin_execute(
        "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB;"
        "CREATE TABLE u (x INT) ENGINE=InnoDB",
        database=name,
    )
    yield name
    mariadb.drop_database(name)


def _listening_addresses(pid: int) -> set[tuple[str, int]]:
    """Return the (address, port) pairs that process *pid* listens on over TCP (IPv4 and IPv6)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:  # closed since the listing (a short-lived file of the server)
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        with open(f"/proc/{pid}/net/{table}") as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[3] != "0A" or fields[9] not in inodes:  # 0A: LISTEN
                    continue
                address, port = fields[1].split(":")
                raw = bytes.fromhex(address)
                # /proc prints each 32-bit word in host (little-endian) order.
                raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
                found.add((socket.inet_ntop(family, raw), int(port, 16)))
    return found


def _status(conn, *names: str) -> dict[str, int]:
    """Return this session's SHOW SESSION STATUS values for *names*."""
    rows = conn.exec_driver_sql("SHOW SESSION STATUS").fetchall()
    return {name: int(value) for name, value in rows if name in names}


def test_the_server_runs_as_a_non_root_os_user_and_listens_only_on_127_0_0_1(mariadb):
    with open(f"/proc/{mariadb.pid}/status") as f:
        uids = next(line.split()[1:] for line in f if line.startswith("Uid:"))
    assert mariadb.os_user != "root" and "0" not in uids  # real, effective, saved, fs uid
    assert set(uids) == {str(pwd.getpwnam(mariadb.os_user).pw_uid)}
    assert _listening_addresses(mariadb.pid) == {("127.0.0.1", mariadb.port)}
    assert mariadb.admin_query("SELECT @@bind_address, @@port") == [("127.0.0.1", mariadb.port)]
    assert mariadb.url("x").startswith(f"mysql+pymysql://gg_admin:{mariadb.admin_password}@")
    assert mariadb.url("x").endswith(f"@127.0.0.1:{mariadb.port}/x?charset=utf8mb4")
    # root has no TCP account left: it is reachable only through the socket in the 0700 dir.
    assert mariadb.admin_query("SELECT host FROM mysql.user WHERE user = 'root'") == [
        ("localhost",)
    ]
    assert oct(os.stat(os.path.dirname(mariadb.socket)).st_mode & 0o777) == "0o700"


def test_a_database_is_usable_through_sqlalchemy_and_pymysql_with_innodb_transactions(mariadb):
    name = fresh_database_name()
    url = mariadb.create_database(name)
    assert url == mariadb.url(name)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB")
            conn.exec_driver_sql("INSERT INTO t VALUES (1, 'gone')")
            conn.rollback()
            assert conn.exec_driver_sql("SELECT COUNT(*) FROM t").scalar() == 0
            conn.exec_driver_sql("INSERT INTO t VALUES (2, 'kept ✓')")
            conn.commit()
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT id, v FROM t").fetchall() == [(2, "kept ✓")]
            engine_name = conn.exec_driver_sql(
                "SELECT engine FROM information_schema.TABLES WHERE table_schema = DATABASE()"
            ).scalar()
            assert engine_name == "InnoDB"
    finally:
        engine.dispose()
    mariadb.drop_database(name)
    assert mariadb.admin_query(f"SHOW DATABASES LIKE '{name}'") == []


def test_ddl_inside_a_transaction_commits_it_on_mariadb(mariadb, db):
    engine = sa.create_engine(mariadb.url(db))
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("BEGIN")
            conn.exec_driver_sql("INSERT INTO t VALUES (1, 'before ddl')")
            conn.exec_driver_sql("CREATE VIEW v AS SELECT id FROM t")
            assert conn.exec_driver_sql("SELECT @@in_transaction").scalar() == 0
            conn.exec_driver_sql("ROLLBACK")
            assert conn.exec_driver_sql("SELECT v FROM t").fetchall() == [("before ddl",)]
            assert conn.exec_driver_sql("SELECT id FROM v").fetchall() == [(1,)]
            # The exception: a temporary table does not end the transaction.
            conn.exec_driver_sql("BEGIN")
            conn.exec_driver_sql("INSERT INTO t VALUES (2, 'undone')")
            conn.exec_driver_sql("CREATE TEMPORARY TABLE scratch (x INT)")
            conn.exec_driver_sql("ROLLBACK")
            assert conn.exec_driver_sql("SELECT COUNT(*) FROM t WHERE id = 2").scalar() == 0
    finally:
        engine.dispose()


def test_in_transaction_tells_whether_a_transaction_is_open(mariadb, db):
    engine = sa.create_engine(mariadb.url(db))  # PyMySQL runs with autocommit off
    try:
        with engine.connect() as conn:

            def in_transaction() -> int:
                return conn.exec_driver_sql("SELECT @@in_transaction").scalar()

            assert in_transaction() == 0
            conn.exec_driver_sql("SELECT 1")
            assert in_transaction() == 0  # no transactional table touched yet
            conn.exec_driver_sql("SELECT COUNT(*) FROM t")
            assert in_transaction() == 1
            conn.commit()
            assert in_transaction() == 0
            conn.exec_driver_sql("START TRANSACTION")
            assert in_transaction() == 1
            conn.rollback()
            assert in_transaction() == 0
    finally:
        engine.dispose()


def test_get_lock_is_per_session_and_survives_commit_and_rollback(mariadb, db):
    a, b = mariadb.admin_connect(db), mariadb.admin_connect(db)
    try:
        with a.cursor() as ca, b.cursor() as cb:

            def one(cur, sql: str):
                cur.execute(sql)
                return cur.fetchone()[0]

            assert one(ca, "SELECT GET_LOCK('gg_rollout', 0)") == 1
            assert one(ca, "SELECT GET_LOCK('gg_other', 0)") == 1  # several locks per session
            assert one(cb, "SELECT GET_LOCK('gg_rollout', 0)") == 0
            a_id = one(ca, "SELECT CONNECTION_ID()")
            ca.execute("BEGIN")
            ca.execute("INSERT INTO t VALUES (1, 'x')")
            ca.execute("COMMIT")
            assert one(cb, "SELECT IS_USED_LOCK('gg_rollout')") == a_id
            ca.execute("BEGIN")
            ca.execute("ROLLBACK")
            assert one(cb, "SELECT IS_USED_LOCK('gg_rollout')") == a_id
            a.close()
            assert one(cb, "SELECT GET_LOCK('gg_rollout', 5)") == 1  # freed by session end
    finally:
        b.close()


def test_handler_counters_count_this_sessions_row_writes_in_total_and_not_temp_tables(mariadb, db):
    names = (
        "Handler_write",
        "Handler_update",
        "Handler_delete",
        "Handler_tmp_write",
        "Created_tmp_tables",
    )
    engine = sa.create_engine(mariadb.url(db))
    try:
        with engine.connect() as conn, engine.connect() as other:

            def delta(sql: str, session=conn, end: str = "commit") -> dict[str, int]:
                before = _status(conn, *names)
                session.exec_driver_sql(sql)
                getattr(session, end)()
                after = _status(conn, *names)
                return {k: after[k] - before[k] for k in names if after[k] != before[k]}

            assert delta("INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')") == {
                "Handler_write": 3
            }
            assert delta("INSERT INTO u VALUES (1), (1), (2)") == {"Handler_write": 3}
            grouped = delta("SELECT x, COUNT(*) AS n FROM u GROUP BY x ORDER BY n DESC")
            assert grouped.get("Created_tmp_tables") == 1 and grouped.get("Handler_tmp_write")
            assert "Handler_write" not in grouped
            assert delta("UPDATE t SET v = 'z' WHERE id <= 2") == {"Handler_update": 2}
            # Rows matched but left unchanged still count, unless the SET is v = v.
            assert delta("UPDATE t SET v = 'z' WHERE id <= 2") == {"Handler_update": 2}
            assert delta("UPDATE t SET v = v") == {}
            # ... though the server reports 0 affected rows (SQLAlchemy's rowcount says 2: its
            # MySQL dialects always set CLIENT_FOUND_ROWS, so rowcount counts matched rows).
            with mariadb.admin_connect(db) as raw, raw.cursor() as cur:
                assert cur.execute("UPDATE t SET v = 'z' WHERE id <= 2") == 0
            assert conn.exec_driver_sql("UPDATE t SET v = 'z' WHERE id <= 2").rowcount == 2
            conn.commit()
            assert delta("DELETE FROM t WHERE id = 3") == {"Handler_delete": 1}
            assert delta("INSERT INTO u VALUES (9)", session=other) == {}  # other sessions
            assert delta("INSERT INTO u VALUES (7)", end="rollback") == {"Handler_write": 1}
            conn.exec_driver_sql(
                "CREATE TRIGGER copy_u AFTER INSERT ON u FOR EACH ROW "
                "INSERT INTO t VALUES (NEW.x + 100, 'trigger')"
            )
            assert delta("INSERT INTO u VALUES (5)") == {"Handler_write": 2}
        status_names = {n for (n, _v) in mariadb.admin_query("SHOW SESSION STATUS")}
        assert not any(n.lower().startswith("handler_write_") for n in status_names)
    finally:
        engine.dispose()


def test_roles_default_roles_and_column_grants_work(mariadb, db):
    role, login = fresh_database_name("gg_role"), fresh_database_name("gg_user")
    account = f"'{login}'@'127.0.0.1'"
    mariadb.admin_execute(
        f"CREATE ROLE {role}; GRANT SELECT (id), UPDATE (v) ON {db}.t TO {role};"
        f"CREATE USER {account} IDENTIFIED BY 'pw'; GRANT {role} TO {account};"
        f"SET DEFAULT ROLE {role} FOR {account}"
    )
    try:
        assert sorted(
            mariadb.admin_query(
                "SELECT grantee, column_name, privilege_type"
                f" FROM information_schema.COLUMN_PRIVILEGES WHERE table_schema = '{db}'"
            )
        ) == [(f"'{role}'@''", "id", "SELECT"), (f"'{role}'@''", "v", "UPDATE")]
        # CREATE ROLE made its creator an admin of the role.
        assert sorted(
            mariadb.admin_query(
                f"SELECT host, user, admin_option FROM mysql.roles_mapping WHERE role = '{role}'"
            )
        ) == [("127.0.0.1", "gg_admin", "Y"), ("127.0.0.1", login, "N")]
        engine = sa.create_engine(mariadb.url(db, user=login, password="pw"))
        try:
            with engine.connect() as conn:
                assert conn.exec_driver_sql("SELECT CURRENT_ROLE()").scalar() == role
                assert conn.exec_driver_sql("SELECT id FROM t").fetchall() == []
                with pytest.raises(sa.exc.DBAPIError, match="1143"):
                    conn.exec_driver_sql("SELECT v FROM t")
        finally:
            engine.dispose()
    finally:
        mariadb.admin_execute(f"DROP USER {account}; DROP ROLE {role}")


def test_show_grants_for_current_user_lists_role_membership_but_not_role_privileges(mariadb, db):
    outer, inner = fresh_database_name("gg_outer"), fresh_database_name("gg_inner")
    login = fresh_database_name("gg_user")
    account = f"'{login}'@'127.0.0.1'"
    mariadb.admin_execute(
        f"CREATE ROLE {outer}; CREATE ROLE {inner}; GRANT SELECT ON {db}.t TO {inner};"
        f"GRANT {inner} TO {outer}; GRANT SELECT (x) ON {db}.u TO {outer};"
        f"CREATE USER {account} IDENTIFIED BY 'pw';"
        f"GRANT {outer} TO {account}; SET DEFAULT ROLE {outer} FOR {account}"
    )
    conn = pymysql.connect(host=mariadb.host, port=mariadb.port, user=login, password="pw")
    try:
        with conn.cursor() as cur:

            def grants(sql: str) -> str:
                cur.execute(sql)
                return "\n".join(row[0] for row in cur.fetchall())

            for_current_user = grants("SHOW GRANTS FOR CURRENT_USER")
            assert f"GRANT `{outer}` TO `{login}`@`127.0.0.1`" in for_current_user
            assert (
                "SELECT" not in for_current_user and "IDENTIFIED BY PASSWORD '*" in for_current_user
            )
            plain = grants("SHOW GRANTS")
            assert f"GRANT SELECT (`x`) ON `{db}`.`u` TO `{outer}`" in plain
            assert f"GRANT SELECT ON `{db}`.`t` TO `{inner}`" in plain  # nested role too
            cur.execute("SET ROLE NONE")
            assert "SELECT" not in grants("SHOW GRANTS")
    finally:
        conn.close()
        mariadb.admin_execute(f"DROP USER {account}; DROP ROLE {outer}; DROP ROLE {inner}")


def test_restart_keeps_data_committed_before_it(own_server):
    name = fresh_database_name()
    own_server.create_database(name)
    own_server.admin_execute(
        "CREATE TABLE t (x INT) ENGINE=InnoDB; INSERT INTO t VALUES (42)", name
    )
    port, pid = own_server.port, own_server.pid

    own_server.restart()
    assert own_server.port == port and own_server.pid != pid
    assert own_server.admin_query("SELECT x FROM t", name) == [(42,)]


def test_kill_then_start_keeps_data_committed_just_before_the_kill(own_server):
    name = fresh_database_name()
    own_server.create_database(name)
    own_server.admin_execute("CREATE TABLE t (x INT) ENGINE=InnoDB", name)
    engine = sa.create_engine(own_server.url(name))
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (1), (2), (3)")
        own_server.kill()
        assert not own_server.is_running()
        with pytest.raises(pymysql.MySQLError):
            own_server.admin_query("SELECT 1")
        own_server.start()
        assert own_server.admin_query("SELECT COUNT(*) FROM t", name) == [(3,)]
    finally:
        engine.dispose()


def test_stop_removes_the_temp_dir_and_is_idempotent():
    server = MariaDbServer().start()
    root_dir = os.path.dirname(server.datadir)
    assert os.path.isdir(server.datadir) and os.path.exists(server.socket)
    pid = server.pid
    server.stop()
    assert not server.is_running() and not os.path.exists(f"/proc/{pid}/status")
    assert not os.path.exists(root_dir)
    server.stop()  # idempotent
    with pytest.raises(RuntimeError, match="create a new one"):
        server.start()


@pytest.mark.parametrize("ending", ["sys.exit(0)", "raise RuntimeError('a failing test')"])
def test_a_server_left_running_is_stopped_and_removed_at_interpreter_exit(ending):
    script = (
        "import sys\n"
        f"sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})\n"
        "from support.mariadb import MariaDbServer\n"
        "server = MariaDbServer().start()\n"
        "print(server.pid, server.datadir, flush=True)\n"
        f"{ending}\n"
    )
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    pid, datadir = r.stdout.split()
    assert not os.path.exists(f"/proc/{pid}/status"), "mariadbd outlived the interpreter"
    assert not os.path.exists(os.path.dirname(datadir))


@pytest.mark.parametrize("password_via", ["defaults-extra-file", "MYSQL_PWD"])
def test_mariadb_dump_single_transaction_dumps_a_database_without_the_password_in_argv(
    mariadb, db, tmp_path, password_via
):
    mariadb.admin_execute("INSERT INTO t VALUES (1, 'één'), (2, 'two')", db)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MYSQL")}
    login = [f"--host={mariadb.host}", f"--port={mariadb.port}", f"--user={mariadb.admin_user}"]
    if password_via == "MYSQL_PWD":
        env["MYSQL_PWD"] = mariadb.admin_password
    else:
        fd, cnf = tempfile.mkstemp(suffix=".cnf", dir=tmp_path)  # mkstemp creates it 0600
        with os.fdopen(fd, "w") as f:
            f.write(f"[client]\npassword={mariadb.admin_password}\n")
        assert os.stat(cnf).st_mode & 0o777 == 0o600
        login.insert(0, f"--defaults-extra-file={cnf}")  # must come first
    cmd = [find_binary("mariadb-dump"), *login, "--single-transaction", "--skip-dump-date", db]
    assert not any(mariadb.admin_password in arg for arg in cmd)

    dump = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, check=True)
    # The first line puts MariaDB's own client in sandbox mode; MySQL's client rejects it.
    assert dump.stdout.startswith("/*M!999999\\- enable the sandbox mode */")
    assert "CREATE TABLE `t`" in dump.stdout
    assert "INSERT INTO `t` VALUES\n(1,'één'),\n(2,'two');" in dump.stdout  # a row a line

    copy = fresh_database_name()
    mariadb.create_database(copy)
    subprocess.run(
        [find_binary("mariadb"), *login, copy],
        input=dump.stdout,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert mariadb.admin_query("SELECT id, v FROM t ORDER BY id", copy) == [(1, "één"), (2, "two")]
    mariadb.drop_database(copy)
