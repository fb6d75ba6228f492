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
