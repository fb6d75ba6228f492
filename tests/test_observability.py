"""The agent is observable without opening a port, and every log is one pipeline (issue 16,
points 2 and 6): heartbeat rows, liveness in words (status, doctor, the page), the metrics
file, systemd's notification socket, /healthz, and JSON or text log lines without secrets.

Real parts throughout: agent processes against SQLite and the suite's PostgreSQL (the agent's
least-privilege login), a real unix datagram socket standing in for systemd's, `govgate
serve` as a process.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import socket
import sys
import time
import uuid
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from govgate import api, logs
from govgate.config import Settings
from govgate.db import heartbeat
from govgate.web import app as web_app
from govgate.web import views

from support.agentproc import AgentProcess, child_env, wait_until
from support.labs import Lab, agent_args, ratify_as_approver_login
from support.pgcluster import free_port
from support.serve import govgate_serve

# -- helpers ------------------------------------------------------------------------------


def agent_process(lab: Lab, tmp_path: Path, *args: str, env: dict | None = None, **config):
    """`govgate agent ARGS` with [agent] CONFIG (stale_after, metrics_file) in a file of its own."""
    toml = tmp_path / f"agent-{uuid.uuid4().hex[:6]}.toml"
    lines = ["[agent]"] + [f"{k} = {json.dumps(v)}" for k, v in config.items()]
    toml.write_text("\n".join(lines) + "\n")
    argv = [sys.executable, "-m", "govgate.cli", *agent_args(lab), "--config", str(toml)]
    return AgentProcess([*argv, "agent", *args], {**child_env(lab), **(env or {})}, tmp_path)


def heartbeats(lab: Lab) -> list[dict]:
    names = "id, host, pid, state, last_status, seen_at, polls, version, identity"
    rows = lab.rows(f"SELECT {names} FROM os_agent_heartbeats ORDER BY seen_at")
    return [dict(zip(names.split(", "), row, strict=True)) for row in rows]


def put_heartbeat(lab: Lab, seen_ago_s: float, state: str = "idle", host: str = "db1") -> None:
    """A heartbeat row as an agent on HOST would have written it SEEN_AGO_S seconds ago."""
    seen = (datetime.now(UTC) - timedelta(seconds=seen_ago_s)).isoformat(timespec="milliseconds")
    lab.execute(
        "INSERT INTO os_agent_heartbeats (id, identity, version, host, pid, started_at, seen_at, "
        "state, last_status, polls, rollouts, errors) VALUES (:id, 'govgate-agent', '0.1.0', "
        ":host, 4242, :seen, :seen, :state, 'READY', 1, 0, 0)",
        id=uuid.uuid4().hex,
        host=host,
        seen=seen,
        state=state,
    )


# Prometheus text exposition format 0.0.4, strictly: HELP/TYPE lines, then samples.
_HELP = re.compile(r"^# HELP (?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*) .+$")
_TYPE = re.compile(r"^# TYPE (?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|untyped)$")
_LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\\\|\\"|\\n)*"'
_SAMPLE = re.compile(
    rf"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?P<labels>\{{{_LABEL}(?:,{_LABEL})*\}})? "
    r"(?P<value>[-+]?(?:\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|NaN|[-+]?Inf))$"
)


def parse_prometheus(text: str) -> dict[str, float]:
    """Every sample as {'name{labels}': value}; fails on any line that is not the format, a
    sample without its TYPE, or a file that does not end with a newline."""
    assert text.endswith("\n"), "a text exposition ends with a newline"
    typed: set[str] = set()
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if m := _HELP.match(line):
            continue
        if m := _TYPE.match(line):
            typed.add(m["name"])
            continue
        m = _SAMPLE.match(line)
        assert m, f"not Prometheus text: {line!r}"
        assert m["name"] in typed, f"{m['name']} has no # TYPE line before it"
        samples[m["name"] + (m["labels"] or "")] = float(m["value"])
    return samples


# -- the heartbeat -------------------------------------------------------------------------


def test_a_watching_agent_writes_its_heartbeat_row_updates_it_and_marks_it_stopped(lab, tmp_path):
    agent = agent_process(lab, tmp_path, "--interval", "0.1", stale_after=1.0)
    try:
        agent.wait_for("status", timeout=30)
        wait_until(lambda: heartbeats(lab), 10, "the agent's heartbeat row")
        first = heartbeats(lab)[0]
        assert first["pid"] == agent.proc.pid and first["host"] == socket.gethostname()
        assert first["state"] == "idle" and first["last_status"] == "BLOCKED"
        assert first["version"] and first["identity"] == "govgate-agent"
        wait_until(
            lambda: heartbeats(lab)[0]["seen_at"] > first["seen_at"], 10, "a newer heartbeat"
        )
        assert heartbeats(lab)[0]["polls"] > first["polls"]
        alive = api.status(lab.settings, liveness=True).agent
        assert alive.alive and f"(pid {agent.proc.pid}) seen" in alive.words
    finally:
        code = agent.stop()
    assert code == 143, agent.describe()
    (row,) = heartbeats(lab)  # one row per agent process, never more
    assert row["state"] == "stopped"
    said = api.status(lab.settings, liveness=True).agent
    assert not said.alive and said.words.startswith("no agent running")
    assert not agent.named("heartbeat_failed"), agent.describe()


def test_status_doctor_and_the_page_say_no_agent_seen_when_the_heartbeat_is_stale(lab, gg):
    put_heartbeat(lab, seen_ago_s=5 * 60 + 3)
    before = api.status(lab.settings)
    why = gg(*agent_args(lab), "status", "--why")
    assert "agent: no agent seen for 5 minutes (the last was on db1, pid 4242)" in why.out
    data = json.loads(gg(*agent_args(lab), "status", "--json").out)
    assert data["agent"]["alive"] is False and data["agent"]["seen_s"] >= 300
    doctor = gg(*agent_args(lab), "doctor")
    assert "warn agent process: no agent seen for 5 minutes" in doctor.out
    page = TestClient(web_app.create_app(lab.settings)).get("/")
    assert "No agent seen for 5 minutes" in page.text

    put_heartbeat(lab, seen_ago_s=3, host="db2")
    fresh = gg(*agent_args(lab), "status", "--why").out
    assert re.search(r"agent: agent on db2 \(pid 4242\) seen [34] s ago, idle", fresh)
    assert json.loads(gg(*agent_args(lab), "status", "--json").out)["agent"]["alive"] is True
    # the verdict is the same whatever the heartbeat says: a note, never a reason
    after = api.status(lab.settings)
    assert (after.status, after.reasons) == (before.status, before.reasons)


def test_a_ready_page_promises_the_agent_only_when_one_was_seen_lately(lab, request, gg):
    ratify_as_approver_login(
        lab, request.getfixturevalue("pg") if lab.backend == "postgres" else None
    )
    client = TestClient(web_app.create_app(lab.settings))
    page = client.get("/").text
    assert "READY" in page and views.READY_WITHOUT_AGENT in page
    assert "the agent will run the rollout" not in page
    assert (
        "nothing runs the rollout until an agent is started"
        in gg(*agent_args(lab), "status", "--why").out
    )
    assert client.get("/status.json").json()["agent"]["alive"] is False

    put_heartbeat(lab, seen_ago_s=1)
    page = client.get("/").text
    assert "the agent will run the rollout" in page and views.READY_WITHOUT_AGENT not in page
    assert client.get("/status.json").json()["agent"]["alive"] is True


def test_liveness_words_name_each_unit_of_time():
    at = datetime(2030, 1, 1, tzinfo=UTC)
    row = heartbeat.Heartbeat("x", "a", "0", "h", 7, "", "", "idle")

    def said(seconds, state="idle"):
        seen = (at - timedelta(seconds=seconds)).isoformat()
        found = (heartbeat.Heartbeat(**{**row.__dict__, "seen_at": seen, "state": state}),)
        return heartbeat.liveness(found, 60, at).words

    assert said(0.2) == "agent on h (pid 7) seen just now, idle"
    assert said(3) == "agent on h (pid 7) seen 3 s ago, idle"
    assert said(61) == "no agent seen for 1 minute (the last was on h, pid 7)"
    assert said(2 * 3600 + 5) == "no agent seen for 2 hours (the last was on h, pid 7)"
    assert said(10, "stopped") == "no agent running: the last, on h (pid 7), stopped 10 s ago"
    assert heartbeat.liveness((), 60, at).words == "no agent has ever been seen"
    assert "govgate upgrade" in heartbeat.liveness(None, 60, at).words


# -- the metrics file ------------------------------------------------------------------------


def test_the_metrics_file_parses_as_prometheus_text_and_is_replaced_atomically(
    sqlite_lab, tmp_path
):
    metrics = tmp_path / "metrics" / "govgate.prom"
    metrics.parent.mkdir()
    agent = agent_process(
        sqlite_lab, tmp_path, "--interval", "0.05", stale_after=1.0, metrics_file=str(metrics)
    )
    inodes, reads = set(), 0
    try:
        agent.wait_for("status", timeout=30)
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:  # read while the agent keeps replacing it
            with open(metrics) as f:
                inodes.add(os.fstat(f.fileno()).st_ino)
                samples = parse_prometheus(f.read())  # never half a file
            reads += 1
        assert samples["govgate_agent_up"] == 1
        assert samples['govgate_gate_status{status="BLOCKED"}'] == 1
        assert samples['govgate_gate_status{status="READY"}'] == 0
        assert samples["govgate_gap"] == 210
        assert samples["govgate_rollouts_total"] == 0
        assert samples["govgate_agent_errors_total"] == 0
        assert samples['govgate_agent_state{state="idle"}'] == 1
        assert abs(samples["govgate_agent_last_poll_timestamp_seconds"] - time.time()) < 5
        assert len(inodes) > 1, "each write is a new file renamed over the old one"
    finally:
        agent.stop()
    final = parse_prometheus(metrics.read_text())
    assert final["govgate_agent_up"] == 0 and final['govgate_agent_state{state="stopped"}'] == 1
    assert sorted(p.name for p in metrics.parent.iterdir()) == ["govgate.prom"]  # no temp left
    assert oct(metrics.stat().st_mode & 0o777) == "0o644"


def test_an_unwritable_metrics_file_is_said_once_and_the_agent_goes_on(sqlite_lab, gg, tmp_path):
    toml = tmp_path / "g.toml"
    toml.write_text(f'[agent]\nmetrics_file = "{tmp_path}/missing-folder/govgate.prom"\n')
    run = gg(*agent_args(sqlite_lab), "--config", str(toml), "agent", "--once")
    events = [json.loads(x) for x in run.out.splitlines()]
    failed = [e for e in events if e["event"] == "metrics_failed"]
    assert run.code == 1 and len(failed) == 1 and failed[0]["level"] == "warning"
    assert events[-1]["event"] == "stopped"


# -- systemd -----------------------------------------------------------------------------------


@pytest.mark.parametrize("abstract", [False, True], ids=["path", "abstract"])
def test_ready_and_watchdog_datagrams_reach_systemds_notify_socket(sqlite_lab, tmp_path, abstract):
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if abstract:
        name = f"govgate-test-{uuid.uuid4().hex}"
        listener.bind("\0" + name)
        address = "@" + name
    else:
        address = str(tmp_path / "notify.sock")
        listener.bind(address)
    listener.settimeout(20)
    # --interval 30, but a watchdog of 1 s: the agent must poll at least every 0.5 s
    env = {"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "1000000"}
    agent = agent_process(sqlite_lab, tmp_path, "--interval", "30", env=env)
    got: list[str] = []
    try:
        started = time.monotonic()
        while sum("WATCHDOG=1" in g for g in got) < 4:
            got.append(listener.recv(4096).decode())
        assert time.monotonic() - started < 10, got
    finally:
        agent.stop()
        listener.settimeout(5)
        try:
            while not any("STOPPING=1" in g for g in got):
                got.append(listener.recv(4096).decode())
        finally:
            listener.close()
    assert "READY=1" in got[0].splitlines(), got
    assert any(
        line.startswith("STATUS=idle: the gate says BLOCKED, gap 210")
        for g in got
        for line in g.splitlines()
    )
    assert not agent.named("emission_blocked"), "a local datagram is no emission"


# -- /healthz -----------------------------------------------------------------------------------


def test_healthz_answers_200_when_the_database_answers_and_503_when_it_does_not(lab, tmp_path):
    ok = TestClient(web_app.create_app(lab.settings)).get("/healthz")
    assert ok.status_code == 200 and ok.json()["status"] == "ok"
    # no state is computed: a database without govgate's tables is healthy too
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    bare = TestClient(web_app.create_app(Settings(db_url=f"sqlite:///{empty}"))).get("/healthz")
    assert bare.status_code == 200
    url = f"postgresql+psycopg://agent:pw-never-shown@127.0.0.1:{free_port()}/production"
    down = TestClient(web_app.create_app(Settings(db_url=url))).get("/healthz")
    assert down.status_code == 503 and down.json()["status"] == "unavailable"
    assert "pw-never-shown" not in down.text


# -- logs ---------------------------------------------------------------------------------------


def test_agent_logs_are_json_lines_with_a_level_or_text_when_asked(sqlite_lab, gg):
    run = gg(*agent_args(sqlite_lab), "--log-format", "json", "agent", "--once")
    lines = [json.loads(x) for x in run.out.splitlines()]
    assert [list(e)[:3] for e in lines] == [["ts", "level", "event"]] * len(lines)
    assert {e["level"] for e in lines} <= {"debug", "info", "warning", "error", "critical"}
    text = gg(*agent_args(sqlite_lab), "--log-format", "text", "agent", "--once").out
    assert re.search(r"^\S+ warning status status=BLOCKED proposal=PROP-AUTHMODEL-1 ", text, re.M)


def test_warnings_and_library_records_go_through_the_same_pipeline_escaped():
    for fmt in ("json", "text"):
        out = io.StringIO()
        logs.configure(fmt, out)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("always")
                logging.captureWarnings(True)
                warnings.warn("old \x1b[31mthing", DeprecationWarning, stacklevel=1)
            logging.getLogger("some.library").error("cannot reach %s", "x")
            logs.emit({"event": "said", "level": "info", "name": "a\u202eb\nc"})
        finally:
            logs.reset()
        lines = out.getvalue().splitlines()
        assert len(lines) == 3, lines
        assert "\x1b" not in out.getvalue() and "\u202e" not in out.getvalue()
        if fmt == "json":
            first, second, third = map(json.loads, lines)
            assert (first["event"], first["level"]) == ("python_warning", "warning")
            assert "DeprecationWarning" in first["message"]
            assert (second["event"], second["logger"]) == ("cannot reach x", "some.library")
            assert third["name"] == "a\u202eb\nc"
        else:
            assert " warning python_warning " in lines[0] and "\\x1b" in lines[0]
            assert " error   cannot reach x " in lines[1]
            assert "name=a\\u202eb\\nc" in lines[2]


def test_a_password_in_a_database_url_never_appears_in_the_logs(gg, tmp_path):
    url = f"postgresql+psycopg://agent:S3cret-pw@127.0.0.1:{free_port()}/production"
    run = gg("--db", url, "--log-format", "json", "agent", "--once")
    assert run.code == 3
    assert "S3cret-pw" not in run.out + run.err and "***" in run.out
    out = io.StringIO()
    logs.configure("json", out)
    try:
        logs.emit(
            {
                "event": "x",
                "error": f"failed at {url} with password=hunter2; Authorization: Bearer tok123",
                "directus_token": "tok456",
                "nested": [{"password": "pw789"}],
            }
        )
    finally:
        logs.reset()
    said = out.getvalue()
    for secret in ("S3cret-pw", "hunter2", "tok123", "tok456", "pw789"):
        assert secret not in said
    assert "agent:***@127.0.0.1" in said


def test_serve_logs_its_requests_as_json_lines_through_the_same_pipeline(sqlite_lab, tmp_path):
    port = free_port()
    with govgate_serve(sqlite_lab.url, port, tmp_path) as base:
        assert httpx.get(f"{base}/healthz", trust_env=False).status_code == 200
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            lines = (tmp_path / "serve.log").read_text().splitlines()
            if any('"/healthz"' in x for x in lines):
                break
            time.sleep(0.1)
    records = [json.loads(x) for x in lines if x.strip()]  # every line is JSON: nothing else
    served = next(r for r in records if r.get("path") == "/healthz")
    assert (served["event"], served["level"], served["status"]) == ("http_request", "info", 200)
    assert any(r["event"] == "serving" for r in records)
    assert all({"ts", "level", "event"} <= set(r) for r in records)
