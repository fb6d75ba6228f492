"""Data is shown, never obeyed (issue 11, "Chain of custody": terminal-safe output).

A plan title, an authority's name, a collection's name or an actor can hold characters a
terminal obeys: ESC sequences that clear the screen or move the cursor up, a carriage
return, U+202E which reverses what follows, a newline that forges a line of its own. The
attack: such a title overwrites the real "4 authorities, 216 slots" summary of `ratify`
with a fake "1 slot", and typing the id approves them all. Every text command, the ratify
screen (on a real terminal) and the agent's JSON log show those characters as visible
escapes; the ratify screen gives the totals first and prompts after a bounded number of
lines, however many collections the proposal holds.
"""

from __future__ import annotations

import json
import os
import re
import sys
import unicodedata
from importlib import resources
from pathlib import Path

import pytest
import sqlalchemy as sa

from govgate import api
from govgate.agent.events import event, line
from govgate.agent.reports import verify_and_report
from govgate.text import escape, json_safe

from support import signing
from support.constants import APPROVER, GOVGATE, PROMPT
from support.ptyrun import run_in_pty

EVIL = "\x1b[2J\x1b[1A\r\u202e"  # clear screen, cursor up, carriage return, right-to-left
TITLE = f"Ratify{EVIL}\n1 slot"
SHOWN = r"\x1b[2J\x1b[1A\r\u202e"  # how EVIL reads on the screen


def raw_controls(text: str) -> list[str]:
    """Every character in TEXT a terminal would obey instead of showing (newlines aside)."""
    return [
        repr(ch)
        for ch in text
        if ch != "\n"
        and (
            ord(ch) < 0x20
            or 0x7F <= ord(ch) <= 0x9F
            or unicodedata.category(ch) in ("Cf", "Zl", "Zp")
        )
    ]


def assert_shown_not_obeyed(text: str, *visible: str) -> None:
    assert raw_controls(text) == [], text
    for piece in visible:
        assert piece in text, f"{piece!r} is not shown in:\n{text}"


def demo_plan(proposal_id: str, approval_id: str, title: str) -> str:
    """The demo's plan file under other ids and TITLE (a YAML double-quoted string)."""
    text = resources.files("govgate").joinpath("data/oneroof-authmodel.yaml").read_text()
    text = re.sub(r"(?m)^proposal: .*$", f"proposal: {proposal_id}", text)
    text = re.sub(r"(?m)^approval: .*$", f"approval: {approval_id}", text)
    return re.sub(r"(?m)^title: .*$", lambda _: f"title: {json.dumps(title)}", text)


def approver(lab) -> str:
    """The demo's human approver: its Directus user that is not the admin nor the agent."""
    return lab.scalar("SELECT email FROM directus_users WHERE email LIKE 'approver@%'")


def terminal(lab, tmp_path: Path, *args: str, answer: str, env: dict | None = None):
    """`govgate ratify ARGS` as the approver on a real pseudo-terminal, typing ANSWER.

    TERM=dumb: govgate draws no colour, so any ESC on the screen would be data's.
    """
    empty = tmp_path / "empty.toml"
    empty.touch()
    return run_in_pty(
        [GOVGATE, "--db", lab.approver_url, "ratify", *args, "--as", approver(lab)]
        + ["--sign-key", str(signing.key_path(APPROVER))],
        [(PROMPT, answer)],
        env={"GOVGATE_CONFIG": str(empty), "TERM": "dumb", "PAGER": "", **(env or {})},
        timeout=120,
    )


@pytest.fixture
def hostile(lab, tmp_path, monkeypatch):
    """The demo with an authority name, a collection name, a plan title and an actor that
    each hold ESC/CR/bidi characters; the hostile plan is frozen by the hostile actor."""
    demo = api.proposal(lab.settings)
    authority = sorted(demo.by_authority())[0]
    lab.execute(
        "UPDATE os_authorities SET name = :name WHERE code = :code",
        name=f"Council{EVIL}\nx",
        code=authority,
    )
    collection = sorted(demo.by_authority()[authority])[0]
    prefix = collection.split("_")[0]
    lab.execute(
        "INSERT INTO os_governed_collections (collection, domain) VALUES (:c, :d)",
        c=f"{prefix}_{EVIL}",
        d=lab.scalar(
            "SELECT domain FROM os_governed_collections WHERE collection = :c", c=collection
        ),
    )
    plan = tmp_path / "hostile.yaml"
    plan.write_text(demo_plan(f"{demo.id}-HOSTILE", f"{demo.approval_id}-HOSTILE", TITLE))
    monkeypatch.setenv("GOVGATE_USER", f"mallory{EVIL}")
    monkeypatch.setenv("GOVGATE_CONFIG", str(tmp_path / "empty.toml"))
    (tmp_path / "empty.toml").touch()
    return plan


