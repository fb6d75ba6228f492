"""Rehearsal on a fresh copy of production (SPEC 4.8): passes, leaves production untouched,
drops the copy, and a rehearsal-only approval never counts in production."""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile

import pytest
import sqlalchemy as sa

from govgate import api
from govgate.db import scratch
from govgate.ops.rehearse import rehearse

from support.constants import SUPPORT
from support.labs import agent_args


def _copies_left(lab) -> list[str]:
    if lab.backend == "sqlite":
        return glob.glob(os.path.join(tempfile.gettempdir(), "govgate-rehearsal-*"))
    if lab.backend == "mariadb":
        return [r[0] for r in lab.rows("SHOW DATABASES LIKE 'govgate\\_rehearsal\\_%'")]
    return [
        r[0]
        for r in lab.rows(
            "SELECT datname FROM pg_database WHERE datname LIKE 'govgate_rehearsal_%'"
        )
    ]


@pytest.fixture
def other_connection(lab):
    """Production holds another open connection throughout, as Directus always does."""
    engine = lab.engine()
    conn = engine.connect()
    conn.execute(sa.text("SELECT COUNT(*) FROM os_authorities"))
    yield conn
    conn.close()
    engine.dispose()


def test_rehearsal_passes_and_leaves_production_identical_and_drops_the_copy(
    lab, other_connection, gg
):
    before = lab.snapshot()
    copies_before = _copies_left(lab)
    result = gg(*agent_args(lab), "rehearse", "--json")
    assert result.code == 0, result.out + result.err
    data = json.loads(result.out)
    assert data["ok"] and data["production_untouched"]
    assert [s["name"] for s in data["steps"]] == [
        "snapshot",
        "propose",
        "approve",
        "apply",
        "verify",
        "rollback",
        "compare",
    ]
    assert data["production_fingerprint_before"] == data["production_fingerprint_after"]
    assert data["predicted_gap_after"] == 0 and data["predicted_records"] == 210
    if lab.backend == "mariadb":  # there `init` made the views; the rollout runs no DDL
        assert data["predicted_objects"] == ["Governance accountability"]
        assert "os_v_accountability_matrix" in before["<views>"]
    else:
        assert "os_v_accountability_matrix" in data["predicted_objects"]
    assert lab.snapshot() == before
    assert lab.scalar("SELECT COUNT(*) FROM os_proposal_approvals") == 0
    assert data["copy_dropped"] and _copies_left(lab) == copies_before


def test_rehearsal_text_report_names_each_step_and_says_production_is_untouched(lab, gg):
    result = gg(*agent_args(lab), "rehearse")
    assert result.code == 0, result.out + result.err
    for word in (
        "snapshot",
        "apply",
        "rollback",
        "compare",
        "production untouched",
        "was dropped",
        "predicted end state: gap 0, 210 records",
    ):
        assert word in result.out


def test_rehearsal_with_a_plan_freezes_it_only_on_the_copy(lab, tmp_path, gg):
    plan = tmp_path / "dot.yaml"
    plan.write_text(
        "proposal: PROP-DOT-ONLY\napproval: APR-DOT\ntitle: Transport only\n"
        "protected: [billing_*]\nassign:\n  GOV-DOT: [transport_*]\n"
    )
    before = lab.snapshot()
    result = gg(*agent_args(lab), "rehearse", str(plan), "--json")
    assert result.code == 0, result.out + result.err
    data = json.loads(result.out)
    assert data["proposal"] == "PROP-DOT-ONLY"
    assert data["predicted_gap_after"] == 210 - 54
    assert lab.snapshot() == before
    assert lab.scalar("SELECT COUNT(*) FROM os_proposals WHERE id = 'PROP-DOT-ONLY'") == 0


def test_a_rollback_that_leaves_a_row_behind_fails_the_rehearsal_naming_step_and_difference(lab):
    def leave_a_row(step, conn):
        if (
            step == "audit"
            and conn.execute(
                sa.text("SELECT COUNT(*) FROM os_rollouts WHERE status = 'rolled_back'")
            ).scalar()
        ):
            conn.execute(
                sa.text(
                    "INSERT INTO os_accountability (collection, duty, authority) "
                    "VALUES ('kg_entities', 'ownership', 'GOV-KG-SYS')"
                )
            )

    before = lab.snapshot()
    result = rehearse(lab.settings, hook=leave_a_row)
    assert not result.ok
    assert result.failed_step == "compare"
    assert any("os_accountability" in d for d in result.differences)
    assert any("fingerprint" in d for d in result.differences)
    assert result.production_untouched and result.copy_dropped
    assert lab.snapshot() == before


