"""Kernel containment of the rollout (issue 17; SPEC 4.14): native code inside a rollout is
refused by the kernel, the rollout rolled back and the refusal reported.

The in-process guard (test_emission.py) sees what Python does. These hooks call libc through
ctypes, past every audit hook, as a C extension would: a `connect()` to a listener on another
port, a program started with `posix_spawn()` and `system()`. Contained (the default where
Landlock has ABI 4 or later, as on CI's kernel), the kernel refuses them; with containment off
the same calls get through, which shows that the tests can fail. Landlock itself is tested in
test_landlock.py; here it is the rollout, on real databases, through the library, the command
line and the agent.
"""

from __future__ import annotations

import ctypes
import json
import os
import pickle
import socket
import struct
from pathlib import Path

import pytest

from govgate import agent, api
from govgate.config import Settings, load_settings
from govgate.errors import (
    Aborted,
    BadInput,
    CheckFailed,
    DatabaseUnreachable,
    Refused,
    lost_connection,
)
from govgate.guards import containment, landlock
from govgate.runbook import contained

from support.labs import (
    Lab,
    agent_args,
    last_audit,
    ratify,
    ratify_as_approver_login,
    rollouts,
    with_settings,
)

KERNEL = "refused by the kernel's containment (Landlock)"
UNAVAILABLE = "Landlock is not available on this kernel (Linux 5.4.0-test): no kernel containment"


# -- native code, as a C extension would call it -----------------------------------------------


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def native_connect(port: int) -> int:
    """connect() to 127.0.0.1:PORT through libc; 0, or the errno it failed with."""
    libc = _libc()
    fd = libc.socket(socket.AF_INET, socket.SOCK_STREAM, 0)
    assert fd >= 0
    try:
        raw = struct.pack("=H", socket.AF_INET) + struct.pack("!H", port)
        raw += socket.inet_aton("127.0.0.1") + bytes(8)
        ctypes.set_errno(0)
        done = libc.connect(fd, ctypes.create_string_buffer(raw, len(raw)), len(raw))
        return 0 if done == 0 else ctypes.get_errno()
    finally:
        libc.close(fd)


def native_spawn(command: str) -> int:
    """posix_spawn() of /bin/sh -c COMMAND through libc, waited for; 0 or the error number."""
    libc, pid = _libc(), ctypes.c_int(0)
    argv = (ctypes.c_char_p * 4)(b"/bin/sh", b"-c", command.encode(), None)
    envp = (ctypes.c_char_p * 1)(None)
    failed = libc.posix_spawn(ctypes.byref(pid), b"/bin/sh", None, None, argv, envp)
    if failed == 0:
        os.waitpid(pid.value, 0)
    return failed


def connecting(port: int, at: str = "records"):
    """A hook making a native connect() to PORT before step AT; it raises on failure, as a
    native wrapper does."""

    def hook(step, conn):
        if step == at:
            failed = native_connect(port)
            if failed:
                raise OSError(failed, f"connect to 127.0.0.1:{port}: {os.strerror(failed)}")

    return hook


def spawning(marker: Path, at: str = "records"):
    """A hook starting a program that would create MARKER, through system() then posix_spawn()."""

    def hook(step, conn):
        if step == at:
            status = _libc().system(f"touch {marker}".encode())
            failed = native_spawn(f"touch {marker}")
            if failed:
                raise OSError(failed, f"posix_spawn /bin/sh: {os.strerror(failed)}")
            if status != 0:
                raise RuntimeError(f"system() returned {status}")

    return hook


# -- what a refused rollout leaves behind -----------------------------------------------------


def nothing_applied(lab: Lab, accountability_before: int) -> None:
    """Read back from the database: no record, no applied rollout, the gate still READY."""
    assert lab.scalar("SELECT count(*) FROM os_accountability") == accountability_before
    assert lab.scalar("SELECT count(*) FROM os_accountability WHERE rollout_id IS NOT NULL") == 0
    assert [r for r in rollouts(lab) if r[2] == "applied"] == []
    assert api.status(lab.settings).status.value == "READY"


def records(lab: Lab) -> int:
    return lab.scalar("SELECT count(*) FROM os_accountability")


def unavailable(monkeypatch) -> None:
    """This process's probe says there is no Landlock (the kernel here has it: CI's has ABI 4+)."""
    gone = landlock.Availability(0, False, False, UNAVAILABLE)
    monkeypatch.setattr(landlock, "availability", lambda: gone)


