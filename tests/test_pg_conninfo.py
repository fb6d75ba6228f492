"""Every PostgreSQL connection, and the rehearsal's pg_dump and pg_restore, accept what libpq
accepts: a unix socket, sslmode and its files, a service, a password from .pgpass; the tools
get a conninfo string without the password, and their failures say what failed."""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from govgate import api
from govgate.db import copy, pgconninfo, wakeup
from govgate.db.engine import Mode
from govgate.db.session import session
from govgate.errors import BadInput, DatabaseUnreachable, EnvironmentFault
from govgate.guards import containment
from govgate.urls import mask_url

from support.constants import AGENT_LOGIN
from support.labs import copy_pg_lab, ratify
from support.pgcluster import free_port, fresh_database_name

# A password with every character a URL, a conninfo string or .pgpass treats specially.
TRICKY = "p@ss w'rd:\\/%+?#=x"
TRICKY_IN_URL = "p%40ss%20w%27rd%3A%5C%2F%25%2B%3F%23%3Dx"


def _plain(result) -> str:
    return " ".join((result.out + result.err).split())


# -- the conninfo string and the tools' environment (no server) -------------------------------


@pytest.mark.parametrize(
    "url, expected",
    [
        (
            f"postgresql+psycopg://alice:{TRICKY_IN_URL}@db.example:6543/prod"
            "?sslmode=verify-full&sslrootcert=/etc/ssl/ca.pem&connect_timeout=7"
            "&application_name=gg%20test",
            {
                "host": "db.example",
                "port": "6543",
                "user": "alice",
                "dbname": "prod",
                "sslmode": "verify-full",
                "sslrootcert": "/etc/ssl/ca.pem",
                "connect_timeout": "7",
                "application_name": "gg test",
            },
        ),
        (
            "postgresql+psycopg://alice@/prod?host=/run/postgresql",
            {"host": "/run/postgresql", "user": "alice", "dbname": "prod"},
        ),
        (
            "postgresql+psycopg://alice@:5433/prod?host=/var/run/my%20sockets",
            {"host": "/var/run/my sockets", "port": "5433", "user": "alice", "dbname": "prod"},
        ),
        ("postgresql+psycopg:///?service=governed", {"service": "governed"}),
        (
            "postgresql://alice@db.example:/prod?passfile=/secrets/pgpass&sslmode=disable",
            {
                "host": "db.example",
                "user": "alice",
                "dbname": "prod",
                "passfile": "/secrets/pgpass",
                "sslmode": "disable",
            },
        ),
        (
            "postgresql+psycopg://alice@/prod?host=h1:5432&host=h2:5433"
            "&target_session_attrs=read-write&options=-c%20search_path%3Dgov",
            {
                "host": "h1,h2",
                "port": "5432,5433",
                "user": "alice",
                "dbname": "prod",
                "target_session_attrs": "read-write",
                "options": "-c search_path=gov",
            },
        ),
        (
            f"postgresql+psycopg://alice@db.example/prod?password={TRICKY_IN_URL}",
            {"host": "db.example", "user": "alice", "dbname": "prod"},
        ),
    ],
)
def test_the_conninfo_keeps_every_libpq_keyword_and_the_password_goes_only_in_pgpassword(
    url, expected
):
    args, env = pgconninfo.tool_args(url)
    assert len(args) == 1 and args[0].startswith("--dbname=")
    assert conninfo_to_dict(args[0].removeprefix("--dbname=")) == expected
    assert not any(TRICKY in a or "p@ss" in a for a in args)
    if TRICKY_IN_URL in url:
        assert env["PGPASSWORD"] == TRICKY
        assert TRICKY not in mask_url(url) and "p%40ss" not in mask_url(url)
    else:
        assert env.get("PGPASSWORD") == os.environ.get("PGPASSWORD")  # libpq's own, if any