def test_a_rollback_that_cannot_restore_the_state_fails_at_the_rollback_step(lab):
    def sneak_a_row_in(step, conn):
        if (
            step == "journal"
            and conn.execute(sa.text("SELECT COUNT(*) FROM os_accountability")).scalar() == 0
        ):
            conn.execute(
                sa.text(
                    "INSERT INTO os_accountability (collection, duty, authority) "
                    "VALUES ('kg_entities', 'ownership', 'GOV-KG-SYS')"
                )
            )

    result = rehearse(lab.settings, hook=sneak_a_row_in)
    assert not result.ok and result.failed_step == "rollback"
    assert any("kg_entities/ownership" in d for d in result.differences)
    assert result.production_untouched and result.copy_dropped


def test_rehearsal_exits_1_when_production_is_not_as_the_proposal_expects(lab, gg):
    lab.execute("UPDATE os_settings SET value = 'on' WHERE os_settings.key = 'external_emission'")
    before = lab.snapshot()
    result = gg(*agent_args(lab), "rehearse")
    assert result.code == 1
    assert "rehearsal FAILED at step 'apply'" in result.out
    assert "external_emission" in result.out
    assert lab.snapshot() == before


def test_ctrl_c_during_the_rehearsal_still_drops_the_copy(lab):
    copies_before = _copies_left(lab)
    before = lab.snapshot()

    def interrupt(step, conn):
        if step == "records":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rehearse(lab.settings, hook=interrupt)
    assert _copies_left(lab) == copies_before
    assert lab.snapshot() == before


def test_a_rehearsal_drops_the_copy_a_rehearsal_killed_with_sigkill_left_behind(lab):
    copies_before = set(_copies_left(lab))
    child = subprocess.run(
        [sys.executable, str(SUPPORT / "faults_child.py"), "rehearse", "records", lab.url,
         lab.settings.agent_url],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert child.returncode == -signal.SIGKILL, child.stdout + child.stderr
    left = set(_copies_left(lab)) - copies_before
    assert len(left) == 1, left  # kill -9: no finally ran
    # Copies of a live process, or made on another host (by a pid gone here), stay.
    gone = subprocess.Popen(["true"])
    gone.wait()
    live = lab_scratch(lab, f"{scratch.PREFIX}{scratch._host()}_{os.getpid()}_keepme")
    elsewhere = lab_scratch(lab, f"{scratch.PREFIX}00000000_{gone.pid}_otherhost")
    try:
        result = rehearse(lab.settings)
        assert result.ok, result
        now = set(_copies_left(lab))
        assert not (left & now), "the killed rehearsal's copy is still there"
        assert {live, elsewhere} <= now
    finally:
        drop_scratch(lab, live)
        drop_scratch(lab, elsewhere)


def lab_scratch(lab, name: str) -> str:
    """A stand-in scratch copy named NAME (a folder on SQLite, a database elsewhere)."""
    if lab.backend == "sqlite":
        path = os.path.join(
            tempfile.gettempdir(), name.replace(scratch.PREFIX, scratch.FOLDER_PREFIX)
        )
        os.makedirs(path)
        return path
    _server_admin(lab, f"CREATE DATABASE {name}")
    return name


def drop_scratch(lab, name: str) -> None:
    if lab.backend == "sqlite":
        shutil.rmtree(name, ignore_errors=True)
    else:
        _server_admin(lab, f"DROP DATABASE IF EXISTS {name}")


def _server_admin(lab, sql: str) -> None:
    engine = lab.engine()
    try:
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(sql)
    finally:
        engine.dispose()


@pytest.mark.slow
def test_rehearsal_works_on_a_production_with_100000_app_rows(lab_factory_big):
    lab = lab_factory_big
    rows = lab.scalar("SELECT COUNT(*) FROM transport_routes") * 42
    assert rows >= 100_000
    result = rehearse(lab.settings)
    assert result.ok, result.steps
    assert result.production_untouched and result.copy_dropped


def test_a_rehearsal_only_approval_never_counts_in_production(lab):
    proposal = api.status(lab.settings)
    lab.execute(
        "INSERT INTO os_proposal_approvals (id, proposal_id, proposal_sha256, approved_by, "
        "statement) "
        "VALUES ('REHEARSAL-leaked', :p, :h, 'someone', 'REHEARSAL ONLY')",
        p=proposal.proposal_id,
        h=proposal.proposal_sha256,
    )
    verdict = api.status(lab.settings)
    assert verdict.status.value == "BLOCKED"
    assert any(r.code == "rehearsal-approval" for r in verdict.reasons)
