"""The audit trail anchored outside the database (issue 11): exports, checkpoints, reports.

`govgate audit export DIR` writes the trail as JSON lines (audit.jsonl) and its head
(head.json); `govgate audit verify --checkpoint FILE` also checks that the row the
checkpoint saw still has the hash it recorded. A report file the agent wrote carries the
head too, so it is a checkpoint as well. Without a checkpoint the chain walk and the
journal still catch a cut-off ratification; only a checkpoint catches a cut-off abort
(the journal holds nothing that points to it) and a chain re-hashed from an edited row.
Every tampering below is plain SQL as the database's owner.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path

import pytest

from govgate import api
from govgate.agent.reports import verify_and_report
from govgate.cli import main
from govgate.errors import Aborted

from support.constants import APPROVAL
from support.labs import lift_custody, ratify

GENESIS = "0" * 64
HASHED = ("seq", "at", "kind", "actor", "proposal_id", "rollout_id", "detail", "prev_hash")
FIELDS = {*HASHED, "hash"}


@pytest.fixture
def cli(capsys):
    """`govgate --db <lab> ARGS…` in-process: (exit code, stdout, stderr)."""

    def run(lab, *args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["--db", lab.url, *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def canonical(data) -> str:
    """The canonical JSON of db.state: sorted keys, no spaces, UTF-8 as is."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def row_hash(seq, at, kind, actor, proposal_id, rollout_id, detail, prev_hash) -> str:
    """An audit row's hash, computed as db/audit.py does."""
    body = canonical([seq, at, kind, actor, proposal_id, rollout_id, detail, prev_hash])
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def export(cli, lab, folder: Path) -> dict:
    code, out, err = cli(lab, "audit", "export", str(folder))
    assert code == 0, out + err
    return json.loads((folder / "head.json").read_text())


def newest(lab) -> tuple[int, str]:
    return lab.rows("SELECT seq, kind FROM os_audit ORDER BY seq DESC LIMIT 1")[0]


def delete_newest_row(lab) -> None:
    lab.execute(
        "DELETE FROM os_audit WHERE seq = (SELECT MAX(seq) FROM (SELECT seq FROM os_audit) AS a)"
    )


def rewrite_from(lab, seq: int, **changes) -> None:
    """Edit row SEQ and re-hash it and every later row, as a careful owner would."""
    rows = lab.rows(
        "SELECT seq, at, kind, actor, proposal_id, rollout_id, detail, prev_hash "
        "FROM os_audit ORDER BY seq"
    )
    prev = GENESIS
    for s, at, kind, actor, pid, rid, detail, prev_hash in rows:
        if s < seq:
            prev = row_hash(s, at, kind, actor, pid, rid, json.loads(detail), prev_hash)
            continue
        if s == seq:
            actor = changes.get("actor", actor)
        digest = row_hash(s, at, kind, actor, pid, rid, json.loads(detail), prev)
        lab.execute(
            "UPDATE os_audit SET actor = :a, prev_hash = :p, hash = :h WHERE seq = :s",
            a=actor,
            p=prev,
            h=digest,
            s=s,
        )
        prev = digest


def runbook(lab) -> str:
    ratify(lab)
    rollout_id = api.apply(lab.settings).rollout_id
    api.rollback(lab.settings)
    return rollout_id


# -- export ---------------------------------------------------------------------------------


