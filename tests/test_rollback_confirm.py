"""`govgate rollback` asks first (issue 16): at a terminal it shows what it will remove — records
per authority, the views and dashboard, the gap it returns to, the fingerprint proven in a
transaction that is rolled back — and removes nothing unless the person says yes; `--yes` does not
ask; without a terminal it refuses (exit 1, nothing changed) unless given `--yes`; `--dry-run`
shows the same and changes nothing. Run on a real pseudo-terminal."""

from __future__ import annotations

import re

from govgate import api
from govgate.runbook.gate import Status

from support.constants import GOVGATE, NO_CONFIG
from support.labs import ratify
from support.ptyrun import run_in_pty

QUESTION = "Remove them now?"


def applied(lab) -> str:
    ratify(lab)
    return api.apply(lab.settings).rollout_id


def rollback_at_a_terminal(lab, answer: str, *options: str) -> tuple[int, str]:
    run = run_in_pty(
        [GOVGATE, "--db", lab.url, "--agent-db", lab.settings.agent_url, "rollback", *options],
        [(QUESTION, answer)],
        env=NO_CONFIG,
    )
    return run.code, re.sub(r"\x1b\[[0-9;]*m", "", run.output)


def test_at_a_terminal_rollback_shows_what_it_removes_and_answering_no_changes_nothing(lab):
    rollout = applied(lab)
    before = lab.snapshot()
    code, shown = rollback_at_a_terminal(lab, "n")
    assert code == 1, shown
    assert f"rollback of rollout {rollout} of proposal PROP-AUTHMODEL-1 removes:" in shown
    assert "210 accountability records:" in shown
    for authority, records in (("GOV-COUNCIL", 60), ("GOV-DOT", 54), ("GOV-KG-SYS", 48)):
        assert re.search(rf"{authority}\s+{records}\b", shown), shown
    assert "dashboard Governance accountability" in shown or lab.backend != "sqlite"
    assert "ownership gap would return to 210" in shown
    assert "proven: the fingerprint would equal the pre-rollout one" in shown
    assert "rollback cancelled; nothing was changed" in shown
    assert lab.snapshot() == before
    assert api.status(lab.settings).status is Status.APPLIED


def test_at_a_terminal_answering_yes_rolls_back_the_rollout_it_showed(lab):
    rollout = applied(lab)
    code, shown = rollback_at_a_terminal(lab, "y")
    assert code == 0, shown
    assert f"rolled back rollout {rollout}" in shown
    assert "proven: the fingerprint equals the pre-rollout one" in shown
    assert api.status(lab.settings).gap == 210
    assert [e.kind for e in api.audit_trail(lab.settings)][-1] == "rollback"


def test_without_a_terminal_rollback_refuses_unless_given_yes(sqlite_lab, gg):
    lab = sqlite_lab
    applied(lab)
    before = lab.snapshot()
    refused = gg("--db", lab.url, "rollback")
    assert refused.code == 1
    assert "asks for confirmation at a terminal" in refused.err and "--yes" in refused.err
    assert lab.snapshot() == before
    done = gg("--db", lab.url, "rollback", "--yes")
    assert done.code == 0, done.err
    assert "ownership gap is back to 210" in done.out


def test_dry_run_shows_what_would_be_removed_proves_the_fingerprint_and_changes_nothing(lab, gg):
    rollout = applied(lab)
    before = lab.snapshot()
    trail = len(api.audit_trail(lab.settings))
    run = gg("--db", lab.url, "--agent-db", lab.settings.agent_url, "rollback", "--dry-run")
    assert run.code == 0, run.err
    assert f"DRY RUN: nothing was removed; rolling back rollout {rollout}" in run.out
    assert "GOV-MOIT" in run.out and "ownership gap would return to 210" in run.out
    pre = api.report(lab.settings).data["pre_fingerprint"]
    assert f"proven: the fingerprint would equal the pre-rollout one ({pre[:16]}…)" in run.out
    assert lab.snapshot() == before and len(api.audit_trail(lab.settings)) == trail
    preview = api.rollback(lab.settings, dry_run=True)
    assert (preview.dry_run, preview.restored, preview.fingerprint) == (True, True, pre)
    assert preview.records_by_authority == {
        "GOV-COUNCIL": 60,
        "GOV-DOT": 54,
        "GOV-KG-SYS": 48,
        "GOV-MOIT": 48,
    }
    assert lab.snapshot() == before