def test_the_variant_for_the_scratch_copy_names_it_and_keeps_everything_else():
    url = (
        f"postgresql+psycopg://alice:{TRICKY_IN_URL}@/prod?host=/run/postgresql"
        "&sslmode=require&service=gov&dbname=prod"
    )
    info = conninfo_to_dict(pgconninfo.conninfo(url, database="govgate_rehearsal_1"))
    # the query's own dbname would win over the copy's name: the copy is never production
    assert info == {
        "host": "/run/postgresql",
        "user": "alice",
        "dbname": "govgate_rehearsal_1",
        "sslmode": "require",
        "service": "gov",
    }
    assert pgconninfo.tool_env(url, base={})["PGPASSWORD"] == TRICKY


def test_without_a_password_the_environment_leaves_pgpass_and_passfile_to_libpq():
    base = {"PGPASSFILE": "/secrets/pgpass", "HOME": "/home/alice"}
    env = pgconninfo.tool_env("postgresql+psycopg://alice@db.example/prod", base=base)
    assert "PGPASSWORD" not in env and env["PGPASSFILE"] == "/secrets/pgpass"
    assert env["PGCONNECT_TIMEOUT"] == pgconninfo.CONNECT_TIMEOUT


@pytest.mark.parametrize(
    "query, names",
    [
        ("sslmod=require", ["'sslmod'", "not a libpq connection keyword"]),
        ("sslmode=require&sslmode=disable", ["'sslmode'", "more than once"]),
    ],
)
def test_an_unknown_or_repeated_keyword_is_bad_input_naming_it(gg, query, names):
    url = f"postgresql+psycopg://u:s3cret@127.0.0.1/x?{query}"
    with pytest.raises(BadInput) as caught:
        pgconninfo.conninfo(url)
    assert all(n in caught.value.message for n in names) and "s3cret" not in caught.value.message
    result = gg("--db", url, "status")
    assert result.code == 2, _plain(result)
    assert all(n in _plain(result) for n in names)
    assert "s3cret" not in _plain(result) and "Traceback" not in _plain(result)


def test_only_a_real_server_version_mismatch_is_reported_as_a_version_problem():
    url = f"postgresql+psycopg://alice:{TRICKY_IN_URL}@db.example/prod"
    mismatch = (
        b"pg_dump: error: aborting because of server version mismatch\n"
        b"pg_dump: detail: server version: 17.2; pg_dump version: 15.10\n"
    )
    error = copy.tool_failure("pg_dump", mismatch, url, "production")
    assert type(error) is EnvironmentFault
    assert "older than the server" in error.message and "17.2" in error.message
    other = copy.tool_failure(
        "pg_dump",
        b'pg_dump: error: query failed: ERROR:  permission denied for table "t\x1b[2J"\n',
        url,
        "production",
    )
    assert "version" not in (other.message + (other.hint or ""))
    assert "\x1b" not in other.message and "permission denied" in other.message


# -- a real server ----------------------------------------------------------------------------

postgres = pytest.mark.postgres


@pytest.fixture
def pg_lab(pg, pg_template, tmp_path):
    """A fresh demo database; its settings are rewritten by each test to reach it its way."""
    lab = copy_pg_lab(pg, pg_template, tmp_path)
    yield lab
    pg.drop_database(lab.db_name)


def _copies_left(pg) -> list[str]:
    with psycopg.connect(host=pg.host, port=pg.port, user="postgres", dbname="postgres") as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'govgate_rehearsal_%'"
        ).fetchall()
    return [r[0] for r in rows]


def _rehearse(gg, db: str, agent: str) -> dict:
    result = gg("--db", db, "--agent-db", agent, "rehearse", "--json")
    assert result.code == 0, _plain(result)
    data = json.loads(result.out)
    assert data["ok"] and data["production_untouched"] and data["copy_dropped"], data
    return data


def _status(gg, db: str, agent: str) -> None:
    result = gg("--db", db, "--agent-db", agent, "status")
    assert result.code == 0 and "BLOCKED" in result.out, _plain(result)