def test_export_writes_one_canonical_json_line_per_event_and_the_lines_verify(lab, cli, tmp_path):
    runbook(lab)
    count = lab.scalar("SELECT COUNT(*) FROM os_audit")
    last_seq, last_hash = lab.rows("SELECT seq, hash FROM os_audit ORDER BY seq DESC LIMIT 1")[0]
    head = export(cli, lab, tmp_path / "export")

    body = (tmp_path / "export" / "audit.jsonl").read_bytes()
    lines = body.decode("utf-8").splitlines()
    assert len(lines) == count >= 5
    prev = GENESIS
    for n, line in enumerate(lines, start=1):
        event = json.loads(line)
        assert set(event) == FIELDS and line == canonical(event)
        assert event["seq"] == n and event["prev_hash"] == prev
        assert event["hash"] == row_hash(*(event[k] for k in HASHED))
        prev = event["hash"]
    assert [json.loads(x)["kind"] for x in lines][:5] == [
        "init",
        "proposal",
        "ratification",
        "rollout",
        "rollback",
    ]

    assert head == {
        "format_version": 1,
        "database_id": lab.scalar(
            "SELECT value FROM os_settings WHERE os_settings.key = 'database_id'"
        ),
        "rows": count,
        "head_seq": last_seq,
        "head_hash": last_hash,
        "exported_at": head["exported_at"],
        "audit_jsonl_sha256": hashlib.sha256(body).hexdigest(),
    }
    assert datetime.fromisoformat(head["exported_at"]).tzinfo is not None
    assert sorted(p.name for p in (tmp_path / "export").iterdir()) == sorted(
        ["audit.jsonl", "head.json", "allowed_signers", f"{APPROVAL}.json", f"{APPROVAL}.sig"]
    )


def test_export_refuses_a_folder_holding_other_files_and_replaces_its_own_previous_export(
    lab, cli, tmp_path
):
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine\n")
    code, out, err = cli(lab, "audit", "export", str(other))
    assert code == 2, out + err
    assert f"{other} is not empty and is not a previous audit export" in err
    assert sorted(p.name for p in other.iterdir()) == ["notes.txt"]

    folder = tmp_path / "export"
    first = export(cli, lab, folder)
    ratify(lab)
    code, out, err = cli(lab, "audit", "export", str(folder))
    assert code == 0 and "(replacing the previous export)" in out, out + err
    second = json.loads((folder / "head.json").read_text())
    assert second["head_seq"] == first["head_seq"] + 1

    # A trail that no longer matches the export in the folder never overwrites it.
    delete_newest_row(lab)
    code, out, err = cli(lab, "audit", "export", str(folder))
    assert code == 1, out + err
    assert f"the trail no longer matches the previous export in {folder}" in err
    assert json.loads((folder / "head.json").read_text()) == second


# -- verify --checkpoint -------------------------------------------------------------------------


def test_a_clean_trail_verifies_against_its_checkpoint_also_after_more_events(lab, cli, tmp_path):
    head = export(cli, lab, tmp_path / "export")
    checkpoint = str(tmp_path / "export" / "head.json")
    code, out, err = cli(lab, "audit", "verify", "--checkpoint", checkpoint)
    assert code == 0, out + err
    assert out.splitlines() == [
        f"audit chain intact: {head['rows']} rows",
        f"  anchored: row {head['head_seq']} still has the hash recorded by the checkpoint of "
        f"{head['exported_at']} (row {head['head_seq']}, {checkpoint})",
    ]
    runbook(lab)
    assert cli(lab, "audit", "verify", "--checkpoint", checkpoint)[0] == 0
    found = api.audit_verify(lab.settings, checkpoint)
    assert found.ok and found.checkpoint.hash == head["head_hash"]
    assert (found.head_seq, found.head_hash) == api.audit_head(lab.settings)


def test_a_checkpoint_of_another_database_does_not_vouch_for_this_one(lab, cli, tmp_path):
    first = lab.scalar("SELECT value FROM os_settings WHERE os_settings.key = 'database_id'")
    head = export(cli, lab, tmp_path / "export")
    assert head["database_id"] == first
    lift_custody(lab)  # the owner of a copy can give it another id
    lab.execute(
        "UPDATE os_settings SET value = 'oneroof-copy' WHERE os_settings.key = 'database_id'"
    )
    code, out, err = cli(
        lab, "audit", "verify", "--checkpoint", str(tmp_path / "export" / "head.json")
    )
    assert code == 1, out + err
    assert (
        f"the checkpoint of {head['exported_at']} was taken of database {first}, "
        "but this is database oneroof-copy" in out
    )