def with_hook(monkeypatch, hook) -> None:
    """Every rollout this process starts (the command line's too) runs HOOK at its steps."""
    original = contained.apply
    monkeypatch.setattr(
        contained, "apply", lambda settings, **kw: original(settings, **{**kw, "hook": hook})
    )


# -- the kernel refuses native code inside the rollout -----------------------------------------


def test_the_kernel_here_contains_rollouts_by_default():
    found = containment.decide(Settings())
    assert found.contained and found.abi >= 4 and not found.refuses, found.words
    assert found.words == (
        f"kernel containment: Landlock ABI {found.abi}, rollouts contained "
        "([agent] containment = auto)"
    )


def test_a_native_connect_inside_the_rollout_is_refused_by_the_kernel_and_rolled_back(lab, server):
    ratify(lab)
    before, held = lab.snapshot(exclude=("os_audit",)), records(lab)
    with pytest.raises(Aborted) as caught:
        api.apply(lab.settings, hook=connecting(server.port))
    assert caught.value.step == "records"
    assert KERNEL in caught.value.message and "rolled back" in caught.value.message
    assert f"127.0.0.1:{server.port}" in caught.value.message
    assert server.settle() == 0, "the listener saw a connection"
    assert lab.snapshot(exclude=("os_audit",)) == before
    nothing_applied(lab, held)
    kind, detail = last_audit(lab)
    assert kind == "abort" and detail["step"] == "records" and KERNEL in detail["cause"]
    assert api.audit_verify(lab.settings).ok


def test_a_native_program_started_inside_the_rollout_is_refused_by_the_kernel_and_rolled_back(
    lab, tmp_path
):
    ratify(lab)
    marker = tmp_path / "the-program-ran"
    before, held = lab.snapshot(exclude=("os_audit",)), records(lab)
    with pytest.raises(Aborted) as caught:
        api.apply(lab.settings, hook=spawning(marker, at="journal"))
    assert caught.value.step == "journal"
    assert KERNEL in caught.value.message and "Permission denied" in caught.value.message
    assert not marker.exists(), "a program ran inside the rollout"
    assert lab.snapshot(exclude=("os_audit",)) == before
    nothing_applied(lab, held)
    assert last_audit(lab)[0] == "abort"


def test_the_command_line_says_the_kernel_refused_and_exits_1(sqlite_lab, gg, server, monkeypatch):
    ratify(sqlite_lab)
    held = records(sqlite_lab)
    with_hook(monkeypatch, connecting(server.port))
    run = gg(*agent_args(sqlite_lab), "apply")
    assert run.code == 1, run.out + run.err
    assert KERNEL in run.err and "rolled back" in run.err
    with_hook(monkeypatch, connecting(server.port))
    run = gg(*agent_args(sqlite_lab), "apply", "--json")
    error = json.loads(run.out)["error"]
    assert run.code == 1 and error["kind"] == "Aborted" and KERNEL in error["message"]
    assert server.settle() == 0
    nothing_applied(sqlite_lab, held)


def test_the_agent_reports_the_kernels_refusal_and_holds(lab, request, server):
    cluster = request.getfixturevalue("pg") if lab.backend == "postgres" else None
    ratify_as_approver_login(lab, cluster)
    events = list(agent.run(lab.settings, once=True, hook=connecting(server.port)))
    by_name = {e.event: e for e in events}
    assert "containment" in by_name["started"].fields
    assert by_name["started"].get("containment").startswith("kernel containment: Landlock ABI")
    aborted = by_name["rollout_aborted"]
    assert aborted.level == "error" and aborted.get("step") == "records"
    assert aborted.get("rolled_back") is True and KERNEL in aborted.get("reason")
    assert "emission_blocked" not in by_name  # native: the audit hook never saw it
    assert events[-1].event == "stopped" and events[-1].get("exit_code") == 1
    assert server.settle() == 0
    assert rollouts(lab) == []


# -- without containment the same native calls get through (so the tests above can fail) -----


def test_with_containment_off_the_native_connect_and_program_get_through(
    sqlite_lab, server, tmp_path
):
    lab = with_settings(sqlite_lab, containment="off")
    ratify(lab)
    marker = tmp_path / "the-program-ran"

    def both(step, conn):
        connecting(server.port)(step, conn)
        spawning(marker)(step, conn)

    result = api.apply(lab.settings, hook=both)
    assert server.settle() == 1, "the native connect did not reach the listener"
    assert marker.exists()
    assert result.gap_after == 0 and api.status(lab.settings).status.value == "APPLIED"


# -- the setting, where Landlock is missing -----------------------------------------------------