@postgres
def test_status_rehearse_and_the_agent_listener_work_through_a_unix_socket(pg, pg_lab, gg):
    db = pg.url(pg_lab.db_name, socket=True)
    agent = pg.url(pg_lab.db_name, user=AGENT_LOGIN, socket=True)
    assert "127.0.0.1" not in db
    before = _copies_left(pg)
    _status(gg, db, agent)
    data = _rehearse(gg, db, agent)
    assert f"host={pg.socket_dir.replace('/', '%2F')}" in data["copy"]
    assert _copies_left(pg) == before
    listener = wakeup.Listener(agent)
    try:
        pg.admin_execute(f"NOTIFY {wakeup.CHANNEL}, 'through-the-socket'", pg_lab.db_name)
        assert listener.wait(5) == ["through-the-socket"]
    finally:
        listener.close()


@postgres
def test_a_service_from_a_pgservicefile_works_for_status_and_rehearse(
    pg, pg_lab, gg, tmp_path, monkeypatch
):
    services = tmp_path / "pg_service.conf"
    services.write_text(
        f"[gg_production]\nhost={pg.socket_dir}\nport={pg.port}\n"
        f"dbname={pg_lab.db_name}\nuser=postgres\nsslmode=disable\n\n"
        f"[gg_agent]\nhost=127.0.0.1\nport={pg.port}\n"
        f"dbname={pg_lab.db_name}\nuser={AGENT_LOGIN}\n"
    )
    monkeypatch.setenv("PGSERVICEFILE", str(services))
    db, agent = "postgresql+psycopg:///?service=gg_production", "postgresql:///?service=gg_agent"
    _status(gg, db, agent)
    before = _copies_left(pg)
    data = _rehearse(gg, db, agent)
    assert "service=gg_production" in data["copy"] and "govgate_rehearsal_" in data["copy"]
    assert _copies_left(pg) == before


def _pgpass_field(value: str) -> str:
    return value.replace("\\", "\\\\").replace(":", "\\:")


@postgres
def test_a_password_from_a_pgpassfile_works_for_status_and_rehearse(
    pg, pg_lab, gg, tmp_path, monkeypatch
):
    suffix = uuid.uuid4().hex[:8]
    owner, agent_login = f"gg_pw_owner_{suffix}", f"gg_pw_agent_{suffix}"
    pg.password_login(owner, TRICKY, "SUPERUSER")
    pg.password_login(agent_login, TRICKY + "-agent")
    pg.admin_execute(f"GRANT govgate_agent TO {agent_login}")
    db = pg.url(pg_lab.db_name, user=owner)
    agent = pg.url(pg_lab.db_name, user=agent_login)
    # the server really asks: without the file there is no password to give
    result = gg("--db", db, "--agent-db", agent, "status")
    assert result.code == 3 and "no password supplied" in _plain(result), _plain(result)

    passfile = tmp_path / "pgpass"
    # `*` for the database: the rehearsal also connects to its scratch copy
    passfile.write_text(
        f"127.0.0.1:{pg.port}:*:{owner}:{_pgpass_field(TRICKY)}\n"
        f"127.0.0.1:{pg.port}:*:{agent_login}:{_pgpass_field(TRICKY + '-agent')}\n"
    )
    passfile.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    monkeypatch.delenv("PGPASSWORD", raising=False)
    _status(gg, db, agent)
    before = _copies_left(pg)
    _rehearse(gg, db, agent)
    assert _copies_left(pg) == before


@postgres
def test_a_password_with_special_characters_in_the_url_works_for_rehearse(pg, pg_lab, gg):
    owner = f"gg_pw_url_{uuid.uuid4().hex[:8]}"
    pg.password_login(owner, TRICKY, "SUPERUSER")
    db = pg.url(pg_lab.db_name, user=owner, password=TRICKY)
    agent = pg_lab.settings.agent_url
    data = _rehearse(gg, db, agent)
    assert TRICKY not in json.dumps(data) and "***" in data["copy"]


@postgres
def test_sslmode_disable_is_kept_on_every_connection_the_rehearsal_makes(pg, pg_lab, gg):
    db = pg_lab.url + "?sslmode=disable&application_name=gg-prod"
    agent = pg_lab.settings.agent_url + "?sslmode=disable"
    _status(gg, db, agent)
    data = _rehearse(gg, db, agent)
    assert "sslmode=disable" in data["copy"] and "application_name=gg-prod" in data["copy"]


