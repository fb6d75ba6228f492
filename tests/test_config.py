"""Configuration fails loudly (issue 11, "Chain of custody").

A configuration file that is named but missing, a directory or unreadable, a value of the
wrong type, an unknown section or key, or an environment variable with a bad value: each
ends in exit 2 through the real command line, naming the file and line (or the variable)
and what is expected, with no traceback and nothing changed in the database. Before, a
missing file ran on the defaults (the agent's own Directus user unnamed, so its approvals
counted again), `enabled = "no"` read as true, and `report_dir = [1]` failed only after
the rollout had committed. `[directus] enabled = false` cannot switch provenance off on a
Directus database.
"""

from __future__ import annotations

import dataclasses
import socket
import textwrap

import pytest
from pydantic import ValidationError

from govgate import api
from govgate.config import Settings, check_against, load_settings
from govgate.directus.identity import is_directus
from govgate.errors import BadInput

from support.labs import ratify


@pytest.fixture(autouse=True)
def no_outside_configuration(monkeypatch, tmp_path):
    """Each test starts in an empty folder with no GOVGATE_* variable set."""
    monkeypatch.chdir(tmp_path)
    for name in [
        "GOVGATE_CONFIG",
        "GOVGATE_DB",
        "GOVGATE_AGENT_DB",
        "GOVGATE_AGENT_IDENTITY",
        "GOVGATE_DIRECTUS_AGENT_USER",
        "GOVGATE_DIRECTUS_URL",
        "GOVGATE_DIRECTUS_TOKEN",
        "GOVGATE_REPORT_DIR",
    ]:
        monkeypatch.delenv(name, raising=False)


def toml(tmp_path, text: str, name: str = "govgate.toml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def a_new_plan(lab, tmp_path) -> str:
    """A valid plan that `propose` would freeze: a command that writes when it runs."""
    demo = api.proposal(lab.settings)
    assign = "\n".join(f"  {a}: [{', '.join(c)}]" for a, c in demo.by_authority().items())
    path = tmp_path / "plan.yaml"
    path.write_text(
        f"proposal: {demo.id}-CONFIG\napproval: {demo.approval_id}-CONFIG\n"
        f"title: {demo.title}\nprotected: [{', '.join(demo.protected)}]\nassign:\n{assign}\n"
    )
    return str(path)


def refused(lab, gg, args: list[str], *phrases: str):
    """Run ARGS; assert exit 2 naming every phrase, no traceback, and nothing written."""
    before = lab.snapshot()
    result = gg(*args)
    assert result.code == 2, (result.out, result.err)
    for phrase in phrases:
        assert phrase in result.err, f"{phrase!r} not in:\n{result.err}"
    assert "Traceback" not in result.err + result.out
    assert lab.snapshot() == before
    return result


def test_a_config_file_named_by_the_option_that_does_not_exist_is_refused_naming_both(
    sqlite_lab, gg, tmp_path
):
    missing = str(tmp_path / "nowhere" / "govgate.toml")
    plan = a_new_plan(sqlite_lab, tmp_path)
    refused(
        sqlite_lab,
        gg,
        ["--config", missing, "--db", sqlite_lab.url, "propose", plan],
        missing,
        "--config",
        "does not exist",
    )


def test_a_config_file_named_by_govgate_config_that_does_not_exist_is_refused_naming_both(
    sqlite_lab, gg, tmp_path, monkeypatch
):
    missing = str(tmp_path / "absent.toml")
    monkeypatch.setenv("GOVGATE_CONFIG", missing)
    plan = a_new_plan(sqlite_lab, tmp_path)
    refused(
        sqlite_lab,
        gg,
        ["--db", sqlite_lab.url, "propose", plan],
        missing,
        "GOVGATE_CONFIG",
        "does not exist",
    )


def test_a_config_file_that_is_a_directory_is_refused(sqlite_lab, gg, tmp_path, monkeypatch):
    folder = tmp_path / "conf.d"
    folder.mkdir()
    monkeypatch.setenv("GOVGATE_CONFIG", str(folder))
    plan = a_new_plan(sqlite_lab, tmp_path)
    refused(
        sqlite_lab,
        gg,
        ["--db", sqlite_lab.url, "propose", plan],
        str(folder),
        "GOVGATE_CONFIG",
        "is a directory, not a file",
    )


def test_a_config_file_that_cannot_be_read_is_refused(sqlite_lab, gg, tmp_path):
    unreadable = tmp_path / "socket.toml"  # a socket: even root cannot read it as a file
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(unreadable))
    try:
        refused(
            sqlite_lab,
            gg,
            ["--config", str(unreadable), "--db", sqlite_lab.url, "status"],
            str(unreadable),
            "--config",
            "cannot be read",
        )
    finally:
        server.close()