def test_required_refuses_a_rollout_where_landlock_is_unavailable_and_changes_nothing(
    sqlite_lab, gg, monkeypatch
):
    ratify(sqlite_lab)
    unavailable(monkeypatch)
    before = sqlite_lab.snapshot()
    with pytest.raises(Refused) as caught:
        api.apply(with_settings(sqlite_lab, containment="required").settings)
    message = caught.value.message
    assert "Landlock is not available on this kernel" in message
    assert "[agent] containment = required" in message and "nothing was changed" in message
    assert not isinstance(caught.value, Aborted)
    monkeypatch.setenv("GOVGATE_CONTAINMENT", "required")
    run = gg(*agent_args(sqlite_lab), "apply")
    assert run.code == 1 and "[agent] containment = required" in run.err, run.err
    assert "GOVGATE_CONTAINMENT=auto" in run.err
    assert sqlite_lab.snapshot() == before
    events = list(agent.run(with_settings(sqlite_lab, containment="required").settings, once=True))
    refused = next(e for e in events if e.event == "rollout_refused")
    assert "[agent] containment = required" in refused.get("reason")
    assert "the agent will not run a rollout" in events[0].get("containment")
    assert events[-1].get("exit_code") == 1
    assert sqlite_lab.snapshot() == before  # not one row more, the audit trail included


def test_auto_runs_the_rollout_uncontained_where_landlock_is_unavailable_and_says_so(
    sqlite_lab, gg, monkeypatch
):
    ratify(sqlite_lab)
    unavailable(monkeypatch)
    run = gg(*agent_args(sqlite_lab), "apply")
    assert run.code == 0, run.err
    assert "note: kernel containment unavailable: Landlock is not available" in run.err
    assert "rollouts run guarded in-process only" in run.err
    assert api.status(sqlite_lab.settings).status.value == "APPLIED"


# -- doctor and status --why say it ------------------------------------------------------------


def test_doctor_and_status_why_say_whether_rollouts_are_contained(sqlite_lab, gg, monkeypatch):
    abi = landlock.abi_version()
    contained_words = f"kernel containment: Landlock ABI {abi}, rollouts contained"
    run = gg("--db", sqlite_lab.url, "status", "--why")
    assert f"{contained_words} ([agent] containment = auto)" in run.out, run.out
    doc = json.loads(gg("--db", sqlite_lab.url, "status", "--json").out)["containment"]
    assert doc == {
        "setting": "auto",
        "abi": abi,
        "contained": True,
        "refuses": False,
        "reason": "",
        "words": f"{contained_words} ([agent] containment = auto)",
    }
    doctor = json.loads(gg("--db", sqlite_lab.url, "doctor", "--json").out)
    finding = next(f for f in doctor["findings"] if f["name"] == "kernel containment")
    assert finding["ok"] and not finding["warning"]
    assert finding["detail"].startswith(f"Landlock ABI {abi}, rollouts contained")

    unavailable(monkeypatch)
    monkeypatch.setenv("GOVGATE_CONTAINMENT", "required")
    run = gg("--db", sqlite_lab.url, "status", "--why")
    assert (
        "kernel containment unavailable: Landlock is not available on this kernel "
        "(Linux 5.4.0-test); [agent] containment = required: the agent will not run a rollout"
    ) in run.out, run.out
    run = gg("--db", sqlite_lab.url, "doctor")
    assert run.code == 1 and "FAIL kernel containment: unavailable" in run.out, run.out
    monkeypatch.setenv("GOVGATE_CONTAINMENT", "off")
    run = gg("--db", sqlite_lab.url, "doctor")
    assert "warn kernel containment: off ([agent] containment = off, for debugging only)" in run.out


# -- a child that ends without a result: the parent reads what happened ------------------------


def test_a_contained_rollout_killed_from_outside_is_rolled_back_and_recorded_at_its_step(lab):
    ratify(lab)
    before, held = lab.snapshot(exclude=("os_audit",)), records(lab)

    def killed(step, conn):
        if step == "views":
            os.kill(os.getpid(), 9)  # the contained child: the caller's process lives on

    with pytest.raises(Aborted) as caught:
        api.apply(lab.settings, hook=killed)
    assert caught.value.step == "views"
    assert "killed by signal 9" in caught.value.message and "rolled back" in caught.value.message
    assert lab.snapshot(exclude=("os_audit",)) == before
    nothing_applied(lab, held)
    kind, detail = last_audit(lab)
    assert kind == "abort" and detail["step"] == "views"


