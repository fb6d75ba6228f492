"""Directus's REST API as a baseline: the demo's 210 accountability rows created by Directus.

What an operator without govgate would do in the Directus app or with a script: create the rows
through `POST /items/os_accountability` (one request carrying all of them, as an administrator)
and delete them again with `DELETE /items/os_accountability` (their keys). Directus then checks
permissions, validates each item and writes its activity and revision rows.

It runs in the lab (scripts/directus-lab: Directus 12.4.0 on a throwaway PostgreSQL), started
through tests/directus/dlab.py's `running_lab`, only when the lab is installed already
(~/.cache/govgate-lab); the benchmark never installs it (npm, minutes). Timed in-process with
httpx, on the demo's size only (35 collections x 6 duties).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

MARKER = "DIRECTUS-BENCH"
LAB_VERSION = "12.4.0"


def lab_installed() -> bool:
    cache = Path(os.environ.get("GOVGATE_LAB_CACHE", Path.home() / ".cache" / "govgate-lab"))
    return (cache / f".installed-directus-{LAB_VERSION}").is_file()


def skip_reason() -> str | None:
    """Why the Directus baseline cannot run here, or None."""
    if not lab_installed():
        return "the Directus lab is not installed (run `scripts/directus-lab install` once)"
    if os.geteuid() != 0:
        return "the Directus lab starts PostgreSQL as the postgres OS user: run as root"
    return None


def _timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    value = fn()
    return (time.perf_counter() - start) * 1000, value


def _ok(response) -> dict | list:
    if response.status_code not in (200, 204):
        raise RuntimeError(
            f"{response.request.method} {response.request.url}: "
            f"{response.status_code} {response.text[:400]}"
        )
    return response.json().get("data") if response.content else {}


def measure(rows: list[tuple], repeat: int, say=print) -> dict[str, list[float]]:
    """Milliseconds to create ROWS through Directus's REST API and to delete them, REPEAT times
    each, in a lab started for this (and stopped after)."""
    from directus.dlab import running_lab
    from govgate import api
    from govgate.config import Settings

    items = [{"collection": c, "duty": d, "authority": a, "rollout_id": MARKER} for c, d, a in rows]
    samples: dict[str, list[float]] = {"directus_create": [], "directus_delete": []}
    say("  starting the Directus lab (PostgreSQL)")
    with running_lab("pg") as lab:
        operator = Settings(
            db_url=lab.owner_url, directus_url=lab.url, directus_token=lab.admin_token
        )
        api.init(operator, actor="operator")  # registers the governance tables through REST
        with lab.client() as http:
            # one untimed round: Directus warms its schema cache and permissions
            keys = [x["id"] for x in _ok(http.post("/items/os_accountability", json=items))]
            _ok(http.request("DELETE", "/items/os_accountability", json=keys))
            for _ in range(repeat):
                ms, created = _timed(lambda: _ok(http.post("/items/os_accountability", json=items)))
                if len(created) != len(items):
                    raise RuntimeError(f"Directus created {len(created)} of {len(items)} rows")
                samples["directus_create"].append(ms)
                keys = [x["id"] for x in created]
                ms, _ = _timed(
                    lambda k=keys: _ok(http.request("DELETE", "/items/os_accountability", json=k))
                )
                samples["directus_delete"].append(ms)
    return samples