def test_a_config_file_that_is_not_toml_is_refused_with_its_line(sqlite_lab, gg, tmp_path):
    path = toml(tmp_path, '[agent]\nidentity = "bot"\n[directus\n')
    refused(
        sqlite_lab, gg, ["--config", path, "--db", sqlite_lab.url, "status"], f"{path}:3:", "TOML"
    )


def test_enabled_no_as_a_string_is_refused_not_read_as_true(sqlite_lab, gg, tmp_path):
    path = toml(
        tmp_path,
        """\
        # the local Directus
        [directus]
        url = "http://127.0.0.1:8055"
        enabled = "no"
        """,
    )
    refused(
        sqlite_lab,
        gg,
        ["--config", path, "--db", sqlite_lab.url, "propose", a_new_plan(sqlite_lab, tmp_path)],
        f"{path}:4:",
        "[directus] enabled",
        "expected true or false",
        'got "no" (a string)',
    )


@pytest.mark.parametrize(
    ("value", "got"), [('"abc"', '"abc" (a string)'), ("-1", "-1 (an integer)"), ("0", "0")]
)
def test_an_interval_that_is_not_a_positive_number_of_seconds_is_refused(
    sqlite_lab, gg, tmp_path, value, got
):
    path = toml(tmp_path, f'[agent]\nidentity = "bot"\n\ninterval = {value}\n')
    refused(
        sqlite_lab,
        gg,
        ["--config", path, "--db", sqlite_lab.url, "agent", "--once"],
        f"{path}:4:",
        "[agent] interval",
        "expected a number of seconds, at least 0.05",
        f"got {got}",
    )


def test_a_report_dir_that_is_not_a_string_is_refused_before_the_rollout_runs(lab, gg, tmp_path):
    ratify(lab)
    assert api.status(lab.settings).status.value == "READY"
    path = toml(tmp_path, "[agent]\nreport_dir = [1]\n")
    refused(
        lab,
        gg,
        [
            "--config",
            path,
            "--db",
            lab.url,
            "--agent-db",
            lab.settings.agent_url,
            "agent",
            "--once",
        ],
        f"{path}:2:",
        "[agent] report_dir",
        "got [1] (an array)",
    )
    assert api.status(lab.settings).status.value == "READY"  # nothing ran
    assert not (tmp_path / "1").exists()


def test_unknown_sections_and_keys_are_refused_each_with_its_line(sqlite_lab, gg, tmp_path):
    path = toml(
        tmp_path,
        """\
        [database]
        url = "sqlite:///elsewhere.db"

        [agent]
        identitty = "bot"

        [directus]
        token = "secret"

        [databse]
        url = "sqlite:///x.db"
        """,
    )
    result = refused(
        sqlite_lab,
        gg,
        ["--config", path, "--db", sqlite_lab.url, "status"],
        f"{path}:5: unknown key 'identitty' in [agent]",
        f"{path}:8: unknown key 'token' in [directus]",
        "GOVGATE_DIRECTUS_TOKEN",
        f"{path}:10: unknown section [databse]",
    )
    assert "secret" not in result.err


def test_a_database_url_that_does_not_parse_is_refused_without_echoing_it(sqlite_lab, gg, tmp_path):
    path = toml(tmp_path, '[agent]\ndb = "postgresql+psycopg://agent:hunter2@::bad"\n')
    refused(
        sqlite_lab,
        gg,
        ["--config", path, "--db", sqlite_lab.url, "status"],
        f"{path}:2:",
        "[agent] db",
        "expected a database URL",
    )
    result = gg("--config", path, "--db", sqlite_lab.url, "status")
    assert "hunter2" not in result.err


