"""No external emission, enforced at run time (SPEC 4.6): the process-wide network guard.

While a guard is up the process reaches its database, the configured local
Directus and unix sockets, and nothing else: not another port on the same
host, not a DNS lookup of a foreign name, not a UDP datagram, not a child
process. Refused attempts raise EmissionBlocked where they are made and are
recorded, so a caller that swallowed the exception is still caught. An
outbound connection made inside a rollout aborts it with nothing written; how
the agent reports such an abort is in test_agent.py.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading

import psycopg
import pytest

from govgate import api
from govgate.config import Settings
from govgate.errors import Aborted, EmissionBlocked
from govgate.guards import emission as netguard

from support.labs import last_audit, ratify
from support.steps import emitting_hook


def db_at(port: int, host: str = "127.0.0.1", **more) -> Settings:
    return Settings(db_url=f"postgresql+psycopg://someone:secret@{host}:{port}/production", **more)


def test_the_allowance_is_the_database_and_the_local_directus():
    settings = Settings(
        db_url="postgresql+psycopg://owner:pw@localhost:6543/prod",
        agent_db_url="postgresql://agent@127.0.0.1/prod",
        directus_url="http://127.0.0.1:8055",
    )
    allow = netguard.allowance(settings)
    assert allow.allows("localhost", 6543)
    assert allow.allows("127.0.0.1", 6543)  # what localhost stands for, looked up beforehand
    assert allow.allows("127.0.0.1", 5432)  # the agent's URL, default port
    assert allow.allows("127.0.0.1", 8055)  # Directus
    assert allow.allows("::ffff:127.0.0.1", 8055)
    assert not allow.allows("127.0.0.1", 8056)
    assert not allow.allows("10.0.0.1", 5432)
    assert allow.may_resolve("localhost") and allow.may_resolve("127.0.0.1")
    assert not allow.may_resolve("example.com")
    assert "Directus 127.0.0.1:8055" in allow.described


def test_sqlite_and_unix_socket_urls_allow_no_network_at_all(tmp_path):
    sqlite = netguard.allowance(Settings(db_url=f"sqlite:///{tmp_path}/x.db"))
    assert sqlite.endpoints == frozenset()
    unix = netguard.allowance(
        Settings(db_url="postgresql+psycopg://u@/prod?host=/var/run/postgresql")
    )
    assert unix.endpoints == frozenset()


_LOADS_PSYCOPG = """
import sys
from govgate.config import Settings
from govgate.guards import emission
with emission.guarded(emission.allowance(Settings(db_url=sys.argv[1]))):
    print("psycopg" in sys.modules)