def test_escape_shows_control_bidi_and_invisible_characters_and_keeps_the_rest():
    assert escape(TITLE) == r"Ratify\x1b[2J\x1b[1A\r\u202e\n1 slot"
    assert escape("\t\x7f\x85\u200b\u2066\ufeff\u061c\u2028\U000e0001") == (
        r"\t\x7f\x85\u200b\u2066\ufeff\u061c\u2028\U000e0001"
    )
    assert escape("Café → Überweisung, 東京") == "Café → Überweisung, 東京"
    assert escape(escape(TITLE)) == escape(TITLE)


def test_json_text_keeps_its_data_and_writes_c1_and_bidi_characters_as_u_escapes():
    data = {"title": TITLE + "\x85\u2066", "who": "Zoë"}
    text = json_safe(json.dumps(data, ensure_ascii=False))
    assert json.loads(text) == data
    assert raw_controls(text) == []
    assert "\\u202e" in text and "\\u0085" in text and "Zoë" in text


def test_every_text_command_shows_a_hostile_title_names_and_actor_as_escapes(
    lab, gg, hostile, tmp_path
):
    db = ("--db", lab.url, "--agent-db", lab.settings.agent_url)
    proposed = gg(*db, "propose", str(hostile))
    assert proposed.code == 0, proposed.err
    assert_shown_not_obeyed(proposed.out, f"Ratify{SHOWN}\\n1 slot", f"_{SHOWN}")
    for as_json in ([], ["--json"]):
        gap = gg(*db, "gap", *as_json)
        assert gap.code == 0, gap.err
        assert_shown_not_obeyed(gap.out, "_\\x1b[2J" if not as_json else "_\\u001b[2J")

    # An authority renamed after the freeze: the drift reason names it, escaped.
    authority = sorted(api.proposal(lab.settings).by_authority())[0]
    original = lab.scalar("SELECT name FROM os_authorities WHERE code = :c", c=authority)
    lab.execute(
        "UPDATE os_authorities SET name = :n WHERE code = :c", n=f"Forged{EVIL}", c=authority
    )
    why = gg(*db, "status", "--why")
    assert why.code == 0, why.err
    assert_shown_not_obeyed(why.out, f"Forged{SHOWN}")
    as_json = gg(*db, "status", "--json")
    assert_shown_not_obeyed(as_json.out, "Forged\\u001b[2J")
    assert any("Forged" in r["message"] for r in json.loads(as_json.out)["reasons"])
    blocked = gg(*db, "agent", "--once")
    assert blocked.code == 1
    assert_shown_not_obeyed(blocked.out, "Forged\\u001b[2J\\u001b[1A\\r\\u202e")
    for log_line in blocked.out.splitlines():
        json.loads(log_line)
    lab.execute("UPDATE os_authorities SET name = :n WHERE code = :c", n=original, c=authority)

    proposal = api.proposal(lab.settings)
    ratified = terminal(lab, tmp_path, proposal.id, answer=proposal.approval_id)
    assert ratified.code == 0, ratified.output
    assert_shown_not_obeyed(ratified.output, f"Ratify{SHOWN}\\n1 slot", f"_{SHOWN}")
    totals = (
        f"Approving it makes {len(proposal.by_authority())} authorities accountable for "
        f"{len(proposal.slots)} slots"
    )
    assert totals in ratified.output

    ready = gg(*db, "status", "--why")
    assert ready.out.startswith("READY"), ready.out
    applied = gg(*db, "apply")
    assert applied.code == 0, applied.err
    assert_shown_not_obeyed(applied.out, f"Ratify{SHOWN}\\n1 slot")
    for fmt in ("text", "json", "html"):
        report = gg(*db, "report", "--format", fmt)
        assert report.code == 0, report.err
        shown = {"text": SHOWN, "json": "\\u001b[2J", "html": "&#x1b;[2J"}[fmt]
        assert_shown_not_obeyed(report.out, f"Ratify{shown}")
    trail = gg(*db, "audit")
    assert trail.code == 0, trail.err
    assert_shown_not_obeyed(trail.out, f"mallory{SHOWN}")
    rollout_id = api.report(lab.settings).data["rollout"]
    verify_and_report(lab.settings, rollout_id)  # the agent's report files
    report_file = Path(lab.settings.report_dir) / f"{rollout_id}.txt"
    assert_shown_not_obeyed(report_file.read_text(), f"Ratify{SHOWN}")


