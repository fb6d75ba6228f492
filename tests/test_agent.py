"""The unattended agent (GitHub issue 5; SPEC 4.1, 4.6 and 4.10).

It watches the gate (PostgreSQL LISTEN/NOTIFY, polling as the fallback), runs
the rollout once READY, verifies, writes the report and keeps watching; any
number of agents give one rollout; outages are waited out; SIGTERM rolls a
rollout back; a refused emission is reported and not retried; and the agent
only ever reads approvals. The network guard itself is in test_emission.py.
"""

from __future__ import annotations

import ast
import json
import os
import signal
import time
from pathlib import Path

import pytest

from govgate import agent, api
from govgate.agent import signals
from govgate.agent.events import Event, line
from govgate.config import Settings
from govgate.db import wakeup as notify
from govgate.db.engine import make_engine

from support.agentproc import AgentProcess, launch_at_once, wait_until, watch_in_thread
from support.constants import AGENT_LOGIN, NO_CONFIG, PROPOSAL, SRC
from support.labs import (
    Lab,
    agent_args,
    build_pg_template,
    copy_pg_lab,
    copy_sqlite_lab,
    last_audit,
    ratify_as_approver_login,
    rollouts,
    with_settings,
)
from support.mariadb_labs import copy_mariadb_lab
from support.pgcluster import PgCluster, free_port
from support.steps import emitting_hook

# -- helpers --------------------------------------------------------------------------


def cluster_of(lab: Lab, request) -> PgCluster | None:
    return request.getfixturevalue("pg") if lab.backend == "postgres" else None


def run_events(settings: Settings, **kw) -> list[Event]:
    return list(agent.run(settings, **kw))


def status_of(lab: Lab) -> str:
    return api.status(lab.settings).status.value


# -- --once ------------------------------------------------------------------------------


def test_once_on_a_ready_gate_applies_verifies_and_writes_the_report(lab, request, gg, monkeypatch):
    monkeypatch.setenv("GOVGATE_CONFIG", NO_CONFIG["GOVGATE_CONFIG"])
    monkeypatch.setenv("GOVGATE_REPORT_DIR", lab.settings.report_dir)
    ratify_as_approver_login(lab, cluster_of(lab, request))

    run = gg(*agent_args(lab), "agent", "--once")
    assert run.code == 0, run.out + run.err
    events = [json.loads(x) for x in run.out.splitlines()]
    assert all({"ts", "level", "event"} <= set(e) for e in events)
    names = [e["event"] for e in events]
    assert names == [
        "started",
        "status",
        "rollout_started",
        "applied",
        "verified",
        "report_written",
        "stopped",
    ]
    applied = events[3]
    assert (applied["gap_before"], applied["gap_after"], applied["records"]) == (210, 0, 210)
    assert events[4]["ok"] is True
    assert events[-1]["exit_code"] == 0

    rollout_id = applied["rollout"]
    assert rollouts(lab) == [(rollout_id, "APR-BOOT-AUTHMODEL-1", "applied")]
    in_db = json.loads(lab.scalar("SELECT report FROM os_rollouts WHERE id = :id", id=rollout_id))
    folder = Path(lab.settings.report_dir)
    on_disk = json.loads((folder / f"{rollout_id}.json").read_text())
    assert on_disk.pop("verification")["ok"] is True
    assert on_disk == in_db
    text = (folder / f"{rollout_id}.txt").read_text()
    assert "Ownership gap: 210 before, 0 after." in text
    assert "To undo it: govgate rollback" in text
    assert "Verification after commit: all green." in text
    assert status_of(lab) == "APPLIED"

    again = gg(*agent_args(lab), "agent", "--once")
    assert again.code == 0, again.err
    names = [json.loads(x)["event"] for x in again.out.splitlines()]
    assert names == ["started", "status", "already_applied", "stopped"]
    assert len(rollouts(lab)) == 1


def test_once_on_a_blocked_gate_changes_nothing_and_exits_1(lab, gg, monkeypatch):
    monkeypatch.setenv("GOVGATE_CONFIG", NO_CONFIG["GOVGATE_CONFIG"])
    before = lab.snapshot()
    run = gg(*agent_args(lab), "agent", "--once")
    assert run.code == 1, run.err
    events = [json.loads(x) for x in run.out.splitlines()]
    status = next(e for e in events if e["event"] == "status")
    assert status["status"] == "BLOCKED" and status["level"] == "warning"
    assert [r["code"] for r in status["reasons"]] == ["no-approval"]
    assert events[-1] == {**events[-1], "event": "stopped", "exit_code": 1}
    assert lab.snapshot() == before