def test_deleting_the_newest_row_a_ratification_is_detected_with_the_checkpoint_and_without(
    lab, cli, tmp_path
):
    ratify(lab)
    seq, kind = newest(lab)
    assert kind == "ratification"
    head = export(cli, lab, tmp_path / "export")
    assert cli(lab, "audit", "verify")[0] == 0  # the cross-check knows this approval's row

    delete_newest_row(lab)
    code, out, err = cli(lab, "audit", "verify")
    assert code == 1, out + err
    assert (
        f"audit chain BROKEN: approval {APPROVAL} has no `ratification` audit row "
        "(rows were removed from the trail, or the approval was written outside "
        "`govgate ratify`)" in out
    )
    code, out, err = cli(
        lab, "audit", "verify", "--checkpoint", str(tmp_path / "export" / "head.json")
    )
    assert code == 1, out + err
    assert (
        f"audit chain BROKEN: the trail ends at row {seq - 1} but the checkpoint of "
        f"{head['exported_at']} saw row {seq}: rows were cut from its end" in out
    )


def test_an_approval_made_in_the_directus_app_needs_no_ratification_row_but_one_made_with_sql_does(
    lab, cli
):
    sha = api.status(lab.settings).proposal_sha256
    for approval_id in ("APR-IN-THE-APP", "APR-BY-SQL"):
        lab.execute(
            "INSERT INTO os_proposal_approvals (id, proposal_id, proposal_sha256, statement) "
            "VALUES (:i, 'PROP-AUTHMODEL-1', :h, 'I approve')",
            i=approval_id,
            h=sha,
        )
    lab.execute(
        "INSERT INTO directus_activity (action, timestamp, collection, item, origin) "
        "VALUES ('create', CURRENT_TIMESTAMP, 'os_proposal_approvals', 'APR-IN-THE-APP', "
        "'http://127.0.0.1:8055')"
    )
    code, out, _ = cli(lab, "audit", "verify")
    assert code == 1 and "approval APR-BY-SQL has no `ratification` audit row" in out, out
    lab.execute("DELETE FROM os_proposal_approvals WHERE id = 'APR-BY-SQL'")
    code, out, _ = cli(lab, "audit", "verify")
    assert code == 0, out


def test_deleting_the_newest_abort_is_detected_with_a_checkpoint(lab, cli, tmp_path):
    ratify(lab)

    def fail_at_records(step, conn):
        if step == "records":
            raise RuntimeError("the disk is full")

    with pytest.raises(Aborted):
        api.apply(lab.settings, hook=fail_at_records)
    seq, kind = newest(lab)
    assert kind == "abort"
    head = export(cli, lab, tmp_path / "export")

    delete_newest_row(lab)
    # An abort leaves no journal row: without a checkpoint nothing points to the lost row.
    assert cli(lab, "audit", "verify")[0] == 0
    code, out, err = cli(
        lab, "audit", "verify", "--checkpoint", str(tmp_path / "export" / "head.json")
    )
    assert code == 1, out + err
    assert (
        f"the trail ends at row {seq - 1} but the checkpoint of {head['exported_at']} "
        f"saw row {seq}: rows were cut from its end" in out
    )


