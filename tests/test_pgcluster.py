"""support/pgcluster.py: the throwaway PostgreSQL cluster of the suite, against a real server."""

from __future__ import annotations

import os

import psycopg
import pytest

from support.pgcluster import PgCluster, fresh_database_name

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def cluster():
    with PgCluster() as c:
        yield c


def _query(cluster: PgCluster, sql: str, database: str = "postgres"):
    with psycopg.connect(
        host=cluster.host, port=cluster.port, user="postgres", dbname=database
    ) as conn:
        return conn.execute(sql).fetchall()


def test_a_started_cluster_answers_select_1(cluster):
    assert cluster.is_running()
    assert _query(cluster, "select 1") == [(1,)]
    assert cluster.url().startswith(f"postgresql+psycopg://postgres@127.0.0.1:{cluster.port}/")


def test_create_database_and_drop_database_work(cluster):
    name = fresh_database_name()
    assert name == name.lower() and name != fresh_database_name()
    url = cluster.create_database(name)
    assert url == cluster.url(name)
    with psycopg.connect(
        host=cluster.host, port=cluster.port, user="postgres", dbname=name, autocommit=True
    ) as held_open:
        assert held_open.execute("select current_database()").fetchone() == (name,)
        cluster.drop_database(name)  # WITH (FORCE) terminates the open connection
        with pytest.raises(psycopg.OperationalError):
            held_open.execute("select 1")
    assert _query(cluster, f"select 1 from pg_database where datname = '{name}'") == []


def test_kill_then_start_keeps_data_created_before(cluster):
    name = fresh_database_name()
    cluster.create_database(name)
    cluster.admin_execute("create table t (x int); insert into t values (42)", database=name)
    port = cluster.port

    cluster.kill()
    assert not cluster.is_running()
    with pytest.raises(psycopg.OperationalError):
        _query(cluster, "select 1")

    cluster.start()
    assert cluster.port == port
    assert _query(cluster, "select x from t", database=name) == [(42,)]
    cluster.drop_database(name)


def test_stop_removes_the_directory():
    c = PgCluster().start()
    datadir = c.datadir
    assert os.path.isdir(datadir)
    c.stop()
    assert not c.is_running()
    assert not os.path.exists(os.path.dirname(datadir))
    c.stop()  # idempotent
