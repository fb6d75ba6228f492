"""Benchmark: govgate's runbook against Sqitch, the COPY floor and Directus's REST API (issue #14).

For each database (SQLite, PostgreSQL) and size (governed collections x 6 duties), it times
`propose`, `status`, `apply` (verification included), `verify`, `rollback` and `rehearse`
in-process (`api.*`) and as CLI processes; the floor (the same rows in one COPY / executemany
transaction, in-process and as a process); Sqitch deploying (--verify), checking and reverting
the same rows; and, at the demo's size, Directus's REST API creating them in the lab. Each figure
is the median of --repeat runs. It prints one table row per database x size x operation with
the ratios measured in the same run (absolute times on shared machines are noisy; ratios are what
matter), checks them against the issue's targets, profiles `status` and `apply` at the largest
PostgreSQL size, writes bench/results.json and draws the cost curve as bench/curve.png.

    python bench/run.py [--repeat 3] [--sizes 35,1000,10000] [--no-postgres] [--no-sqitch]
                        [--no-directus] [--no-profile] [--quick]

A size is N (collections, 6 duties) or NxD (e.g. 10000x4: 40,000 slots).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

import curve  # noqa: E402
import data  # noqa: E402
import directus_rest  # noqa: E402
import floor  # noqa: E402
import measure  # noqa: E402
import report  # noqa: E402
import sqitch  # noqa: E402


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def medians(samples: dict[str, list[float]]) -> dict[str, float]:
    return {k: statistics.median(v) for k, v in samples.items() if v}


def run_case(case: data.Case, args, first: bool) -> dict:
    """Everything measured on one case, round by round: govgate, the floor, Sqitch. FIRST: the
    database's first case, which warms up first."""
    say(f"{case.db} {case.size.label} ({case.size.slots:,} slots)")
    rows = data.expected_rows(case.size)
    baselines = [("floor", lambda samples: floor.one_round(case.url, rows, samples))]
    if not args.no_sqitch:
        say("  sqitch: project, untimed deploy and revert")
        baselines.append(("sqitch", sqitch.prepare(case.folder / "sqitch", case.url, rows)))
    samples = measure.measure(case, args.repeat, baselines, say, warm_up=first)
    return {
        "db": case.db,
        "label": f"{case.size.collections:,}×{case.size.duties}",
        "collections": case.size.collections,
        "duties": case.size.duties,
        "slots": case.size.slots,
        "ms": medians(samples),
        "samples_ms": samples,
    }


def run_sqlite(root: Path, sizes, args) -> list[dict]:
    return [
        run_case(data.sqlite_case(root, size), args, first=n == 0) for n, size in enumerate(sizes)
    ]


def run_postgres(root: Path, sizes, args) -> tuple[list[dict], dict, str]:
    from support.pgcluster import PgCluster

    out, profiles = [], {}
    with PgCluster() as cluster:
        version = _pg_version(cluster)
        cases = []
        for n, size in enumerate(sizes):
            cases.append(data.postgres_case(root, cluster, size))
            out.append(run_case(cases[-1], args, first=n == 0))
        if not args.no_profile:
            say(f"postgresql {cases[-1].size.label}: profile of status and apply")
            profiles = measure.profile(cases[-1])
            profiles["CLI imports"] = measure.import_profile()
    return out, profiles, version


def _pg_version(cluster) -> str:
    import psycopg

    with psycopg.connect(host=cluster.host, port=cluster.port, user="postgres") as conn:
        return conn.execute("SHOW server_version").fetchone()[0]


