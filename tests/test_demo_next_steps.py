"""After `make demo` the next commands are said exactly, and they work (issue 16): the README's
lines at its top, the last lines of `make demo` and what `govgate demo` prints are the same
commands, naming the demo's approver (approver@oneroof.example) and the key the demo wrote; run
as written, on a terminal, they ratify, apply, report and roll back."""

from __future__ import annotations

import os
import re
import subprocess

from support.constants import GOVGATE, ROOT
from support.ptyrun import run_in_pty

APPROVER = "approver@oneroof.example"


def readme_next_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    top = text[: text.index("## ")]
    blocks = re.findall(r"```sh\n(.*?)```", top, re.S)
    assert blocks[0].splitlines()[0].startswith("make demo"), "make demo is no longer first"
    assert blocks[0].splitlines()[1].startswith("make test"), "make test is no longer second"
    return [line for line in blocks[1].splitlines() if line.strip()]


def clean_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVGATE_")}
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if not os.path.exists(f"{p}/govgate")
    )
    return env


def test_the_readme_names_the_demo_approver_and_make_demo_ends_with_the_same_commands():
    commands = readme_next_commands()
    assert commands == [
        f".venv/bin/govgate ratify PROP-AUTHMODEL-1 --as {APPROVER} "
        "--sign-key oneroof-demo-approver",
        ".venv/bin/govgate apply && .venv/bin/govgate report && .venv/bin/govgate rollback",
    ]
    planned = subprocess.run(
        ["make", "-n", "-C", str(ROOT), "demo"], capture_output=True, text=True, check=True
    ).stdout
    for command in commands:
        assert f'echo "  {command}"' in planned


def test_the_demo_prints_the_next_commands_and_they_work_as_written(tmp_path):
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "govgate").symlink_to(GOVGATE)
    env = clean_env()
    built = subprocess.run(
        [".venv/bin/govgate", "demo"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert built.returncode == 0, built.stderr
    commands = readme_next_commands()
    printed = [line.strip() for line in built.stdout.splitlines()]
    assert printed[-2:] == commands, built.stdout

    # as a person types them in a shell of their own: no GOVGATE_* setting of this test run
    fresh = "for v in $(compgen -e | grep ^GOVGATE_); do unset $v; done; cd " + str(tmp_path)
    ratified = run_in_pty(
        ["bash", "-c", f"{fresh} && {commands[0]}"],
        [("Type the approval id", "APR-BOOT-AUTHMODEL-1")],
        env=env,
    )
    assert ratified.code == 0, ratified.output
    assert f"approved by Amal (demo) <{APPROVER}>" in ratified.output
    story = run_in_pty(
        ["bash", "-c", f"{fresh} && {commands[1]}"], [("Remove them now?", "y")], env=env
    )
    text = re.sub(r"\x1b\[[0-9;]*m", "", story.output)
    assert story.code == 0, text
    assert "applied: rollout" in text and "Ownership gap: 210 before, 0 after." in text
    assert "ownership gap is back to 210" in text