def test_once_with_the_database_unreachable_exits_3(gg, tmp_path, monkeypatch):
    monkeypatch.setenv("GOVGATE_CONFIG", NO_CONFIG["GOVGATE_CONFIG"])
    port = free_port()  # a port nobody listens on
    for url in (
        f"sqlite:///{tmp_path}/missing.db",
        f"postgresql+psycopg://agent@127.0.0.1:{port}/production",
    ):
        run = gg("--db", url, "agent", "--once")
        assert run.code == 3, run.out + run.err
        events = [json.loads(x) for x in run.out.splitlines()]
        assert events[-2]["event"] == "database_unavailable" and events[-2]["level"] == "error"
        assert events[-1]["exit_code"] == 3


def test_a_bad_interval_is_bad_input(gg, tmp_path):
    run = gg("--db", f"sqlite:///{tmp_path}/x.db", "agent", "--interval", "0")
    assert run.code == 2


def test_structured_log_lines_are_one_json_object_each():
    ev = Event("applied", "info", {"rollout": "RO-1", "note": "two\nlines", "n": 3})
    text = line(ev)
    assert "\n" not in text
    assert json.loads(text) == {
        "ts": ev.ts,
        "level": "info",
        "event": "applied",
        "rollout": "RO-1",
        "note": "two\nlines",
        "n": 3,
    }
    with pytest.raises(ValueError):
        Event("x", "loud")
    with pytest.raises(ValueError):
        Event("x", "info", {"level": "shadowed"})