def machine() -> dict:
    mem = next(
        (int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal")),
        0,
    )
    head = subprocess.run(
        ["git", "-C", str(HERE.parent), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "cores": os.cpu_count(),
        "memory_gib": round(mem / 1024 / 1024, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "git_head": head,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    parser.add_argument(
        "--sizes",
        default=None,
        help="governed collections, N or NxD (D duties); default 35,1000,10000 (--quick: 35,1000)",
    )
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqitch", action="store_true")
    parser.add_argument("--no-directus", action="store_true", help="skip the Directus REST lab")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="one run, no Directus lab, sizes 35,1000 unless --sizes",
    )
    parser.add_argument("--json", default=str(HERE / "results.json"), help="results file")
    parser.add_argument("--png", default=str(HERE / "curve.png"), help="cost curve")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.repeat, args.no_directus = args.sizes or "35,1000", 1, True
    args.sizes = args.sizes or "35,1000,10000"
    args.size_list = sorted(
        (data.Size.parse(x) for x in args.sizes.split(",")), key=lambda s: (s.slots, s.duties)
    )
    return args


def main() -> None:
    args = parse_args()
    info = machine()
    notes = []
    if not args.no_sqitch:
        why = sqitch.ensure_installed(say)
        if why:
            notes.append(f"Sqitch skipped: {why}")
            args.no_sqitch = True
        else:
            info["sqitch"] = sqitch.version()
    results, profiles = [], {}
    with tempfile.TemporaryDirectory(prefix="govgate-bench-") as folder:
        root = Path(folder)
        results += run_sqlite(root, args.size_list, args)
        if not args.no_postgres:
            pg, profiles, info["postgresql"] = run_postgres(root, args.size_list, args)
            results += pg
    info["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    directus_note = _directus(results, args)
    if directus_note:
        notes.append(directus_note)
    table_rows = report.rows(results)
    checks = report.targets(results)
    print(f"\ngovgate benchmark — {info['date']}; median of {args.repeat} runs")
    print(
        f"machine: {info['cores']} cores, {info['memory_gib']} GiB, {info['os']}; python "
        f"{info['python']}, sqlite {info['sqlite']}, postgresql {info.get('postgresql', '—')}, "
        f"{info.get('sqitch', 'no sqitch')}; git {info['git_head']}"
    )
    print(f"command: {info['command']}")
    print(
        f"load average (1, 5, 15 min) at start {info['load_average_at_start']}, "
        f"at end {info['load_average_at_end']}\n"
    )
    print(report.table(table_rows))
    print("\ntargets (issue #14):")
    print(report.targets_text(checks))
    extra = report.comparisons(results)
    if extra:
        print("\ncomparisons:\n" + "\n".join(extra))
    for line in notes:
        print(f"note: {line}")
    where = f"postgresql {args.size_list[-1].label}"
    for name, text in profiles.items():
        title = name if name == "CLI imports" else f"cProfile, in-process {name}, {where}"
        print(f"\n{title}:\n{text}")
    panels, ticks = report.curve_series(results)
    curve.draw(args.png, panels, ticks)
    with open(args.json, "w") as out:
        json.dump(
            {
                "machine": info,
                "repeat": args.repeat,
                "results": results,
                "table": table_rows,
                "targets": checks,
                "notes": notes,
                "profiles": profiles,
            },
            out,
            indent=1,
            ensure_ascii=False,
        )
    print(f"\nwrote {args.json} and {args.png}")


def _directus(results: list[dict], args) -> str | None:
    """Directus's REST API at the demo's size, added to the postgresql 35×6 result; or why not."""
    if args.no_directus:
        return "Directus REST baseline skipped (--no-directus)"
    demo = next(
        (r for r in results if r["db"] == "postgresql" and r["slots"] == 210 and r["duties"] == 6),
        None,
    )
    why = directus_rest.skip_reason() or (None if demo else "no postgresql 35×6 case to join")
    if why:
        return f"Directus REST baseline skipped: {why}"
    rows = data.expected_rows(data.Size(35))
    try:
        samples = directus_rest.measure(rows, args.repeat, say)
    except BaseException as exc:  # the lab is optional (dlab fails with pytest's outcomes)
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        return f"Directus REST baseline failed: {exc}"
    demo["ms"].update(medians(samples))
    demo["samples_ms"].update(samples)
    return "Directus REST rows run in the lab's own PostgreSQL (Directus 12.4.0), not the bench's"


if __name__ == "__main__":
    main()