def test_editing_a_row_and_rehashing_the_chain_from_there_passes_the_walk_but_not_the_checkpoint(
    lab, cli, tmp_path
):
    runbook(lab)
    head = export(cli, lab, tmp_path / "export")
    ratification = lab.scalar("SELECT seq FROM os_audit WHERE kind = 'ratification'")
    rewrite_from(lab, ratification, actor="mallory@oneroof.example")
    assert lab.scalar("SELECT actor FROM os_audit WHERE seq = :s", s=ratification) == (
        "mallory@oneroof.example"
    )

    code, out, err = cli(lab, "audit", "verify")
    assert code == 0, "the chain walk alone cannot see a consistent rewrite: " + out + err
    code, out, err = cli(
        lab, "audit", "verify", "--checkpoint", str(tmp_path / "export" / "head.json")
    )
    assert code == 1, out + err
    assert (
        f"audit chain BROKEN: row {head['head_seq']} no longer has the hash the checkpoint of "
        f"{head['exported_at']} recorded: the trail was rewritten" in out
    )


def test_a_report_file_works_as_a_checkpoint(lab, cli):
    ratify(lab)
    rollout_id = api.apply(lab.settings).rollout_id
    ok, said = verify_and_report(lab.settings, rollout_id)
    assert ok and [e.event for e in said] == ["verified", "report_written"]
    folder = Path(lab.settings.report_dir)
    seq, digest = api.audit_head(lab.settings)
    assert newest(lab) == (seq, "rollout")

    head = json.loads((folder / f"{rollout_id}.json").read_text())["verification"]["audit_head"]
    assert (head["seq"], head["hash"]) == (seq, digest)
    text = (folder / f"{rollout_id}.txt").read_text()
    assert (
        f"Audit trail head after commit: row {seq}, hash {digest} (read at {head['at']})."
        in text.splitlines()
    )

    for name in (f"{rollout_id}.json", f"{rollout_id}.txt"):
        code, out, err = cli(lab, "audit", "verify", "--checkpoint", str(folder / name))
        assert code == 0, out + err
        assert f"anchored: row {seq} still has the hash recorded by the checkpoint of" in out

    rewrite_from(lab, 2, actor="someone-else")
    assert cli(lab, "audit", "verify")[0] == 0
    for name in (f"{rollout_id}.json", f"{rollout_id}.txt"):
        code, out, err = cli(lab, "audit", "verify", "--checkpoint", str(folder / name))
        assert code == 1, out + err
        assert f"row {seq} no longer has the hash the checkpoint of {head['at']} recorded" in out


def test_bad_checkpoint_files_exit_2_naming_the_file(lab, cli, tmp_path):
    good = export(cli, lab, tmp_path / "export")
    bad = {
        "missing.json": None,
        "not-json.json": "head_seq = 3\n",
        "a-list.json": "[1, 2, 3]\n",
        "wrong-keys.json": json.dumps({"seq": 3, "hash": GENESIS}),
        "lacks-a-key.json": json.dumps({k: v for k, v in good.items() if k != "head_hash"}),
        "bad-hash.json": json.dumps({**good, "head_hash": "not-a-hash"}),
        "bad-seq.json": json.dumps({**good, "head_seq": "9"}),
        "future.json": json.dumps({**good, "format_version": 2}),
        "report-without-head.json": json.dumps({"rollout": "RO-1", "verification": {"ok": True}}),
    }
    reasons = {
        "missing.json": "does not exist",
        "not-json.json": "is not JSON",
        "a-list.json": "is neither an audit export's head.json nor a report",
        "wrong-keys.json": "is neither an audit export's head.json nor a report",
        "lacks-a-key.json": "lacks head_hash",
        "bad-hash.json": "head_hash is not a SHA-256 hex digest",
        "bad-seq.json": "head_seq is not a row number",
        "future.json": "has format_version 2",
        "report-without-head.json": "is neither an audit export's head.json nor a report",
    }
    for name, content in bad.items():
        path = tmp_path / name
        if content is not None:
            path.write_text(content)
        code, out, err = cli(lab, "audit", "verify", "--checkpoint", str(path))
        assert code == 2, (name, out, err)
        assert f"error: checkpoint file {path} {reasons[name]}" in err or (
            f"error: checkpoint file {path}: {reasons[name]}" in err
        ), (name, err)
        assert out == "", (name, out)