def test_environment_variables_with_bad_values_are_refused_naming_the_variable(
    sqlite_lab, gg, monkeypatch
):
    monkeypatch.setenv("GOVGATE_DIRECTUS_URL", "ftp://127.0.0.1:8055")
    refused(
        sqlite_lab,
        gg,
        ["--db", sqlite_lab.url, "status"],
        "environment variable GOVGATE_DIRECTUS_URL",
        "expected an http(s) URL",
    )
    monkeypatch.delenv("GOVGATE_DIRECTUS_URL")
    monkeypatch.setenv("GOVGATE_DB", "::not a url")
    refused(sqlite_lab, gg, ["status"], "environment variable GOVGATE_DB", "database URL")


def test_without_a_named_file_the_current_folders_govgate_toml_is_optional(
    sqlite_lab, gg, tmp_path
):
    assert load_settings(env={}) == Settings()
    assert gg("--db", sqlite_lab.url, "status").code == 0
    toml(tmp_path, '[agent]\ninterval = "soon"\n')  # present: it must be right
    refused(sqlite_lab, gg, ["--db", sqlite_lab.url, "status"], "govgate.toml:2:", "interval")


def test_a_correct_file_is_read_with_its_types_and_the_environment_wins(tmp_path):
    path = toml(
        tmp_path,
        """\
        [database]
        url = "sqlite:///main.db"
        [agent]
        identity = "robot"
        interval = 3
        report_dir = "reports"
        [directus]
        enabled = true
        """,
    )
    settings = load_settings(path, env={"GOVGATE_AGENT_IDENTITY": "env-robot"})
    assert settings.agent_interval == 3.0 and isinstance(settings.agent_interval, float)
    assert settings.directus is True
    assert (settings.db_url, settings.agent_identity, settings.report_dir, settings.source) == (
        "sqlite:///main.db",
        "env-robot",
        "reports",
        path,
    )
    assert load_settings(env={"GOVGATE_CONFIG": "/dev/null"}) == Settings(source="/dev/null")


def test_settings_are_a_frozen_typed_value(tmp_path):
    with pytest.raises(ValidationError):
        Settings(agent_interval="abc")
    with pytest.raises(ValidationError):
        Settings(directus="no")
    settings = Settings(db_url="sqlite:///a.db")
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.db_url = "sqlite:///b.db"
    moved = dataclasses.replace(settings, report_dir="elsewhere").with_db("sqlite:///b.db")
    assert (moved.db_url, moved.agent_url, moved.report_dir) == (
        "sqlite:///b.db",
        "sqlite:///b.db",
        "elsewhere",
    )


def test_directus_enabled_false_is_refused_on_a_database_with_directus_tables(sqlite_lab, tmp_path):
    settings = load_settings(toml(tmp_path, "[directus]\nenabled = false\n"), env={})
    engine = sqlite_lab.engine()
    try:
        with engine.connect() as conn:
            directus = is_directus(conn)
    finally:
        engine.dispose()
    assert directus  # the demo is One-Roof's Directus database
    with pytest.raises(BadInput) as refusal:
        check_against(settings, directus)
    assert "[directus] enabled = false" in refusal.value.message
    assert settings.source in refusal.value.message
    check_against(settings, False)  # a plain SQL database: nothing to switch off
    check_against(Settings(), True)  # detected: provenance on
    check_against(dataclasses.replace(settings, directus=True), True)


def test_every_command_refuses_to_switch_provenance_off_on_a_directus_database(
    sqlite_lab, gg, tmp_path
):
    config = toml(tmp_path, "[directus]\nenabled = false\n")
    before = sqlite_lab.snapshot()
    for command in (("status", "--why"), ("apply",)):
        run = gg("--config", config, "--db", sqlite_lab.url, *command)
        assert run.code == 2, (command, run.err)
        assert "provenance cannot be switched off" in run.err
        assert "Traceback" not in run.err
    assert sqlite_lab.snapshot() == before