def test_an_error_message_quoting_data_shows_it_escaped(sqlite_lab, gg, monkeypatch, tmp_path):
    (tmp_path / "empty.toml").touch()
    monkeypatch.setenv("GOVGATE_CONFIG", str(tmp_path / "empty.toml"))
    result = gg("--db", sqlite_lab.url, "status", "--proposal", f"NOPE{EVIL}", "--why")
    assert_shown_not_obeyed(result.out + result.err)


def test_the_agents_log_lines_write_control_c1_and_bidi_characters_as_u_escapes():
    text = line(event("status", title=TITLE, authority="x\x85\u2066y\x7f"))
    assert "\n" not in text and raw_controls(text) == []
    assert json.loads(text)["title"] == TITLE
    assert "\\u202e" in text and "\\u0085" in text and "\\u007f" in text


def bulk_proposal(lab, gg, tmp_path, collections: int) -> str:
    """A proposal giving one authority one duty of COLLECTIONS new governed collections."""
    demo = api.proposal(lab.settings)
    authority = sorted(demo.by_authority())[0]
    duty = sorted({slot.duty for slot in demo.slots})[0]
    engine = lab.engine()
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO os_governed_collections (collection, domain) VALUES (:c, 'bulk')"
                ),
                [{"c": f"bulk_{n:05d}"} for n in range(collections)],
            )
    finally:
        engine.dispose()
    plan = tmp_path / "bulk.yaml"
    plan.write_text(
        f"proposal: {demo.id}-BULK\napproval: {demo.approval_id}-BULK\n"
        f"title: Every bulk collection\nprotected: {json.dumps(list(demo.protected))}\n"
        f"assign:\n  {authority}:\n    collections: [bulk_*]\n    duties: [{duty}]\n"
    )
    (tmp_path / "empty.toml").touch()
    result = gg("--config", str(tmp_path / "empty.toml"), "--db", lab.url, "propose", str(plan))
    assert result.code == 0, result.err
    return f"{demo.id}-BULK"


def lines_before_prompt(output: str) -> list[str]:
    return output[: output.index(PROMPT)].splitlines()


def test_ratify_at_ten_thousand_collections_shows_the_totals_and_prompts_within_60_lines(
    sqlite_lab, gg, tmp_path
):
    proposal_id = bulk_proposal(sqlite_lab, gg, tmp_path, 10_000)
    before = sqlite_lab.snapshot()
    run = terminal(sqlite_lab, tmp_path, proposal_id, answer="no")
    assert run.code == 1, run.output[-2000:]
    screen = lines_before_prompt(run.output)
    assert len(screen) <= 60, len(screen)
    assert "accountable for 10000 slots in 10000 collections" in run.output
    assert "becomes accountable for 10000 slots in 10000 collections" in run.output
    assert "10001 more lines: run with --full to see every collection" in run.output
    assert "bulk_09999" not in run.output
    assert sqlite_lab.snapshot() == before  # cancelled: nothing approved


def test_ratify_full_prints_every_collection_before_the_prompt(sqlite_lab, gg, tmp_path):
    proposal_id = bulk_proposal(sqlite_lab, gg, tmp_path, 10_000)
    run = terminal(sqlite_lab, tmp_path, proposal_id, "--full", answer="no")
    assert run.code == 1, run.output[-2000:]
    screen = "\n".join(lines_before_prompt(run.output))
    assert all(f"  bulk_{n:05d}: " in screen for n in range(10_000))
    assert "more lines" not in screen


def test_ratify_pipes_a_long_list_through_the_configured_pager_and_then_prompts(
    sqlite_lab, gg, tmp_path
):
    proposal_id = bulk_proposal(sqlite_lab, gg, tmp_path, 10_000)
    paged = tmp_path / "paged.txt"
    pager = f"{sys.executable} -c \"import sys; open('{paged}', 'w').write(sys.stdin.read())\""
    # A real terminal type: click pages nothing on a dumb one (colour codes do not add lines).
    env = {"PAGER": pager, "TERM": "xterm"}
    run = terminal(sqlite_lab, tmp_path, proposal_id, answer="no", env=env)
    assert run.code == 1, run.output[-2000:]
    assert len(lines_before_prompt(run.output)) <= 60
    assert "shown in your pager" in run.output
    listed = paged.read_text()
    assert all(f"  bulk_{n:05d}: " in listed for n in range(10_000))
    assert os.path.getsize(paged) > 10_000 * 10