def test_a_rollout_that_committed_before_its_child_died_is_reported_as_applied(lab, monkeypatch):
    ratify(lab)
    original = containment._child

    def dies_after_the_commit(*args):
        original(*args)
        os._exit(0)  # committed, and nothing sent back

    monkeypatch.setattr(containment, "_child", dies_after_the_commit)
    result = api.apply(lab.settings)
    assert (result.gap_before, result.gap_after, result.records) == (210, 0, 210)
    assert rollouts(lab) == [(result.rollout_id, result.approval_id, "applied")]
    assert result.report["rollout"] == result.rollout_id and not result.dry_run
    assert lab.scalar("SELECT count(*) FROM os_audit WHERE kind = 'abort'") == 0
    assert api.status(lab.settings).status.value == "APPLIED"


# -- the pieces ----------------------------------------------------------------------------------


def test_every_govgate_error_crosses_the_pipe_with_its_attributes_notes_and_cause():
    try:
        try:
            raise DatabaseUnreachable("the connection was lost", hint="check the server")
        except DatabaseUnreachable as lost:
            raise Aborted("audit", "lost", ("one", "two")) from lost
    except Aborted as exc:
        exc.add_note("Raised in the contained child: …")
        sent, back = exc, pickle.loads(pickle.dumps(exc))
    assert type(back) is Aborted and (back.step, back.cause, back.failures) == (
        "audit",
        "lost",
        ("one", "two"),
    )
    assert back.message == sent.message and back.__notes__ == sent.__notes__
    assert lost_connection(back) and back.__cause__.hint == "check the server"
    failed = pickle.loads(pickle.dumps(CheckFailed("checks", failures=("gap: 3",), hint="h")))
    assert (failed.message, failed.failures, failed.hint) == ("checks", ("gap: 3",), "h")


@pytest.mark.parametrize(
    "url,ports",
    [
        ("postgresql+psycopg://agent@db.internal/prod", {5432}),
        ("postgresql+psycopg://agent@127.0.0.1:6543/prod", {6543}),
        ("postgresql+psycopg://agent@/prod?host=/var/run/postgresql", set()),
        ("mariadb+pymysql://agent@127.0.0.1/prod", {3306}),
        ("mysql+pymysql://agent@db:3307/prod", {3307}),
        ("mysql+pymysql://agent@localhost/prod?unix_socket=/run/mysqld/mysqld.sock", set()),
        ("sqlite:////var/lib/govgate/prod.db", set()),
    ],
)
def test_the_policy_opens_the_database_port_and_a_local_directus_only(url, ports, tmp_path):
    local = Settings(directus_url="http://127.0.0.1:8055", report_dir=str(tmp_path))
    assert containment.policy(local, url).tcp_connect_ports == frozenset(ports | {8055})
    remote = Settings(directus_url="https://directus.example.org", report_dir=str(tmp_path))
    policy = containment.policy(remote, url)
    assert policy.tcp_connect_ports == frozenset(ports)  # 443 would open every HTTPS server
    assert str(tmp_path.resolve()) in policy.writable_paths
    if url.startswith("sqlite"):
        assert "/var/lib/govgate" in policy.writable_paths  # the -journal and -wal siblings


def test_off_is_said_to_be_for_debugging_and_the_setting_is_typed(tmp_path):
    found = containment.decide(Settings(containment="off"))
    assert not found.contained and not found.refuses
    assert "for debugging only" in found.words
    config = tmp_path / "govgate.toml"
    config.write_text('[agent]\ncontainment = "sometimes"\n')
    with pytest.raises(
        BadInput, match=r'govgate.toml:2: \[agent\] containment: expected "required"'
    ):
        load_settings(config, env={})
    assert load_settings(os.devnull, env={"GOVGATE_CONTAINMENT": "off"}).containment == "off"


def test_a_contained_rollout_of_6000_slots_on_sqlite_writes_no_file_outside_its_folder(tmp_path):
    # SQLite spills a large statement's journal into the temporary directory, which the kernel
    # keeps the child from writing: a 6,000-slot rollout's report once aborted it at `verify`.
    import sys

    from support.constants import ROOT

    sys.path.insert(0, str(ROOT))  # the benchmark's data builder sits beside tests/
    from bench import data

    case = data.sqlite_case(tmp_path, data.Size(1000))
    api.propose(case.settings, data.write_plan(case, "PROP-BIG-1"), actor=data.PROPOSER)
    data.approve(case)
    assert containment.decide(case.settings).contained
    result = api.apply(case.settings)
    assert result.records == 6000
    assert api.status(case.settings).status.value == "APPLIED"
    assert api.verify(case.settings).ok
