"""Directus 12.4.0 on MariaDB (DB_CLIENT=mysql), and the gate on it.

`directus_mariadb_lab` starts a throwaway MariaDB from Debian's binaries (as the mysql or
nobody OS user, 127.0.0.1 only) and Directus on it. The first tests look at the lab itself:
Directus bootstraps and serves, a person signs in and creates a user, every user id is
CHAR(36), nothing secret is on a command line, and the lab survives a stop and a start.
Then `mariadb_world` does the operator's one-time set-up as on PostgreSQL (init through the
REST API, init --roles as the superuser, the agent's login in the govgate_agent role, the
governance data, the approver and agent users), and a person's approval made through
Directus's REST API flips the gate from BLOCKED to READY, and the agent rolls the plan out.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from govgate import api
from govgate.directus.insights import NAME

from .dlab import (
    AGENT_EMAIL,
    APPROVER_EMAIL,
    LAB_SCRIPT,
    ROGUE_EMAIL,
    DirectusLab,
    World,
    build_world,
    ok,
    read_lab_env,
)
from support.agentproc import AgentProcess
from support.constants import NO_CONFIG

SECRET_KEYS = ("PASSWORD", "TOKEN", "DIRECTUS_KEY", "DIRECTUS_SECRET", "URL")


def _lab_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LAB_SCRIPT), *args], capture_output=True, text=True, timeout=300, check=False
    )


def _column_type(lab: DirectusLab, table: str, column: str) -> str:
    return lab.scalar(
        "SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
        "AND TABLE_NAME = :t AND COLUMN_NAME = :c",
        t=table,
        c=column,
    )


def _new_user(lab: DirectusLab) -> tuple[str, str, str]:
    """POST /users as the admin: (id, email, password)."""
    email, password = f"person-{secrets.token_hex(4)}@example.com", secrets.token_hex(12)
    with lab.client() as http:
        made = ok(http.post("/users", json={"email": email, "password": password}))
    return made["id"], email, password


# -- the lab ---------------------------------------------------------------------------------


def test_directus_runs_on_mariadb_and_an_admin_signs_in_over_rest_and_creates_a_user(
    directus_mariadb_lab,
):
    lab = directus_mariadb_lab
    assert lab.db_client == "mysql"
    with lab.client() as http:
        assert http.get("/server/ping").text == "pong"
        signed_in = http.post(
            "/auth/login",
            json={
                "email": lab.env["DIRECTUS_ADMIN_EMAIL"],
                "password": lab.env["DIRECTUS_ADMIN_PASSWORD"],
            },
            headers={"Authorization": ""},
        )
    access = ok(signed_in)["access_token"]
    with lab.client(access) as http:
        admin = ok(http.get("/users/me"))
    assert admin["email"] == lab.env["DIRECTUS_ADMIN_EMAIL"]

    user_id, email, password = _new_user(lab)
    assert str(uuid.UUID(user_id)) == user_id  # a uuid, in its 36-character text form
    # On MySQL/MariaDB Directus keeps every user id as CHAR(36) text, not a native uuid.
    for table, column in (
        ("directus_users", "id"),
        ("directus_activity", "user"),
        ("directus_access", "user"),
    ):
        assert _column_type(lab, table, column) == "char(36)", (table, column)
    assert lab.rows("SELECT email FROM directus_users WHERE id = :i", i=user_id) == [(email,)]
    # Directus itself recorded who created the user, as on PostgreSQL.
    assert lab.rows(
        "SELECT action, `user` FROM directus_activity WHERE collection = 'directus_users' "
        "AND item = :i",
        i=user_id,
    ) == [("create", admin["id"])]
    with lab.client() as http:  # the new person signs in too
        again = http.post(
            "/auth/login",
            json={"email": email, "password": password},
            headers={"Authorization": ""},
        )
    assert ok(again)["access_token"]


def test_the_labs_mariadb_runs_as_a_non_root_user_on_loopback_with_its_socket_in_the_lab(
    directus_mariadb_lab,
):
    lab = directus_mariadb_lab
    pid = int(Path(lab.env["MARIADB_PID_FILE"]).read_text().strip())
    assert Path(f"/proc/{pid}/comm").read_text().strip() == "mariadbd"
    uid = next(
        line.split()[1]
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("Uid:")
    )
    assert uid != "0"
    bind, port, sock, flush, zone, version = lab.rows(
        "SELECT @@bind_address, @@port, @@socket, @@innodb_flush_log_at_trx_commit, "
        "@@time_zone, @@version"
    )[0]
    assert bind == "127.0.0.1" and str(port) == lab.env["MARIADB_PORT"]
    assert Path(sock).is_relative_to(lab.dir) and sock == lab.env["MARIADB_SOCKET"]
    assert flush == 2 and zone == "+00:00" and "MariaDB" in version
    assert lab.url.startswith("http://127.0.0.1:")
    # Directus's login owns its database and nothing else, and cannot grant.
    grants = [g for (g,) in lab.rows("SHOW GRANTS FOR CURRENT_USER", url=lab.owner_url)]
    assert any(re.search(r"GRANT ALL PRIVILEGES ON `directus`\.\*", g) for g in grants), grants
    assert not any(
        "WITH GRANT OPTION" in g or " ON *.* " in g.replace("USAGE ON *.*", "") for g in grants
    ), grants


def test_no_password_or_token_of_the_mariadb_lab_shows_on_any_command_line(directus_mariadb_lab):
    lab = directus_mariadb_lab
    secrets_ = {
        value
        for key, value in lab.env.items()
        if any(k in key for k in SECRET_KEYS) and len(value) >= 12 and not key.endswith("_URL")
    }
    assert {lab.env["MARIADB_PASSWORD"], lab.env["MARIADB_SUPERUSER_PASSWORD"]} <= secrets_
    assert lab.env["DIRECTUS_ADMIN_TOKEN"] in secrets_
    shown = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue  # the process ended meanwhile
        shown += [(cmdline.parent.name, s[:4]) for s in secrets_ if s in args]
    assert shown == []
    assert (lab.dir / "lab.env").stat().st_mode & 0o077 == 0


def test_stopping_and_starting_the_mariadb_lab_again_keeps_its_data_and_credentials(
    directus_mariadb_lab,
):
    lab = directus_mariadb_lab
    user_id, email, _ = _new_user(lab)
    password = lab.env["MARIADB_PASSWORD"]
    mariadbd = int(Path(lab.env["MARIADB_PID_FILE"]).read_text().strip())

    stopped = _lab_script("stop", "--dir", str(lab.dir))
    assert stopped.returncode == 0, stopped.stderr
    assert not Path(f"/proc/{mariadbd}").exists()
    status = _lab_script("status", "--dir", str(lab.dir))
    assert status.returncode == 1
    assert "directus:   stopped" in status.stdout and "mariadb:    stopped" in status.stdout

    started = _lab_script("start", "--dir", str(lab.dir), "--db", "mariadb")
    assert started.returncode == 0, started.stderr
    read_lab_env(lab)
    assert lab.env["MARIADB_PASSWORD"] == password
    status = _lab_script("status", "--dir", str(lab.dir))
    assert status.returncode == 0, status.stdout
    assert re.search(r"mariadb: +running, pid \d+, 127\.0\.0\.1:\d+, as \w+", status.stdout)
    with lab.client() as http:
        assert ok(http.get(f"/users/{user_id}"))["email"] == email
    # Asking for another database in the same folder is refused, naming what runs there.
    other = _lab_script("start", "--dir", str(lab.dir), "--db", "pg")
    assert other.returncode == 1 and "already runs a mariadb lab" in other.stderr


# -- the gate on it --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mariadb_world(directus_mariadb_lab, tmp_path_factory) -> World:
    return build_world(
        directus_mariadb_lab,
        tmp_path_factory.mktemp("mariadb-plans"),
        tmp_path_factory.mktemp("mariadb-reports"),
    )


def test_a_persons_approval_through_directus_on_mariadb_makes_the_gate_ready_and_the_agent_applies(
    mariadb_world,
):
    world = mariadb_world
    assert world.init_result.registered_via == "api", world.init_result
    # The agent's login works in the govgate_agent role that `init --roles` made, by default.
    assert world.lab.rows("SELECT CURRENT_ROLE()", url=world.settings.agent_url) == [
        ("govgate_agent",)
    ]
    proposal = world.propose("mariadb")
    assert api.status(world.settings).status.value == "BLOCKED"
    # approved_by/approved_at are spoofed: Directus fills them itself (user-created, date-created).
    sent = world.approve(
        APPROVER_EMAIL,
        proposal,
        approved_by=world.users[AGENT_EMAIL],
        approved_at="2001-01-01T00:00:00Z",
    )
    assert sent.status_code == 200, sent.text
    by, at = world.lab.rows(
        "SELECT approved_by, approved_at FROM os_proposal_approvals WHERE id = :i",
        i=proposal.approval_id,
    )[0]
    assert by == world.users[APPROVER_EMAIL]
    assert abs(at.replace(tzinfo=UTC) - datetime.now(UTC)) < timedelta(minutes=5)
    assert world.lab.rows(
        "SELECT action, `user` FROM directus_activity WHERE collection = "
        "'os_proposal_approvals' AND item = :i",
        i=proposal.approval_id,
    ) == [("create", world.users[APPROVER_EMAIL])]
    before = api.status(world.settings)
    assert before.status.value == "READY", [str(r) for r in before.reasons]
    assert before.approval_id == proposal.approval_id and before.gap == 210

    result = api.apply(world.settings)  # the agent's login, in the govgate_agent role
    assert result.records == len(proposal.slots) == 210
    assert api.status(world.settings).status.value == "APPLIED"
    assert api.verify(world.settings).ok
    made = next(o for o in result.created_objects if o["kind"] == "dashboard")
    with world.client(AGENT_EMAIL) as http:  # Directus shows the rollout to the agent's policy
        rows = ok(http.get("/items/os_accountability", params={"limit": -1}))
        assert len(rows) == 210 and {r["rollout_id"] for r in rows} == {result.rollout_id}
    with world.client() as http:
        dashboard = ok(http.get(f"/dashboards/{made['id']}", params={"fields": "*,panels.*"}))
        assert dashboard["name"] == NAME and len(dashboard["panels"]) == len(made["panels"])

    undone = api.rollback(world.settings)
    assert undone.restored and undone.records_removed == 210
    after = api.status(world.settings)
    assert after.fingerprint == before.fingerprint == world.start_fingerprint
    with world.client() as http:
        assert ok(http.get("/items/os_accountability", params={"limit": -1})) == []


def test_on_mariadb_the_watching_agent_rolls_out_once_a_person_approves_through_directus(
    mariadb_world, tmp_path
):
    world = mariadb_world
    proposal = world.propose("mariadb-agent")
    argv = [sys.executable, "-m", "govgate.cli", "--db", world.settings.db_url]
    argv += ["--agent-db", world.settings.agent_url, "agent", "--interval", "0.2"]
    env = {
        **os.environ,
        **NO_CONFIG,
        "GOVGATE_REPORT_DIR": str(tmp_path),
        "GOVGATE_DIRECTUS_URL": world.lab.url,
        "GOVGATE_DIRECTUS_AGENT_USER": AGENT_EMAIL,
    }
    watcher = AgentProcess(argv, env, tmp_path)
    try:
        started = watcher.wait_for("started", timeout=30)
        assert started["mode"] == "watch" and started["listen"] is False  # MariaDB: it polls
        watcher.wait_for("status", timeout=30, status="BLOCKED", proposal=proposal.id)
        assert world.approve(APPROVER_EMAIL, proposal).status_code == 200
        applied = watcher.wait_for("applied", timeout=60, proposal=proposal.id)
        assert applied["approval"] == proposal.approval_id
        assert applied["records"] == 210 and applied["gap_after"] == 0
    finally:
        code = watcher.stop()
    assert code == 143, watcher.describe()
    assert api.status(world.settings).status.value == "APPLIED"
    with world.client() as http:
        assert len(ok(http.get("/items/os_accountability", params={"limit": -1}))) == 210
    assert api.rollback(world.settings).restored
    assert api.status(world.settings).fingerprint == world.start_fingerprint


def test_on_mariadb_an_approval_inserted_with_sql_keeps_the_gate_blocked_and_the_agent_gets_403(
    mariadb_world, gg, monkeypatch
):
    world = mariadb_world
    proposal = world.propose("mariadb-sql")
    refused = world.approve(AGENT_EMAIL, proposal)
    assert refused.status_code == 403, refused.text
    world.lab.execute(
        "INSERT INTO os_proposal_approvals (id, proposal_id, proposal_sha256, approved_by, "
        "statement) VALUES (:i, :p, :h, :u, 'inserted with SQL')",
        url=world.lab.owner_url,
        i=proposal.approval_id,
        p=proposal.id,
        h=proposal.sha256,
        u=world.users[APPROVER_EMAIL],
    )
    verdict = api.status(world.settings)
    assert verdict.status.value == "BLOCKED"
    assert {r.code for r in verdict.reasons} == {"no-provenance"}
    monkeypatch.setenv("GOVGATE_DIRECTUS_AGENT_USER", AGENT_EMAIL)
    monkeypatch.setenv("GOVGATE_CONFIG", NO_CONFIG["GOVGATE_CONFIG"])
    shown = gg(
        "--db", world.settings.db_url, "--agent-db", world.settings.agent_url, "status", "--why"
    )
    assert shown.code == 0, shown.err
    assert shown.out.splitlines()[0] == "BLOCKED"
    assert f"approval {proposal.approval_id} was not created by a person in Directus" in shown.out


def test_on_mariadb_an_approval_by_the_agents_own_user_does_not_count(mariadb_world):
    world = mariadb_world
    proposal = world.propose("mariadb-rogue")
    assert world.approve(ROGUE_EMAIL, proposal).status_code == 200  # its policy (wrongly) allows it
    verdict = api.status(world.as_agent(ROGUE_EMAIL))
    assert verdict.status.value == "BLOCKED"
    assert {r.code for r in verdict.reasons} == {"agent-approval"}


def test_on_mariadb_editing_an_approval_through_directus_is_refused_and_it_stays_as_made(
    mariadb_world,
):
    # On PostgreSQL Directus's role may edit the row and the gate then refuses it
    # (approval-edited); MySQL and MariaDB have no table owner to let through, so govgate's
    # custody trigger refuses the edit itself, for every login, and Directus answers 500.
    world = mariadb_world
    proposal = world.propose("mariadb-edited")
    assert world.approve(APPROVER_EMAIL, proposal).status_code == 200
    with world.client() as http:  # the admin tries to edit the statement afterwards
        edit = http.patch(
            f"/items/os_proposal_approvals/{proposal.approval_id}", json={"statement": "changed"}
        )
    assert edit.status_code == 500, edit.text
    assert "an approval is made once and never changed" in edit.text
    assert world.lab.rows(
        "SELECT statement FROM os_proposal_approvals WHERE id = :i", i=proposal.approval_id
    ) == [(f"I ratify {proposal.id} with hash {proposal.sha256}.",)]
    assert world.lab.rows(
        "SELECT action FROM directus_activity WHERE collection = 'os_proposal_approvals' "
        "AND item = :i",
        i=proposal.approval_id,
    ) == [("create",)]
    assert api.status(world.settings).status.value == "READY"
