"""The Sqitch baseline: the same accountability rows, deployed, verified and reverted by Sqitch.

A DBA without govgate would write one Sqitch change whose deploy script inserts the rows, whose
verify script counts them and whose revert script deletes them. This module installs Debian's
`sqitch` when it is missing (as root, with apt-get; it says what it runs), writes such a project
into a folder, and times `sqitch deploy --verify` and `sqitch revert -y` as processes against the
benchmark's own database.

PostgreSQL's deploy script loads the rows with COPY (inline data, run by psql), SQLite's with
multi-row INSERTs of 500 rows (run by the sqlite3 shell), each in one transaction.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from sqlalchemy.engine import make_url

MARKER = "SQITCH-BENCH"  # the rollout_id column of Sqitch's rows, so revert deletes exactly them
CHANGE = "accountability"
PACKAGES = ("sqitch", "libdbd-pg-perl", "libdbd-sqlite3-perl", "sqlite3")
_CHECKS = {  # package -> how to tell it is there
    "sqitch": ["sqitch", "--version"],
    "libdbd-pg-perl": ["perl", "-MDBD::Pg", "-e", "1"],
    "libdbd-sqlite3-perl": ["perl", "-MDBD::SQLite", "-e", "1"],
    "sqlite3": ["sqlite3", "-version"],
}


def _present(command: list[str]) -> bool:
    if shutil.which(command[0]) is None:
        return False
    return subprocess.run(command, capture_output=True, check=False).returncode == 0


def ensure_installed(say=print) -> str | None:
    """Install what Sqitch needs with apt-get when missing; None when ready, else why not."""
    missing = [p for p in PACKAGES if not _present(_CHECKS[p])]
    if not missing:
        return None
    if os.geteuid() != 0:
        return f"Sqitch needs {', '.join(missing)}; not root, so not installed (use --no-sqitch)"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing],
    ):
        say(f"[sqitch] running: {' '.join(command)}")
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            return f"`{' '.join(command)}` failed: {done.stderr.strip()[-400:]}"
    still = [p for p in PACKAGES if not _present(_CHECKS[p])]
    return f"still missing after apt-get: {', '.join(still)}" if still else None


def version() -> str:
    out = subprocess.run(["sqitch", "--version"], capture_output=True, text=True, check=False)
    return out.stdout.strip()


def target(url: str) -> str:
    """Sqitch's target URI for an SQLAlchemy URL (the superuser's, for PostgreSQL)."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return f"db:sqlite:{Path(u.database).resolve()}"
    return f"db:pg://{u.username}@{u.host}:{u.port}/{u.database}"


def _deploy_pg(rows: list[tuple]) -> str:
    data = "".join("\t".join(r[:3]) + f"\t{MARKER}\n" for r in rows)
    return (
        "BEGIN;\n"
        "COPY os_accountability (collection, duty, authority, rollout_id) FROM STDIN;\n"
        f"{data}\\.\n"
        "COMMIT;\n"
    )


def _deploy_sqlite(rows: list[tuple], chunk: int = 500) -> str:
    parts = ["BEGIN;\n"]
    for start in range(0, len(rows), chunk):
        values = ",\n".join(
            f"('{c}', '{d}', '{a}', '{MARKER}')" for c, d, a, *_ in rows[start : start + chunk]
        )
        parts.append(
            f"INSERT INTO os_accountability (collection, duty, authority, rollout_id) VALUES\n"
            f"{values};\n"
        )
    parts.append("COMMIT;\n")
    return "".join(parts)


def _verify(engine: str, count: int) -> str:
    where = f"FROM os_accountability WHERE rollout_id = '{MARKER}'"
    if engine == "pg":  # division by zero unless the count is right
        return f"SELECT 1 / (COUNT(*) = {count})::int {where};\n"
    # SQLite does not fail on division by zero: json() of a non-JSON text does
    return f"SELECT CASE WHEN COUNT(*) = {count} THEN 1 ELSE json('wrong row count') END {where};\n"


def write_project(folder: Path, url: str, rows: list[tuple]) -> Path:
    """A Sqitch project in FOLDER with one change that inserts ROWS; returns FOLDER."""
    engine = "sqlite" if make_url(url).get_backend_name() == "sqlite" else "pg"
    folder.mkdir(parents=True, exist_ok=True)
    for sub in ("deploy", "verify", "revert"):
        (folder / sub).mkdir(exist_ok=True)
    (folder / "sqitch.conf").write_text(f"[core]\n\tengine = {engine}\n\ttop_dir = .\n")
    (folder / "sqitch.plan").write_text(
        "%syntax-version=1.0.0\n%project=govgate_bench\n\n"
        f"{CHANGE} 2026-12-02T00:00:00Z Bench <bench@oneroof.example> "
        f"# {len(rows)} accountability rows\n"
    )
    deploy = _deploy_pg(rows) if engine == "pg" else _deploy_sqlite(rows)
    (folder / "deploy" / f"{CHANGE}.sql").write_text(deploy)
    (folder / "verify" / f"{CHANGE}.sql").write_text(_verify(engine, len(rows)))
    (folder / "revert" / f"{CHANGE}.sql").write_text(
        f"BEGIN;\nDELETE FROM os_accountability WHERE rollout_id = '{MARKER}';\nCOMMIT;\n"
    )
    return folder


def _run(folder: Path, *args: str) -> float:
    """Run `sqitch ARGS` in FOLDER; milliseconds. RuntimeError with its output on failure."""
    env = dict(
        os.environ,
        SQITCH_FULLNAME="Bench",
        SQITCH_EMAIL="bench@oneroof.example",
        SQITCH_USER_CONFIG=str(folder / "no-user.conf"),
        SQITCH_SYSTEM_CONFIG=str(folder / "no-system.conf"),
    )
    start = time.perf_counter()
    done = subprocess.run(
        ["sqitch", *args], cwd=folder, env=env, capture_output=True, text=True, check=False
    )
    elapsed = (time.perf_counter() - start) * 1000
    if done.returncode != 0:
        raise RuntimeError(f"sqitch {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return elapsed


STEPS = {
    "sqitch_deploy": ("deploy", "--verify"),
    "sqitch_status": ("status",),
    "sqitch_verify": ("verify",),
    "sqitch_revert": ("revert", "-y"),
}


def prepare(folder: Path, url: str, rows: list[tuple]):
    """Write the project into FOLDER, deploy and revert it once untimed (which also creates
    Sqitch's registry); returns the round: a function that times `deploy --verify`, `status`,
    `verify` and `revert -y` once each, appending milliseconds to the samples it is given."""
    write_project(folder, url, rows)
    uri = target(url)
    _run(folder, "deploy", "--verify", uri)
    _run(folder, "revert", "-y", uri)

    def one_round(samples: dict[str, list[float]]) -> None:
        for name, args in STEPS.items():
            samples.setdefault(name, []).append(_run(folder, *args, uri))

    return one_round
