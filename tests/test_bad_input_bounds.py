"""Inputs past what any real one is: endless files, deep nesting, drivers govgate does not ship,
ports out of range, numbers that are not numbers. Each is exit 2 with a message naming where,
never the last-resort "unexpected error", and the database is left as it was."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from support.labs import snapshot


def _rows(url: str) -> dict:
    return snapshot(sa.create_engine(url))


def _plain(result) -> str:
    return " ".join((result.out + result.err).split())


def _refused_cleanly(result, *names: str) -> str:
    text = _plain(result)
    assert result.code == 2, text
    assert "unexpected" not in text and "Traceback" not in text
    for name in names:
        assert name in text, (name, text)
    return text


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_an_endless_plan_file_is_refused_by_its_size_and_changes_nothing(sqlite_lab, gg, device):
    before = _rows(sqlite_lab.url)
    result = gg("--db", sqlite_lab.url, "propose", device)
    _refused_cleanly(result, device, "16 MiB")
    assert _rows(sqlite_lab.url) == before


@pytest.mark.parametrize(
    "body, line",
    [
        ("proposal: " + "[" * 5000 + "]" * 5000 + "\n", 1),
        ("title: x\nassign: " + "{a: " * 500 + "1" + "}" * 500 + "\n", 2),
        ("".join(" " * i + "a:\n" for i in range(1000)) + " " * 1000 + "b\n", 65),
    ],
    ids=["flow-list", "flow-map", "block"],
)
def test_a_plan_nested_thousands_deep_is_refused_at_its_line(sqlite_lab, gg, tmp_path, body, line):
    plan = tmp_path / "deep.yaml"
    plan.write_text(body)
    result = gg("--db", sqlite_lab.url, "propose", str(plan))
    _refused_cleanly(result, f"{plan}:{line}", "nested more than 64 levels")


def test_a_config_file_nested_thousands_deep_is_refused_naming_file_and_line(
    sqlite_lab, gg, tmp_path
):
    config = tmp_path / "govgate.toml"
    config.write_text("[agent]\nidentity = " + "[" * 5000 + "]" * 5000 + "\n")
    result = gg("--config", str(config), "--db", sqlite_lab.url, "status")
    _refused_cleanly(result, f"{config}:2", "nested too deeply")


def test_an_endless_config_or_checkpoint_file_is_refused_by_its_size(sqlite_lab, gg):
    _refused_cleanly(gg("--config", "/dev/zero", "--db", sqlite_lab.url, "status"), "/dev/zero")
    result = gg("--db", sqlite_lab.url, "audit", "verify", "--checkpoint", "/dev/zero")
    _refused_cleanly(result, "/dev/zero", "larger than")


@pytest.mark.parametrize(
    "url, names",
    [
        ("postgresql+asyncpg://u:s3cret@127.0.0.1/x", ["asyncpg", "not installed"]),
        ("postgresql+psycopg2://u:s3cret@127.0.0.1/x", ["psycopg2"]),
        ("mysql+mysqldb://u:s3cret@127.0.0.1/x", ["mysqldb"]),
        ("mariadb+mariadbconnector://u:s3cret@127.0.0.1/x", ["mariadbconnector"]),
        ("oracle+oracledb://u:s3cret@127.0.0.1/x", ["oracle", "not a database govgate supports"]),
        ("postgresql+psycopg://u:s3cret@127.0.0.1:abc/x", ["port", "not a number"]),
        ("postgresql+psycopg://u:s3cret@127.0.0.1:-1/x", ["port -1", "1 to 65535"]),
        ("postgresql+psycopg://u:s3cret@127.0.0.1:99999/x", ["port 99999", "1 to 65535"]),
        ("sqlite:///:memory:", ["in-memory"]),
    ],
)
def test_a_database_url_govgate_cannot_use_is_bad_input_naming_why_and_where(gg, url, names):
    by_option = _refused_cleanly(gg("--db", url, "status"), *names)
    assert "s3cret" not in by_option


@pytest.mark.parametrize("url", ["postgresql+asyncpg://u:s3cret@127.0.0.1/x", "sqlite://"])
def test_a_bad_url_in_the_environment_names_the_variable(gg, monkeypatch, url):
    monkeypatch.setenv("GOVGATE_DB", url)
    text = _refused_cleanly(gg("status"), "GOVGATE_DB")
    assert "s3cret" not in text


def test_an_empty_port_means_the_default_port_as_libpq_reads_it(gg):
    result = gg("--db", "postgresql+psycopg://u:s3cret@127.0.0.1:/x?connect_timeout=1", "status")
    # the URL is well-formed: what fails is reaching a server that is not there (exit 3)
    assert result.code in (3,), _plain(result)
    assert "127.0.0.1" in result.err and "unexpected" not in result.err


@pytest.mark.parametrize("limit", ["-5", "0", "9" * 30, "\u0661\u0662", "\uff11\uff12", "abc"])
def test_audit_limit_takes_only_a_whole_number_from_one(sqlite_lab, gg, limit):
    _refused_cleanly(gg("--db", sqlite_lab.url, "audit", "--limit", limit), "--limit")


def test_audit_limit_shows_that_many_newest_events(sqlite_lab, gg):
    result = gg("--db", sqlite_lab.url, "audit", "--limit", "1", "--json")
    assert result.code == 0
    assert '"events"' in result.out


@pytest.mark.parametrize("interval", ["nan", "inf", "-inf", "0", "-1", "0.01", "abc"])
def test_the_agent_interval_must_be_a_finite_number_of_seconds(sqlite_lab, gg, interval):
    before = _rows(sqlite_lab.url)
    result = gg("--db", sqlite_lab.url, "agent", "--once", "--interval", interval)
    _refused_cleanly(result, "--interval")
    assert _rows(sqlite_lab.url) == before
