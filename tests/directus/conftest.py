"""The Directus suite: a real Directus 12.4.0 on a throwaway PostgreSQL, once per session.

`directus_lab` runs `scripts/directus-lab install` (a no-op when the cache
~/.cache/govgate-lab is warm; ~2 min and ~730 MB cold) and `start --db pg` into a
fresh folder under /tmp the first time a test asks for it, and `stop` at the end of
the session. `directus_sqlite_lab` and `directus_mariadb_lab` start one on SQLite and
one on a throwaway MariaDB (Debian's binaries, scripts/ensure-mariadb) for the one module
that uses each. Tests that do not ask for any (cache clearing against a stub; the
demo comparisons live in tests/test_directus_schema.py) never start anything.

`world` (and `mariadb_world` in test_directus_mariadb.py) then does what an operator does
once (`dlab.build_world`): `govgate init` as Directus's database role with an admin's token
(registers the governance tables through Directus's REST API), `govgate init --roles` as the
superuser, a login for the agent in the `govgate_agent` role, the One-Roof governance data
(35 governed tables made with SQL and not registered, so the licence's 25-collection limit is
never near), and through the REST API an approver and an agent user, API-only, each with a
static token.

Set GOVGATE_SKIP_DIRECTUS=1 to skip the suite (e.g. on a machine without the npm
registry); GOVGATE_KEEP_LAB=1 keeps the lab folder (logs, lab.env) after the session.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .dlab import INSTALL_TIMEOUT_S, SUITE_DIR, TIMINGS, World, build_world, running_lab


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "directus: runs against the real Directus lab (tests/directus)"
    )


def pytest_collection_modifyitems(config, items):
    # The session's first lab test also pays for the install (cold: minutes): give the
    # suite room beyond the default per-test timeout. `-m "not directus"` leaves it out.
    for item in items:
        if Path(str(item.fspath)).resolve().is_relative_to(SUITE_DIR):
            item.add_marker(pytest.mark.timeout(INSTALL_TIMEOUT_S + 300))
            item.add_marker(pytest.mark.directus)


def pytest_terminal_summary(terminalreporter):
    if TIMINGS:
        parts = ", ".join(f"{k} {v:.1f} s" for k, v in TIMINGS.items())
        terminalreporter.write_line(f"directus lab: {parts}")


@pytest.fixture(scope="session")
def directus_lab():
    """Directus 12.4.0 on PostgreSQL, the database Directus runs on in production."""
    if os.geteuid() != 0:
        pytest.skip(
            "the Directus lab starts PostgreSQL as the postgres OS user: run the suite as root"
        )
    with running_lab("pg") as lab:
        yield lab


@pytest.fixture(scope="module")
def directus_sqlite_lab():
    """Directus 12.4.0 on SQLite (dates as epoch ms, uuids as char(36)): for one module only."""
    with running_lab("sqlite") as lab:
        yield lab


@pytest.fixture(scope="module")
def directus_mariadb_lab():
    """Directus 12.4.0 on a throwaway MariaDB 10.11 (DB_CLIENT=mysql): for one module only.
    As root the lab runs mariadbd as the mysql or nobody OS user (MariaDB refuses root)."""
    with running_lab("mariadb") as lab:
        yield lab


@pytest.fixture(scope="session")
def world(directus_lab, tmp_path_factory) -> World:
    return build_world(
        directus_lab, tmp_path_factory.mktemp("plans"), tmp_path_factory.mktemp("reports")
    )