"""


@pytest.mark.parametrize(
    ("url", "loaded"),
    [("sqlite:///{tmp}/x.db", "False"), ("postgresql+psycopg://agent@127.0.0.1:5432/x", "True")],
)
def test_the_postgresql_driver_is_loaded_before_the_guard_only_where_postgresql_is_in_play(
    tmp_path, url, loaded
):
    # PostgreSQL's driver must be loaded before the guard is up (finding libpq runs a helper
    # program); an SQLite rollout would pay 70 ms of start-up for nothing.
    done = subprocess.run(
        [sys.executable, "-c", _LOADS_PSYCOPG, url.format(tmp=tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == loaded


def test_a_connection_anywhere_else_is_refused_named_and_recorded(server):
    with netguard.guarded(netguard.allowance(db_at(server.port + 1))) as guard:
        with pytest.raises(EmissionBlocked) as caught:
            socket.create_connection(("127.0.0.1", server.port), timeout=2)
    assert f"127.0.0.1:{server.port}" in caught.value.message
    assert "socket.connect" in caught.value.message
    assert [a.target for a in guard.attempts] == [f"127.0.0.1:{server.port}"]
    assert server.settle() == 0, "nothing reached the server"
    # Outside the guard the (permanent) audit hook is inert.
    socket.create_connection(("127.0.0.1", server.port), timeout=2).close()
    assert server.settle() == 1


def test_the_database_address_is_reachable_under_the_guard(server):
    with netguard.guarded(netguard.allowance(db_at(server.port))) as guard:
        socket.create_connection(("127.0.0.1", server.port), timeout=2).close()
        socket.create_connection(("localhost", server.port), timeout=2).close()
    assert guard.attempts == []
    assert server.settle() == 2


def test_unix_sockets_are_allowed(tmp_path):
    path = str(tmp_path / "s")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen(1)
    try:
        with netguard.guarded(netguard.allowance(db_at(1))) as guard:
            client = socket.socket(socket.AF_UNIX)
            client.connect(path)
            client.close()
        assert guard.attempts == []
    finally:
        listener.close()


def test_name_lookups_udp_and_child_processes_are_refused(server):
    with netguard.guarded(netguard.allowance(db_at(server.port))) as guard:
        with pytest.raises(EmissionBlocked, match="example.com"):
            socket.getaddrinfo("example.com", 443)
        with pytest.raises(EmissionBlocked, match="example.com"):
            socket.gethostbyname("example.com")
        socket.getaddrinfo("127.0.0.1", server.port)  # a literal needs no lookup
        socket.getaddrinfo("localhost", server.port)
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with pytest.raises(EmissionBlocked, match=f"127.0.0.1:{server.port + 1}"):
            udp.sendto(b"telemetry", ("127.0.0.1", server.port + 1))
        udp.close()
        with pytest.raises(EmissionBlocked, match="start a program"):
            subprocess.run(["true"], check=False)
        with pytest.raises(EmissionBlocked, match="curl"):
            os.system("curl http://example.com")
    events = [a.event for a in guard.attempts]
    assert events == [
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "socket.sendto",
        "subprocess.Popen",
        "os.system",
    ]


def test_the_guard_covers_every_thread_of_the_process(server):
    errors = []

    def background():
        try:
            socket.create_connection(("127.0.0.1", server.port), timeout=2)
        except EmissionBlocked as exc:
            errors.append(exc)

    with netguard.guarded(netguard.allowance(db_at(server.port + 1))) as guard:
        worker = threading.Thread(target=background, name="telemetry-worker")
        worker.start()
        worker.join(5)
    assert len(errors) == 1
    assert guard.attempts[0].thread == "telemetry-worker"
    assert server.settle() == 0


def test_a_swallowed_attempt_is_still_caught_by_check(server):
    with netguard.guarded(netguard.allowance(db_at(server.port + 1))) as guard:
        try:
            socket.create_connection(("127.0.0.1", server.port), timeout=2)
        except Exception:
            pass  # a library that hides the failure
        with pytest.raises(EmissionBlocked, match=f"127.0.0.1:{server.port}"):
            guard.check()


def test_nested_guards_allow_only_what_every_one_allows(server):
    outer = netguard.allowance(db_at(server.port + 1))
    inner = netguard.allowance(db_at(server.port + 1), f"postgresql://u@127.0.0.1:{server.port}/x")
    with netguard.guarded(outer) as first, netguard.guarded(inner) as second:
        with pytest.raises(EmissionBlocked):
            socket.create_connection(("127.0.0.1", server.port), timeout=2)
    assert len(first.attempts) == len(second.attempts) == 1
    assert not netguard.active()


@pytest.mark.postgres
@pytest.mark.parametrize("lab", ["postgres"], indirect=True)
def test_the_real_database_works_under_the_guard(lab, pg, server):
    with netguard.guarded(netguard.allowance(lab.settings)) as guard:
        assert api.status(lab.settings).status.value == "BLOCKED"  # libpq, as the agent
        with psycopg.connect(
            host=pg.host, port=pg.port, user="postgres", dbname="postgres"
        ) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        socket.create_connection((pg.host, pg.port), timeout=2).close()  # Python sockets too
        with pytest.raises(EmissionBlocked):
            socket.create_connection(("127.0.0.1", server.port), timeout=2)
    assert len(guard.attempts) == 1


# -- inside a rollout ------------------------------------------------------------------------


def test_an_outbound_connection_during_apply_is_refused_and_the_rollout_aborted(lab, server):
    ratify(lab)
    before = lab.snapshot(exclude=("os_audit",))
    with pytest.raises(Aborted) as caught:
        api.apply(lab.settings, hook=emitting_hook(server.port))
    target = f"127.0.0.1:{server.port}"
    assert caught.value.step == "records"
    assert target in caught.value.message and "rolled back" in caught.value.message
    assert server.accepted == 0
    assert lab.snapshot(exclude=("os_audit",)) == before
    kind, detail = last_audit(lab)
    assert kind == "abort" and detail["step"] == "records" and target in detail["cause"]
    assert api.status(lab.settings).status.value == "READY"


def test_a_swallowed_outbound_attempt_still_aborts_the_rollout(lab, server):
    ratify(lab)
    before = lab.snapshot(exclude=("os_audit",))
    with pytest.raises(Aborted, match=f"127.0.0.1:{server.port}"):
        api.apply(lab.settings, hook=emitting_hook(server.port, swallow=True))
    assert lab.snapshot(exclude=("os_audit",)) == before
    assert server.accepted == 0
