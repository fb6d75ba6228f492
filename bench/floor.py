"""The floor: the same accountability rows written with nothing around them.

PostgreSQL: COPY into os_accountability in one transaction, in-process (psycopg's COPY) and as a
process (`psql --single-transaction -c "\\copy ... FROM pstdin"`, the rows on its stdin).
SQLite: one executemany in one transaction with the sqlite3 module, in-process and as a fresh
Python process. Nothing is checked, nothing journaled: no rollout can be faster than this.
Each write is followed by a delete of the same rows in one transaction (timed in-process: the
floor of a rollback), so the database is back at the gap.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time

import psycopg
from sqlalchemy.engine import make_url

MARKER = "FLOOR-BENCH"
COLUMNS = "os_accountability (collection, duty, authority, rollout_id)"
_SQLITE_INSERT = f"INSERT INTO {COLUMNS} VALUES (?, ?, ?, ?)"
_SQLITE_CHILD = (
    "import sqlite3, sys\n"
    "rows = [line.rstrip('\\n').split('\\t') for line in sys.stdin]\n"
    "db = sqlite3.connect(sys.argv[1])\n"
    "with db:\n"
    f"    db.executemany({_SQLITE_INSERT!r}, rows)\n"
    "db.close()\n"
)


def _tsv(rows: list[tuple]) -> str:
    return "".join(f"{c}\t{d}\t{a}\t{MARKER}\n" for c, d, a in rows)


def _pg_conninfo(url: str) -> dict:
    u = make_url(url)
    return {"host": u.host, "port": u.port, "user": u.username, "dbname": u.database}


def delete(url: str) -> float:
    """Milliseconds to connect, delete the floor's rows in one transaction and commit."""
    sql = f"DELETE FROM os_accountability WHERE rollout_id = '{MARKER}'"
    u = make_url(url)
    start = time.perf_counter()
    if u.get_backend_name() == "sqlite":
        db = sqlite3.connect(u.database)
        with db:
            db.execute(sql)
        db.close()
    else:
        with psycopg.connect(**_pg_conninfo(url)) as conn:
            conn.execute(sql)
            conn.commit()
    return (time.perf_counter() - start) * 1000


def _count(url: str) -> int:
    sql = f"SELECT COUNT(*) FROM os_accountability WHERE rollout_id = '{MARKER}'"
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        db = sqlite3.connect(u.database)
        n = db.execute(sql).fetchone()[0]
        db.close()
        return n
    with psycopg.connect(**_pg_conninfo(url)) as conn:
        return conn.execute(sql).fetchone()[0]


def pg_in_process(url: str, rows: list[tuple]) -> float:
    """Milliseconds to connect, COPY ROWS and commit with psycopg."""
    start = time.perf_counter()
    with psycopg.connect(**_pg_conninfo(url)) as conn:
        with conn.cursor() as cur, cur.copy(f"COPY {COLUMNS} FROM STDIN") as copy:
            for c, d, a in rows:
                copy.write_row((c, d, a, MARKER))
        conn.commit()
    return (time.perf_counter() - start) * 1000


def pg_process(url: str, rows: list[tuple]) -> float:
    """Milliseconds of `psql --single-transaction -c '\\copy ... FROM pstdin'` (rows on stdin)."""
    info = _pg_conninfo(url)
    command = [
        "psql",
        "-X",
        "-q",
        "--single-transaction",
        "-v",
        "ON_ERROR_STOP=1",
        *("-h", info["host"], "-p", str(info["port"]), "-U", info["user"], "-d", info["dbname"]),
        "-c",
        f"\\copy {COLUMNS} FROM pstdin",
    ]
    data = _tsv(rows)
    start = time.perf_counter()
    done = subprocess.run(command, input=data, capture_output=True, text=True, check=False)
    elapsed = (time.perf_counter() - start) * 1000
    if done.returncode != 0:
        raise RuntimeError(f"psql \\copy failed: {done.stderr}")
    return elapsed


def sqlite_in_process(url: str, rows: list[tuple]) -> float:
    """Milliseconds to connect, executemany ROWS in one transaction and commit."""
    path = make_url(url).database
    start = time.perf_counter()
    db = sqlite3.connect(path)
    with db:
        db.executemany(_SQLITE_INSERT, [(c, d, a, MARKER) for c, d, a in rows])
    db.close()
    return (time.perf_counter() - start) * 1000


def sqlite_process(url: str, rows: list[tuple]) -> float:
    """Milliseconds of a fresh Python process doing the same executemany (rows on stdin)."""
    data = _tsv(rows)
    command = [sys.executable, "-I", "-c", _SQLITE_CHILD, make_url(url).database]
    start = time.perf_counter()
    done = subprocess.run(command, input=data, capture_output=True, text=True, check=False)
    elapsed = (time.perf_counter() - start) * 1000
    if done.returncode != 0:
        raise RuntimeError(f"sqlite3 executemany process failed: {done.stderr}")
    return elapsed


def one_round(url: str, rows: list[tuple], samples: dict[str, list[float]]) -> None:
    """The floor once in-process and once as a process, each followed by its delete (timed
    in-process: the floor of a rollback); appends milliseconds to SAMPLES (`floor`, `floor_cli`,
    `floor_delete`)."""
    sqlite = make_url(url).get_backend_name() == "sqlite"
    inproc, proc = (sqlite_in_process, sqlite_process) if sqlite else (pg_in_process, pg_process)
    for key, fn in (("floor", inproc), ("floor_cli", proc)):
        samples.setdefault(key, []).append(fn(url, rows))
        if _count(url) != len(rows):
            raise RuntimeError(f"the floor ({key}) did not write {len(rows)} rows")
        samples.setdefault("floor_delete", []).append(delete(url))
