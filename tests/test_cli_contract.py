"""The command line behaves as Unix tools do: --version, a closed pipe, Ctrl-C."""

from __future__ import annotations

import os
import subprocess
import sys

from govgate import __version__

from support.constants import NO_CONFIG

GOVGATE = [sys.executable, "-m", "govgate.cli"]


def test_version_prints_the_installed_version(gg):
    run = gg("--version")
    assert (run.code, run.out.strip()) == (0, f"govgate {__version__}")


def test_a_closed_pipe_ends_the_command_with_141_and_no_complaint(sqlite_lab):
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before govgate writes a line
    try:
        done = subprocess.run(
            [*GOVGATE, "--db", sqlite_lab.url, "gap"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            env={**os.environ, **NO_CONFIG},
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert done.returncode == 141
    assert done.stderr == b""


def test_ctrl_c_during_a_command_exits_130_and_says_nothing_changed(sqlite_lab, gg, monkeypatch):
    from govgate import api

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt  # what Ctrl-C raises wherever the command is

    monkeypatch.setattr(api, "status", interrupted)
    run = gg("--db", sqlite_lab.url, "status")
    assert run.code == 130
    assert "aborted; nothing was changed" in run.err


def test_status_exit_code_tells_each_word_apart(lab, gg):
    from support.labs import agent_args, ratify

    def code() -> int:
        return gg(*agent_args(lab), "status", "--exit-code").code

    assert code() == 1  # BLOCKED
    assert gg(*agent_args(lab), "status").code == 0  # without the flag: done
    ratify(lab)
    assert code() == 0  # READY
    assert gg(*agent_args(lab), "apply").code == 0
    assert code() == 4  # APPLIED
    lab.execute(
        "UPDATE os_accountability SET authority = 'GOV-DOT' "
        "WHERE collection = 'kg_entities' AND duty = 'ownership'"
    )
    assert code() == 5  # DRIFTED


def test_every_renderer_names_a_class_that_exists():
    # Renderers are registered by class name so that showing a result imports no other
    # command: a renamed or moved class must not fall back to str() in silence.
    import importlib

    from govgate import render

    for qualified in [*render.LINES, *render.JSON]:
        module, _, name = qualified.rpartition(".")
        assert isinstance(getattr(importlib.import_module(module), name), type), qualified


def test_status_loads_neither_the_web_nor_the_rehearsal_nor_the_demo_builder(sqlite_lab):
    # Start-up is most of a small command's time: `status` imports what the gate needs.
    code = (
        "import sys; from govgate.cli import main; code = main(['--db', sys.argv[1], 'status']); "
        "print(code, ' '.join(sorted(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, sqlite_lab.url],
        capture_output=True,
        text=True,
        env={**os.environ, **NO_CONFIG},
        timeout=60,
    )
    last = done.stdout.strip().splitlines()[-1].split()
    assert (last[0], "BLOCKED" in done.stdout) == ("0", True), done.stdout + done.stderr
    loaded = set(last[1:])
    for heavy in (
        "govgate.web",
        "govgate.ops.rehearse",
        "govgate.ops.demo",
        "govgate.runbook.apply",
        "govgate.runbook.rollback",
        "govgate.directus.bundle",
        "starlette",
        "jinja2",
        "alembic",
        "uvicorn",
    ):
        assert not any(m == heavy or m.startswith(heavy + ".") for m in loaded), heavy
