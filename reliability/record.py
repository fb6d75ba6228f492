"""The machine a run measured on, and docs/RELIABILITY.md: the figures, when, where, how."""

from __future__ import annotations

import os
import platform
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from .common import ROOT, Figure, Servers

DOC = ROOT / "docs" / "RELIABILITY.md"


def machine(servers: Servers) -> dict[str, str]:
    with open("/proc/meminfo") as f:
        kib = int(next(line for line in f if line.startswith("MemTotal")).split()[1])
    facts = {
        "cores": str(os.cpu_count()),
        "RAM": f"{kib / 1024 / 1024:.1f} GiB",
        "kernel": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "SQLite": sqlite3.sqlite_version,
    }
    if servers.pg is not None:
        from govgate.db.engine import make_engine

        from support.sqlhelp import sql_rows

        facts["PostgreSQL"] = sql_rows(make_engine(servers.pg.url()), "SHOW server_version", {})[0][
            0
        ]
    if servers.mariadb is not None:
        facts["MariaDB"] = servers.mariadb.admin_query("SELECT VERSION()")[0][0]
    return facts


def write(
    figures: list[Figure], facts: dict[str, str], command: str, seconds: float, path: Path = DOC
) -> None:
    """Rewrite docs/RELIABILITY.md from this run's figures (the file is the last run's record)."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    failed = [f for f in figures if not f.ok]
    verdict = "every bar met" if not failed else f"{len(failed)} figures miss their bar"
    lines = [
        "# Reliability, measured",
        "",
        "Written by `make reliability` (reliability/run.py): every figure below comes from the",
        "run it names, on real SQLite, a throwaway PostgreSQL cluster and a throwaway MariaDB",
        "server. A figure that misses its bar says FAILS; nothing here is edited by hand.",
        "What each family does: [reliability/README.md](../reliability/README.md).",
        "",
        f"- **Date**: {now} ({seconds / 60:.1f} minutes)",
        "- **Machine**: " + ", ".join(f"{k} {v}" for k, v in facts.items()),
        f"- **Command**: `{command}`",
        f"- **Verdict**: {verdict}",
        "",
        "| family | figure | value | bar | |",
        "|---|---|---|---|---|",
    ]
    for f in figures:
        verdict = "info" if f.info else ("meets" if f.ok else "**FAILS**")
        lines.append(f"| {f.family} | {f.name} | {f.value()} | {f.bar_text()} | {verdict} |")
    shown = [f for f in figures if f.failures]
    if shown:
        lines += ["", "## What missed", ""]
        for f in shown:
            lines.append(f"### {f.family}: {f.name}")
            lines.append("")
            for failure in f.failures[:60]:
                lines.append(f"- {_md(failure)}")
            if len(f.failures) > 60:
                lines.append(f"- … and {len(f.failures) - 60} more")
            lines.append("")
    path.write_text("\n".join(lines).rstrip() + "\n")


def _md(text: str) -> str:
    """One line of Markdown that shows TEXT as it is: no control characters, no table pipes."""
    clean = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)
    return clean.replace("|", "\\|").replace("`", "'")[:400]
