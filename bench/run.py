"""Benchmarks: how long the rollout, the rollback and the rehearsal take, on SQLite and PostgreSQL.

Prints a table. Each figure is the median of --repeat runs; the last column
compares each operation with `status` measured in the same run, because these
machines are noisy and only ratios from one run are comparable.

    python bench/run.py [--repeat 5] [--rows 5,2400] [--no-postgres]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from govgate import api
from govgate.config import Settings

APPROVER = "approver@oneroof.example"


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def approve(settings: Settings) -> None:
    """A human ratifies the current proposal, as if typing the approval id at the prompt."""
    pid = api.status(settings).proposal_id
    api.ratify(settings, pid, approver=APPROVER, confirm=lambda r: r.approval_id, interactive=True)


def measure(settings: Settings, repeat: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {
        k: [] for k in ("status", "apply", "verify", "rollback", "rehearse")
    }
    for _ in range(repeat):
        samples["status"].append(timed(lambda: api.status(settings)))
        approve(settings)
        samples["apply"].append(timed(lambda: api.apply(settings)))
        samples["verify"].append(timed(lambda: api.verify(settings)))
        samples["rollback"].append(timed(lambda: api.rollback(settings)))
        samples["rehearse"].append(timed(lambda: api.rehearse(settings)))
    return {k: statistics.median(v) for k, v in samples.items()}


def sqlite_case(rows: int, folder: str) -> tuple[Settings, float]:
    path = os.path.join(folder, f"bench-{rows}.db")
    build = timed(lambda: api.demo(Settings(), path, actor="bench", rows_per_table=rows))
    return Settings(db_url=f"sqlite:///{path}"), build


def postgres_case(cluster, rows: int) -> tuple[Settings, float]:
    from support.pgcluster import fresh_database_name

    name = fresh_database_name("bench")
    url = cluster.create_database(name)
    settings = Settings(db_url=url)
    build = timed(lambda: api.demo(settings, actor="bench", rows_per_table=rows))
    api.init(settings, actor="bench", roles=True)
    login = f"bench_agent_{name[-6:]}"
    cluster.admin_execute(f"CREATE ROLE {login} LOGIN IN ROLE govgate_agent")
    return Settings(db_url=url, agent_db_url=cluster.url(name, user=login)), build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rows", default="5,2400", help="sample rows per app table (42 tables)")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    sizes = [int(x) for x in args.rows.split(",")]
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for rows in sizes:
            settings, build = sqlite_case(rows, folder)
            results.append(("sqlite", rows * 42, build, measure(settings, args.repeat)))
        if not args.no_postgres:
            from support.pgcluster import PgCluster

            with PgCluster() as cluster:
                for rows in sizes:
                    settings, build = postgres_case(cluster, rows)
                    results.append(("postgresql", rows * 42, build, measure(settings, args.repeat)))
    print(
        f"{'database':<11} {'app rows':>9} {'demo':>9} {'status':>8} {'apply':>8} {'verify':>8} "
        f"{'rollback':>9} {'rehearse':>9}  {'apply/status':>12} {'rehearse/apply':>14}"
    )
    for db, rows, build, m in results:
        print(
            f"{db:<11} {rows:>9,} {build:>7.0f}ms {m['status']:>6.0f}ms {m['apply']:>6.0f}ms "
            f"{m['verify']:>6.0f}ms {m['rollback']:>7.0f}ms {m['rehearse']:>7.0f}ms  "
            f"{m['apply'] / m['status']:>12.1f} {m['rehearse'] / m['apply']:>14.1f}"
        )
    print(
        f"\nmedian of {args.repeat} runs; python {sys.version.split()[0]}, {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
