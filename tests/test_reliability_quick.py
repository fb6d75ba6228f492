"""The quick slice of the reliability suite (reliability/README.md), inside `make test`.

Each family of `make reliability` runs here with small counts, on the suite's own throwaway
PostgreSQL and MariaDB servers and templates, and every figure must meet its bar. The full
counts, and docs/RELIABILITY.md, are `make reliability`'s.
"""

from __future__ import annotations

import sys

import pytest

from support.constants import ROOT

sys.path.insert(0, str(ROOT))  # the reliability package sits beside tests/

from reliability import run as reliability_run
from reliability.common import Servers

pytestmark = [pytest.mark.postgres, pytest.mark.mariadb]

# Every Nth fault combination (coprime with the 2 and 3 faults per step: every fault is tried),
# every Nth input, attack and tampering.
SAMPLE = {"faults": 13, "badinput": 13, "forgery": 5}
SIZES = {"faults": 0, "concurrency": 3, "properties": 8}


@pytest.fixture(scope="module")
def servers(tmp_path_factory, sqlite_template, pg, pg_template, mariadb, mariadb_template):
    return Servers.reuse(
        tmp_path_factory.mktemp("reliability"),
        sqlite_template,
        pg,
        pg_template,
        mariadb,
        mariadb_template,
    )


def measure(servers, family: str, backends=("sqlite", "postgres", "mariadb")):
    figures = reliability_run.measure(
        servers,
        backends,
        (family,),
        servers.folder,
        SIZES,
        sample=SAMPLE.get(family),
        report=lambda line: None,
    )
    missed = [f"{f.line()}\n    " + "\n    ".join(f.failures[:10]) for f in figures if not f.ok]
    assert not missed, "\n".join(missed)
    return figures


def test_faults_at_every_kind_of_step_leave_no_partial_state(servers):
    measure(servers, "faults")


def test_agents_and_callers_racing_give_one_rollout_and_clear_refusals(servers):
    measure(servers, "concurrency")


def test_bad_inputs_get_the_right_code_a_placed_message_no_traceback_and_change_nothing(servers):
    measure(servers, "badinput")


def test_no_forgery_is_accepted_and_every_tampering_is_detected(servers):
    measure(servers, "forgery", ("sqlite", "postgres"))


def test_apply_then_rollback_is_the_identity_on_generated_productions(servers):
    measure(servers, "properties")