def test_backoff_doubles_from_half_a_second_up_to_ten():
    backoff = signals.Backoff()
    assert [backoff.next() for _ in range(7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    backoff.reset()
    assert backoff.next() == 0.5


# -- watching ----------------------------------------------------------------------------


def test_on_sqlite_the_watching_agent_polls_applies_and_keeps_watching(sqlite_lab):
    lab = sqlite_lab
    stop, events, thread = watch_in_thread(lab.settings, interval=0.1)
    try:
        wait_until(lambda: any(e.event == "status" for e in events), 10, "the first check")
        assert not any(e.event == "listening" for e in events)  # SQLite: polling only
        ratify_as_approver_login(lab)
        wait_until(lambda: any(e.event == "report_written" for e in events), 10, "the rollout")
        wait_until(
            lambda: [e.get("status") for e in events if e.event == "status"][-1] == "APPLIED",
            5,
            "the APPLIED status",
        )
        time.sleep(0.4)
        assert thread.is_alive(), "the agent keeps watching after the rollout"
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert events[-1].event == "stopped" and events[-1].get("exit_code") == 0
    assert [e.event for e in events].count("applied") == 1
    assert len(rollouts(lab)) == 1


@pytest.mark.postgres
@pytest.mark.parametrize("lab", ["postgres"], indirect=True)
def test_a_ratification_while_the_agent_watches_is_applied_within_2s_through_notify(
    lab, pg, tmp_path
):
    # A 30 s poll interval: only the NOTIFY can explain a rollout within 2 s.
    watcher = AgentProcess.cli(lab, "--interval", "30", log_dir=tmp_path)
    try:
        watcher.wait_for("listening", timeout=30)
        watcher.wait_for("status", status="BLOCKED", timeout=30)
        started = time.monotonic()
        ratify_as_approver_login(lab, pg)
        while status_of(lab) != "APPLIED":
            assert time.monotonic() - started < 2.0, watcher.describe()
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        woke = watcher.wait_for("woken", timeout=5)
        assert (woke["by"], woke["proposals"]) == ("notify", [PROPOSAL])
        watcher.wait_for("report_written", timeout=10)
        time.sleep(0.3)
        assert watcher.proc.poll() is None, "it keeps watching"
    finally:
        code = watcher.stop()
    assert elapsed < 2.0
    assert code == 143, watcher.describe()
    assert (
        watcher.events[-1]["event"] == "stopped"
        and watcher.events[-1]["reason"] == "SIGTERM received"
    )
    names = [e["event"] for e in watcher.events]
    assert names.index("woken") < names.index("rollout_started") < names.index("applied")
    assert len(rollouts(lab)) == 1


@pytest.mark.postgres
@pytest.mark.parametrize("lab", ["postgres"], indirect=True)
def test_init_installs_the_notify_trigger_once_and_touches_no_row(lab, pg):
    engine = make_engine(lab.url)
    try:
        with engine.connect() as conn:
            assert notify.installed(conn)
        before = lab.snapshot()
        api.init(lab.settings, actor="someone", roles=True, sql_registration=True)
        api.init(lab.settings, actor="someone", sql_registration=True)
        assert lab.snapshot() == before
        assert (
            lab.scalar("SELECT count(*) FROM pg_trigger WHERE tgname = :t", t=notify.TRIGGER) == 1
        )
        lab.execute(f"DROP TRIGGER {notify.TRIGGER} ON os_proposal_approvals")
        with engine.begin() as conn:
            assert notify.install(conn) == (f"trigger {notify.TRIGGER}",)
            assert notify.install(conn) == ()
        assert lab.snapshot() == before
    finally:
        engine.dispose()
    listener = notify.Listener(lab.settings.agent_url)
    try:
        ratify_as_approver_login(lab, pg)
        assert listener.wait(5) == [PROPOSAL]
    finally:
        listener.close()


# -- exactly once ------------------------------------------------------------------------


def _fresh(lab: Lab, request, tmp_path: Path, n: int) -> Lab:
    if lab.backend == "sqlite":
        folder = tmp_path / f"trial-{n}"
        folder.mkdir()
        return copy_sqlite_lab(folder, request.getfixturevalue("sqlite_template"))
    if lab.backend == "mariadb":
        return copy_mariadb_lab(
            request.getfixturevalue("mariadb"),
            request.getfixturevalue("mariadb_template"),
            tmp_path / f"trial-{n}",
        )
    return copy_pg_lab(
        request.getfixturevalue("pg"),
        request.getfixturevalue("pg_template"),
        tmp_path / f"trial-{n}",
    )


@pytest.mark.slow
def test_eight_agents_at_once_give_exactly_one_rollout_every_time(
    lab, request, tmp_path, monkeypatch
):
    monkeypatch.setenv("GOVGATE_CONFIG", NO_CONFIG["GOVGATE_CONFIG"])
    cluster = cluster_of(lab, request)
    # MariaDB: 4 trials (each loads a fresh database; the suite's time is bounded), the lock is
    # the same GET_LOCK every time.
    for trial in range(4 if lab.backend == "mariadb" else 20):
        one = _fresh(lab, request, tmp_path, trial)
        monkeypatch.setenv("GOVGATE_REPORT_DIR", one.settings.report_dir)
        try:
            ratify_as_approver_login(one, cluster)
            results = launch_at_once([*agent_args(one), "agent", "--once"], 8)
            detail = f"trial {trial}:\n" + "\n".join(
                f"exit {code}:\n{out}" for code, out in results
            )
            assert [code for code, _ in results] == [0] * 8, detail
            runs = [[json.loads(x) for x in out.splitlines()] for _, out in results]
            said = sorted(
                next(e["event"] for e in run if e["event"] in ("applied", "already_applied"))
                for run in runs
            )
            assert said == ["already_applied"] * 7 + ["applied"], detail
            made = rollouts(one)
            assert len(made) == 1, detail
            assert {
                e["rollout"]
                for run in runs
                for e in run
                if e["event"] in ("applied", "already_applied")
            } == {made[0][0]}
            assert one.scalar("SELECT count(*) FROM os_accountability") == 210
            assert one.scalar("SELECT count(*) FROM os_audit WHERE kind = 'rollout'") == 1
            assert one.scalar("SELECT count(*) FROM os_audit WHERE kind = 'abort'") == 0
        finally:
            if cluster is not None:
                cluster.drop_database(one.db_name)
            elif lab.backend == "mariadb":
                request.getfixturevalue("mariadb").drop_database(one.db_name)


# -- outages and signals -------------------------------------------------------------------


@pytest.fixture(scope="module")
def own_pg():
    """A PostgreSQL of these tests' own, to stop and start without disturbing the shared one."""
    cluster = PgCluster()
    cluster.start()
    yield cluster, build_pg_template(cluster, "oneroof_outage_template")
    cluster.stop()


@pytest.fixture
def outage_lab(own_pg, tmp_path):
    cluster, template = own_pg
    cluster.start()  # in case an earlier test left it stopped
    made = copy_pg_lab(cluster, template, tmp_path)
    yield cluster, made
    cluster.start()
    cluster.drop_database(made.db_name)


@pytest.mark.postgres
def test_postgres_stopped_while_the_agent_watches_it_waits_recovers_and_completes(
    outage_lab, tmp_path
):
    cluster, lab = outage_lab
    watcher = AgentProcess.cli(lab, "--interval", "30", log_dir=tmp_path)
    try:
        watcher.wait_for("listening")
        watcher.wait_for("status", status="BLOCKED")
        cluster.kill()
        try:
            down = watcher.wait_for("database_unavailable", timeout=15)
            assert down["level"] == "warning" and down["retry_in"] == 0.5
            watcher.wait_for("database_unavailable", timeout=15, retry=3, retry_in=2.0)
        finally:
            cluster.start()
        back = watcher.wait_for("database_recovered", timeout=30)
        assert back["retries"] >= 3
        assert [e["event"] for e in watcher.events].count(
            "listening"
        ) == 2  # again, on a new connection
        ratify_as_approver_login(lab, cluster)
        applied = watcher.wait_for("applied", timeout=10)
        watcher.wait_for("report_written", timeout=10)
    finally:
        code = watcher.stop()
    assert code == 143, watcher.describe()
    assert [r[0] for r in rollouts(lab)] == [applied["rollout"]]
    assert status_of(lab) == "APPLIED"
    assert api.audit_verify(lab.settings).ok


@pytest.mark.postgres
def test_postgres_stopped_mid_rollout_leaves_nothing_partial_then_the_agent_completes(
    outage_lab, tmp_path
):
    cluster, lab = outage_lab
    ratify_as_approver_login(lab, cluster)
    before = lab.snapshot()
    proc, flag = AgentProcess.hooked(lab, tmp_path, "audit", "wait")
    try:
        proc.wait_for(
            "hook", timeout=30
        )  # records, views, dashboard and journal are written, uncommitted
        cluster.kill()
        flag.touch()
        interrupted = proc.wait_for("rollout_interrupted", timeout=15)
        assert interrupted["step"] == "audit" and interrupted["rolled_back"] is True
        proc.wait_for("database_unavailable", timeout=15)
        os.kill(proc.proc.pid, signal.SIGSTOP)  # look before the agent comes back
        try:
            cluster.start()
            assert lab.snapshot() == before, "nothing of the interrupted rollout is left"
            assert status_of(lab) == "READY"
        finally:
            os.kill(proc.proc.pid, signal.SIGCONT)
        proc.wait_for("database_recovered", timeout=30)
        applied = proc.wait_for("applied", timeout=15)
        proc.wait_for("report_written", timeout=10)
    finally:
        code = proc.stop()
    assert code == 143, proc.describe()
    assert [r[0] for r in rollouts(lab)] == [applied["rollout"]]
    assert lab.scalar("SELECT count(*) FROM os_accountability") == 210
    assert status_of(lab) == "APPLIED"
    assert api.audit_verify(lab.settings).ok


def test_sigterm_during_a_rollout_rolls_it_back_and_exits(lab, request, tmp_path):
    ratify_as_approver_login(lab, cluster_of(lab, request))
    before = lab.snapshot(exclude=("os_audit",))
    proc, _flag = AgentProcess.hooked(lab, tmp_path, "dashboard", "sleep")
    try:
        proc.wait_for("hook", timeout=30)
        started = time.monotonic()
        code = proc.stop(signal.SIGTERM)
    finally:
        proc.kill()
    assert code == 143, proc.describe()
    assert time.monotonic() - started < 10
    aborted = proc.named("rollout_aborted")
    assert len(aborted) == 1 and aborted[0]["rolled_back"] is True, proc.describe()
    assert proc.events[-1]["event"] == "stopped" and proc.events[-1]["exit_code"] == 143
    assert lab.snapshot(exclude=("os_audit",)) == before
    kind, detail = last_audit(lab)
    assert kind == "abort" and detail["step"] == "dashboard" and "Terminated" in detail["cause"]
    assert api.audit_verify(lab.settings).ok
    assert status_of(lab) == "READY"


# -- no external emission -------------------------------------------------------------------


def test_the_agent_reports_a_refused_emission_and_does_not_retry_it(lab, request, server):
    ratify_as_approver_login(lab, cluster_of(lab, request))
    target = f"127.0.0.1:{server.port}"
    events = run_events(lab.settings, once=True, hook=emitting_hook(server.port))
    by_name = {e.event: e for e in events}
    assert by_name["emission_blocked"].level == "error"
    assert by_name["emission_blocked"].get("target") == target
    assert by_name["emission_blocked"].get("via") == "socket.connect"
    aborted = by_name["rollout_aborted"]
    assert aborted.get("step") == "records" and target in aborted.get("reason")
    assert events[-1].event == "stopped" and events[-1].get("exit_code") == 1
    assert rollouts(lab) == []

    # Watching, the same approval on the same state is not tried again and again.
    stop, watched, thread = watch_in_thread(
        lab.settings, interval=0.05, hook=emitting_hook(server.port)
    )
    try:
        wait_until(lambda: any(e.event == "holding" for e in watched), 15, "holding")
        time.sleep(0.5)
    finally:
        stop.set()
        thread.join(10)
    assert [e.event for e in watched].count("rollout_started") == 1
    assert lab.scalar("SELECT count(*) FROM os_audit WHERE kind = 'abort'") == 2
    assert server.accepted == 0


# -- the agent never writes approvals ----------------------------------------------------------


AGENT_CODE = (
    "agent/__init__.py",
    "agent/loop.py",
    "agent/signals.py",
    "agent/reports.py",
    "agent/events.py",
    "runbook/apply.py",
    "runbook/rollback.py",
    "runbook/steps.py",
    "guards/emission.py",
    "guards/confinement.py",
    "db/wakeup.py",
)


def test_the_agent_code_does_not_import_the_ratification_module():
    for name in AGENT_CODE:
        text = (SRC / name).read_text()
        assert "api.ratify" not in text, f"{name} calls the human path"
        tree = ast.parse(text, name)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                module = node.module or ""
                names = {a.name for a in node.names}
                assert "ratify" not in module.split("."), f"{name} imports {module}"
                if module in ("", "govgate"):
                    assert "ratify" not in names, f"{name} imports ratify"
            elif isinstance(node, ast.Import):
                assert all("ratify" not in a.name.split(".") for a in node.names), name


def _approval_writes(lab: Lab) -> tuple[int, int, int]:
    return lab.rows(
        "SELECT n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables "
        "WHERE relname = 'os_proposal_approvals'"
    )[0]


def _stat_inserts(lab: Lab, table: str) -> int:
    return lab.scalar("SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = :t", t=table)


@pytest.mark.postgres
@pytest.mark.parametrize("lab", ["postgres"], indirect=True)
def test_the_agent_runs_as_its_least_privilege_role_and_only_reads_approvals(lab, pg, tmp_path):
    as_agent = with_settings(lab, db_url=lab.settings.agent_url)
    for privilege in ("INSERT", "UPDATE", "DELETE", "TRUNCATE"):
        assert (
            as_agent.scalar(
                "SELECT has_table_privilege(current_user, 'os_proposal_approvals', :p)", p=privilege
            )
            is False
        )
    assert as_agent.scalar("SELECT current_user") == AGENT_LOGIN
    ratify_as_approver_login(lab, pg)
    wait_until(lambda: _approval_writes(lab) == (1, 0, 0), 10, "the ratification's statistics")
    before = _approval_writes(lab)

    run = AgentProcess.cli(as_agent, "--once", log_dir=tmp_path)  # both URLs are the agent's
    assert run.proc.wait(120) == 0, run.describe()
    run.stop()
    assert run.named("applied"), run.describe()
    assert status_of(lab) == "APPLIED"
    # The agent's backends report their statistics when they end: wait for its
    # rollout insert to show, then compare what was done to approvals.
    wait_until(lambda: _stat_inserts(lab, "os_rollouts") >= 1, 10, "the agent's statistics")
    assert _approval_writes(lab) == before