@postgres
@pytest.mark.parametrize("command", ["status", "rehearse"])
def test_sslmode_require_against_a_server_without_ssl_names_the_ssl_problem(pg_lab, gg, command):
    db, agent = pg_lab.url + "?sslmode=require", pg_lab.settings.agent_url + "?sslmode=require"
    result = gg("--db", db, "--agent-db", agent, command)
    text = _plain(result)
    assert result.code == 3, text
    assert "SSL" in text and "cannot be reached" in text
    assert "Traceback" not in text and "version" not in text


@postgres
def test_a_pg_dump_that_cannot_connect_is_reported_as_a_connection_failure(pg):
    target = fresh_database_name()
    pg.create_database(target)
    try:
        closed = f"postgresql+psycopg://postgres:{TRICKY_IN_URL}@127.0.0.1:{free_port()}/prod"
        with pytest.raises(DatabaseUnreachable) as caught:
            copy.copy_postgres(closed, pg.url(target))
        error = caught.value
        assert error.message.startswith("pg_dump cannot connect to production at ")
        assert "Connection refused" in error.message and "version" not in error.message
        assert TRICKY not in error.message and "p%40ss" not in error.message

        # the tool's own words, shown safely: a control character in a database name
        gone = pg.url("gone\x1b[2J")
        with pytest.raises(DatabaseUnreachable) as caught:
            copy.copy_postgres(gone, pg.url(target))
        assert "does not exist" in caught.value.message
        assert "\x1b" not in caught.value.message and "\\x1b" in caught.value.message

        with pytest.raises(DatabaseUnreachable) as caught:
            copy.copy_postgres(pg.url("postgres") + "?sslmode=require", pg.url(target))
        assert "pg_dump cannot connect" in caught.value.message
        assert "SSL" in caught.value.message and "version" not in caught.value.message
    finally:
        pg.drop_database(target)


@postgres
def test_read_only_connections_keep_the_urls_own_options_and_application_name(pg, pg_lab):
    url = pg_lab.url + "?options=-c%20statement_timeout%3D1234&application_name=gg-reader"
    with session(url, Mode.READ) as conn:
        shown = {
            name: conn.exec_driver_sql(f"SHOW {name}").scalar()
            for name in ("statement_timeout", "application_name", "default_transaction_read_only")
        }
    assert shown == {
        "statement_timeout": "1234ms",
        "application_name": "gg-reader",
        "default_transaction_read_only": "on",
    }


def test_a_unix_socket_directory_without_a_server_is_unreachable_naming_the_socket(gg, tmp_path):
    url = f"postgresql+psycopg://postgres@/x?host={str(Path(tmp_path)).replace('/', '%2F')}"
    result = gg("--db", url, "status")
    text = _plain(result)
    assert result.code == 3 and ".s.PGSQL.5432" in text and "Traceback" not in text, text


@postgres
def test_a_contained_apply_reaches_postgresql_on_the_tcp_port_a_service_names(
    pg, pg_lab, tmp_path, monkeypatch
):
    # The kernel opens only the database's port to the rollout: with a service, the port is
    # the service file's, which the URL does not show.
    services = tmp_path / "pg_service.conf"
    services.write_text(
        f"[gg_agent]\nhost=127.0.0.1\nport={pg.port}\ndbname={pg_lab.db_name}\nuser={AGENT_LOGIN}\n"
    )
    monkeypatch.setenv("PGSERVICEFILE", str(services))
    settings = replace(pg_lab.settings, agent_db_url="postgresql+psycopg:///?service=gg_agent")
    assert pg.port != 5432 and containment.decide(settings).contained
    assert containment.policy(settings, settings.agent_url).tcp_connect_ports == {pg.port}
    ratify(pg_lab)
    result = api.apply(settings)
    assert result.records == 210
    assert api.status(settings).status.value == "APPLIED"
