"""The one transaction helper pauses Python's cyclic garbage collector while a transaction
runs (issue 14: its passes over a rollout's tuples were a third of the work) and gives it
back exactly as it found it: a process that embeds govgate (the page, the agent, a caller's
own program) must never be left without its collector, or with one it had turned off.
"""

from __future__ import annotations

import gc
import threading

import pytest

from govgate.db.engine import Mode
from govgate.db.session import session, transaction


@pytest.fixture
def url(tmp_path):
    return f"sqlite:///{tmp_path / 'plain.db'}"


@pytest.fixture(autouse=True)
def _collector_back_on():
    yield
    gc.enable()


def test_a_transaction_pauses_the_collector_and_turns_it_back_on_when_it_ends(url):
    assert gc.isenabled()
    with session(url, create=True) as conn:
        assert not gc.isenabled()
        conn.exec_driver_sql("CREATE TABLE t (n INTEGER)")
    assert gc.isenabled()


def test_the_collector_comes_back_after_a_transaction_that_failed_and_rolled_back(url):
    with session(url, create=True) as conn:
        conn.exec_driver_sql("CREATE TABLE t (n INTEGER)")
    with pytest.raises(RuntimeError, match="stopped"), session(url) as conn:
        conn.exec_driver_sql("INSERT INTO t (n) VALUES (1)")
        raise RuntimeError("stopped halfway")
    assert gc.isenabled()
    with session(url, Mode.READ) as conn:  # and the rollback really happened
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0


def test_a_collector_the_caller_turned_off_stays_off(url):
    gc.disable()
    with session(url, create=True):
        pass
    assert not gc.isenabled()


def test_overlapping_transactions_in_threads_give_the_collector_back_only_when_the_last_ends(
    url,
):
    with session(url, create=True) as conn:
        conn.exec_driver_sql("CREATE TABLE t (n INTEGER)")
    inside, release = threading.Event(), threading.Event()

    def reader() -> None:
        with session(url, Mode.READ):
            inside.set()
            release.wait(10)

    worker = threading.Thread(target=reader)
    worker.start()
    assert inside.wait(10)
    with session(url, Mode.READ):
        pass
    assert not gc.isenabled()  # the other thread's transaction still runs
    release.set()
    worker.join(10)
    assert gc.isenabled()


def test_nested_transactions_on_two_engines_restore_the_collector_once_both_end(url, tmp_path):
    other = f"sqlite:///{tmp_path / 'other.db'}"
    with session(url, create=True) as outer:
        with transaction(outer.engine, Mode.READ):
            assert not gc.isenabled()
        with session(other, create=True):
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


# The command line (cli.collector): a one-shot command runs without the collector (its
# process ends within seconds) and gives it back as found to a process that embeds it; the
# long-running `agent` turns it on for itself.


def _demo(tmp_path) -> str:
    from govgate import api
    from govgate.config import Settings

    path = tmp_path / "demo.db"
    api.demo(Settings(), str(path), actor="test-builder")
    return f"sqlite:///{path}"


def test_a_one_shot_command_runs_without_the_collector_and_gives_it_back(gg, tmp_path, monkeypatch):
    from govgate import api

    url, seen, real = _demo(tmp_path), [], api.status

    def status(*args, **kwargs):
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(api, "status", status)
    gc.set_threshold(700, 10, 10)
    result = gg("--db", url, "status")
    assert (result.code, result.out.strip(), seen) == (0, "BLOCKED", [False])
    assert gc.isenabled() and gc.get_threshold() == (700, 10, 10)


def test_the_agent_collects_cycles_while_it_runs(gg, tmp_path, monkeypatch):
    import govgate.agent

    url, seen, real = _demo(tmp_path), [], govgate.agent.run

    def run(*args, **kwargs):
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(govgate.agent, "run", run)
    result = gg("--db", url, "agent", "--once")
    assert (result.code, seen) == (1, [True])  # the demo's gate is BLOCKED
    assert gc.isenabled()
