"""The read-only web dashboard over HTTP (GitHub issue 7), on SQLite and on PostgreSQL.

Every page and its JSON twin, before and after a rollout; write methods refused on
every path; read-only connections only; no external URL; semantic HTML and contrast.
The same dashboard in a real browser is in test_browser.py; the standalone report page in
test_report.py.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markupsafe import escape as html_escape

with (
    warnings.catch_warnings()
):  # starlette 1.x prefers httpx2; httpx is what requirements/dev.txt pins
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

from govgate import api
from govgate.config import Settings
from govgate.db import session as session_mod
from govgate.db.engine import make_engine
from govgate.render import document
from govgate.runbook.report import sentences
from govgate.signing.payload import decode
from govgate.web import app as web_app
from govgate.web import views

from support.constants import AUTHORITIES, DUTIES, PROPOSAL
from support.labs import ratify

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

PAGES = ("/", "/approve", "/report", "/audit")
TWINS = (
    "/status.json",
    "/gap.json",
    "/verify.json",
    "/proposal.json",
    "/report.json",
    "/audit.json",
)
ROUTES = PAGES + TWINS + ("/static/refresh.js",)
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
TEMPLATES = Path(web_app.__file__).parent / "templates"


def client_for(settings: Settings, **options) -> TestClient:
    return TestClient(web_app.create_app(settings, **options))


@pytest.fixture
def client(lab) -> TestClient:
    with client_for(lab.settings) as c:
        yield c


def word(html: str) -> str:
    found = re.search(r'<span id="word" class="word (\w+)">(\w+)</span>', html)
    assert found, "no word on the page"
    assert found.group(1) == found.group(2), "the word's colour class is not its own"
    return found.group(2)


# -- every view and its twin -------------------------------------------------------


def test_gate_page_shows_the_word_and_the_gap_before_a_rollout(lab, client):
    verdict = api.status(lab.settings)
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert word(page.text) == verdict.status.value == "BLOCKED"
    assert '<span id="gap-total" class="big">210</span> of 210 slots' in page.text
    assert "no approval exists for proposal PROP-AUTHMODEL-1" in page.text
    assert f"govgate ratify {PROPOSAL}" in page.text  # what would clear it
    for authority in AUTHORITIES:
        assert f'<th scope="row">{authority}</th>' in page.text

    status = client.get("/status.json")
    assert status.status_code == 200 and status.headers["content-type"] == "application/json"
    assert status.json() == document(api.status(lab.settings, liveness=True))
    assert status.json()["status"] == "BLOCKED" and status.json()["gap"] == 210

    assert "Verification:" not in page.text  # nothing to verify before a rollout
    verify = client.get("/verify.json")
    assert verify.status_code == 200 and verify.json() == document(api.verify(lab.settings))
    assert verify.json()["checks"] == []

    gap = client.get("/gap.json")
    assert gap.status_code == 200
    assert gap.json() == document(api.gap(lab.settings))
    assert gap.json()["total"] == 210 and len(gap.json()["by_collection"]) == 35


def test_approve_page_shows_authority_by_authority_collection_by_collection_duty_by_duty(
    lab, client
):
    proposal = views.current_proposal(lab.settings)
    page = client.get("/approve")
    assert page.status_code == 200
    assert "<h1>What changes when you approve</h1>" in page.text
    assert "The ownership gap goes from <strong>210</strong>\nto <strong>0</strong>" in page.text
    assert "GOV-DOT becomes accountable for 54 slots in 9 collections" in page.text
    for authority, collections in proposal.by_authority().items():
        assert f'<h2 id="{authority}">{authority} becomes accountable for' in page.text
        for collection in collections:
            assert f'<th scope="row">{collection}</th>' in page.text
    for duty in DUTIES:
        assert f'<th scope="col" class="mark">{duty}</th>' in page.text
    assert page.text.count('<span class="sr-only">yes</span>') == 210
    assert proposal.sha256 in page.text and f"govgate ratify {PROPOSAL}" in page.text

    twin = client.get("/proposal.json")
    assert twin.status_code == 200
    data = twin.json()
    assert data == document(views.proposal_view(proposal, api.status(lab.settings)))
    assert data["proposal"]["sha256"] == api.status(lab.settings).proposal_sha256
    assert data["status"] == "BLOCKED" and data["in_place"] is False
    assert data["duties"] == list(DUTIES)
    assert [a["authority"] for a in data["authorities"]] == list(AUTHORITIES)
    assert sum(a["slots"] for a in data["authorities"]) == 210
    assert sum(len(d) for a in data["authorities"] for d in a["collections"].values()) == 210


def test_report_page_says_no_rollout_yet_in_friendly_words(lab, client):
    page = client.get("/report")
    assert page.status_code == 404
    assert "<h1>No rollout yet</h1>" in page.text
    assert "Traceback" not in page.text and "Refused" not in page.text
    twin = client.get("/report.json")
    assert twin.status_code == 404
    assert twin.json() == {
        "format_version": 1,
        "error": {
            "kind": "Refused",
            "message": "there is no rollout to report on yet",
            "hint": "the agent writes a report after each rollout",
        },
    }


def test_audit_page_shows_the_trail_and_its_chain_status(lab, client):
    chain, events = api.audit_verify(lab.settings), api.audit_trail(lab.settings)
    assert chain.ok and events
    page = client.get("/audit")
    assert page.status_code == 200
    assert '<span id="chain" class="ok">Chain intact</span>' in page.text
    assert f"all {chain.rows} events" in page.text
    for event in events:
        assert f'<th scope="row" class="num">{event.seq}</th>' in page.text
    twin = client.get("/audit.json")
    assert twin.status_code == 200
    assert twin.json() == document(views.audit_view(chain, events, web_app.DEFAULT_AUDIT_LIMIT))
    newest = client.get("/audit.json?limit=1").json()
    assert [e["seq"] for e in newest["events"]] == [events[-1].seq] and newest["chain"][
        "rows"
    ] == chain.rows
    assert len(client.get("/audit.json?limit=all").json()["events"]) == len(events)
    for bad in ("0", "-1", "x", "1e3"):
        assert client.get(f"/audit.json?limit={bad}").status_code == 400
        assert client.get(f"/audit?limit={bad}").status_code == 400


def test_audit_page_shows_a_broken_chain(lab, client):
    lab.execute("UPDATE os_audit SET actor = 'mallory' WHERE seq = 1")
    page = client.get("/audit")
    assert page.status_code == 200
    assert (
        '<span id="chain" class="bad">Chain BROKEN</span>: row 1 was edited after it was written'
        in page.text
    )
    data = client.get("/audit.json").json()
    assert data["chain"]["ok"] is False and data["chain"]["broken_at"] == 1


def test_every_view_follows_the_gate_through_ratification_rollout_and_rollback(lab, client):
    blocked = client.get("/status.json").json()

    approval = ratify(lab)
    assert word(client.get("/").text) == api.status(lab.settings).status.value == "READY"
    ready = client.get("/status.json").json()
    assert (ready["status"], ready["approval"], ready["fingerprint"]) == (
        "READY",
        approval.approval_id,
        blocked["fingerprint"],
    )
    assert client.get("/report").status_code == 404

    result = api.apply(lab.settings)
    page = client.get("/")
    assert word(page.text) == api.status(lab.settings).status.value == "APPLIED"
    assert '<span id="gap-total" class="big">0</span> of 210 slots' in page.text
    assert f"rollout <strong>{result.rollout_id}</strong>" in page.text
    applied = client.get("/status.json").json()
    assert (applied["status"], applied["gap"], applied["rollout"]) == (
        "APPLIED",
        0,
        result.rollout_id,
    )
    assert client.get("/gap.json").json()["total"] == 0
    assert 'Verification: <span class="ok">all green</span>' in page.text
    for check in api.verify(lab.settings).checks:
        assert (
            f'<tr><th scope="row">{check.name}</th><td><span class="ok">✓ green</span></td>'
            in page.text
        )
    assert client.get("/verify.json").json() == document(api.verify(lab.settings))
    assert client.get("/verify.json").json()["ok"] is True

    approve = client.get("/approve")
    assert "<h1>What approving changed</h1>" in approve.text and "is in place" in approve.text
    assert client.get("/proposal.json").json()["in_place"] is True

    report = client.get("/report")
    assert report.status_code == 200
    for line in sentences(api.report(lab.settings).data):
        assert str(html_escape(line)) in report.text
    assert "Ownership gap: 210 before, 0 after." in report.text
    assert client.get("/report.json").json() == document(api.report(lab.settings))
    assert client.get("/report.json").json()["rollout"] == result.rollout_id

    audit = client.get("/audit.json").json()
    assert audit["chain"]["ok"] and {"ratification", "rollout"} <= {
        e["kind"] for e in audit["events"]
    }

    api.rollback(lab.settings)
    back = client.get("/status.json").json()
    assert (back["status"], back["gap"], back["fingerprint"]) == (
        "BLOCKED",
        210,
        blocked["fingerprint"],
    )
    assert any(r["code"] == "approval-used" for r in back["reasons"])
    rolled_back = client.get("/report")
    assert rolled_back.status_code == 200 and "This rollout was rolled back" in rolled_back.text
    assert client.get("/report.json").json()["state"] == "rolled_back"


# -- read-only by construction -------------------------------------------------------


@pytest.mark.parametrize("method", WRITE_METHODS)
def test_every_write_method_on_every_path_is_refused(lab, client, method):
    before = lab.snapshot()
    for path in ROUTES + ("/no-such-page", "/static/no-such-file", "/approve/PROP-AUTHMODEL-1"):
        response = client.request(method, path, json={"approved_by": "mallory"})
        assert response.status_code == 405, (method, path)
        assert response.headers["allow"] == "GET, HEAD"
    assert lab.snapshot() == before


def test_any_other_method_is_refused_too(sqlite_lab):
    with client_for(sqlite_lab.settings) as c:
        for method in ("OPTIONS", "TRACE", "PROPFIND", "CONNECT"):
            assert c.request(method, "/").status_code == 405, method


def test_get_and_head_answer_on_every_route(sqlite_lab):
    with client_for(sqlite_lab.settings) as c:
        for path in ROUTES:
            got, head = c.get(path), c.head(path)
            assert got.status_code == head.status_code, path
            assert got.status_code in (200, 404) and (got.status_code == 404) == path.startswith(
                "/report"
            )
            assert head.content == b""


def test_the_app_opens_only_read_only_connections(lab, client, monkeypatch):
    opened: list[bool] = []
    real = session_mod.make_engine

    def spy(url, *, read_only=False, create=False):
        opened.append(read_only)
        return real(url, read_only=read_only, create=create)

    monkeypatch.setattr(session_mod, "make_engine", spy)
    for path in ROUTES + ("/audit.json?limit=1",):
        client.get(path)
    assert opened and all(opened), f"{opened.count(False)} writable connections"

    # and a read-only connection cannot write, by the database's own rules
    engine = make_engine(lab.url, read_only=True)
    try:
        with pytest.raises(Exception, match="(?i)read.?only"):
            with engine.begin() as conn:
                conn.exec_driver_sql("DELETE FROM os_audit")
    finally:
        engine.dispose()
    assert lab.scalar("SELECT COUNT(*) FROM os_audit") > 0


def test_the_app_has_no_route_but_get_ones():
    app = web_app.create_app(Settings())
    for route in app.routes:
        assert getattr(route, "methods", None) in (None, {"GET", "HEAD"}), route.path


def test_a_loopback_server_accepts_only_loopback_host_names(sqlite_lab):
    app = web_app.create_app(sqlite_lab.settings, allowed_hosts=web_app.loopback_hosts("127.0.0.1"))
    for base, code in (
        ("http://127.0.0.1:8765", 200),
        ("http://localhost:8765", 200),
        ("http://attacker.example", 400),
    ):
        with TestClient(app, base_url=base) as c:
            assert c.get("/status.json").status_code == code, base
    assert web_app.loopback_hosts("0.0.0.0") is None


# -- offline, self-refreshing, accessible ----------------------------------------------


@pytest.fixture
def applied_client(sqlite_lab):
    """A dashboard on a database whose rollout is in place (every page has content)."""
    ratify(sqlite_lab)
    api.apply(sqlite_lab.settings)
    with client_for(sqlite_lab.settings) as c:
        yield c


def all_pages(client) -> dict[str, str]:
    return {path: client.get(path).text for path in PAGES + ("/no-such-page",)}


def test_no_page_names_an_external_url(client, applied_client):
    for c in (client, applied_client):
        for path, html in all_pages(c).items():
            assert "http://" not in html and "https://" not in html, path
            assert "url(" not in html and "@import" not in html, path
            for src in re.findall(r'(?:src|href|action)="([^"]*)"', html):
                assert src.startswith(("/", "#")) and not src.startswith("//"), (path, src)
        for twin in TWINS:
            assert "http://" not in c.get(twin).text and "https://" not in c.get(twin).text
        csp = c.get("/").headers["content-security-policy"]
        assert (
            "default-src 'none'" in csp
            and "script-src 'self'" in csp
            and "connect-src 'self'" in csp
        )


def test_the_refresh_script_is_served_by_the_package(client):
    script = client.get("/static/refresh.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "http" not in script.text.replace('"Accept": "application/json"', "")
    assert "location.reload" in script.text


def test_each_page_watches_the_state_it_shows_and_works_without_javascript(lab, client):
    status = client.get("/status.json").json()
    expected = views.watch_value(status, views.WATCHED_STATUS_FIELDS)
    for path in PAGES:
        html = client.get(path).text
        watches = re.findall(
            r'<meta name="govgate-watch" data-url="([^"]+)" data-fields="([^"]+)" '
            r'data-value="([^"]+)">',
            html,
        )
        assert watches[0][:2] == ("/status.json", ",".join(views.WATCHED_STATUS_FIELDS)), path
        assert watches[0][2].replace("&#34;", '"') == expected, path
        assert '<script src="/static/refresh.js"></script>' in html
        assert '<noscript><meta http-equiv="refresh" content="30"></noscript>' in html
    audit_watch = re.findall(
        r'data-url="/audit.json\?limit=1" data-fields="([^"]+)" data-value="([^"]+)"',
        client.get("/audit").text,
    )
    data = client.get("/audit.json?limit=1").json()
    assert audit_watch == [
        (
            ",".join(views.WATCHED_AUDIT_FIELDS),
            views.watch_value(data, views.WATCHED_AUDIT_FIELDS).replace('"', "&#34;"),
        )
    ]


def test_watch_value_reads_dotted_paths_like_the_script():
    data = {
        "status": "READY",
        "gap": 0,
        "chain": {"ok": True, "rows": 3},
        "events": [{"seq": 1}, {"seq": 2}],
    }
    assert (
        views.watch_value(
            data, ("status", "gap", "chain.ok", "chain.rows", "events.-1.seq", "nope.x")
        )
        == '["READY",0,true,3,2,null]'
    )


class Structure(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def count(self, tag: str) -> int:
        return sum(1 for t, _ in self.tags if t == tag)


def test_pages_are_semantic_html(client, applied_client):
    for c in (client, applied_client):
        for path, html in all_pages(c).items():
            doc = Structure()
            doc.feed(html)
            assert doc.tags[0] == ("html", {"lang": "en"}), path
            assert (doc.count("main"), doc.count("nav"), doc.count("h1"), doc.count("title")) == (
                1,
                1,
                1,
                1,
            ), path
            for tag, attrs in doc.tags:
                if tag == "th":
                    assert attrs.get("scope") in ("row", "col"), (path, attrs)
                if tag == "img":
                    assert "alt" in attrs, path
            current = [a for t, a in doc.tags if t == "a" and a.get("aria-current") == "page"]
            assert len(current) == (0 if path == "/no-such-page" else 1), path


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_text_colours_have_readable_contrast():
    css = (TEMPLATES / "base.html").read_text()
    colours = dict(re.findall(r"--([a-z]+):\s*(#[0-9a-fA-F]{6})", css))
    backgrounds = [colours["bg"], colours["panel"]]
    for name in ("ink", "muted", "link", "blocked", "ready", "applied"):
        for bg in backgrounds:
            assert contrast(colours[name], bg) >= 4.5, (
                name,
                bg,
                round(contrast(colours[name], bg), 2),
            )
    assert contrast("#000000", "#ffffff") == pytest.approx(21)


# -- failures ---------------------------------------------------------------------


def test_an_unreachable_database_gives_a_friendly_page_and_a_503_twin(tmp_path):
    with client_for(Settings(db_url=f"sqlite:///{tmp_path}/missing.db")) as c:
        page = c.get("/")
        assert page.status_code == 503
        assert "The database cannot be read right now" in page.text and "Traceback" not in page.text
        assert 'data-value="unavailable"' in page.text
        twin = c.get("/status.json")
        assert twin.status_code == 503 and twin.json()["error"]["kind"] == "DatabaseUnreachable"
        assert c.get("/static/refresh.js").status_code == 200


def test_a_missing_page_or_a_bad_request_does_not_reload_itself(sqlite_lab):
    with client_for(sqlite_lab.settings) as c:
        for path, code in (
            ("/no-such-page", 404),
            ("/static/no-such-file.js", 404),
            ("/audit?limit=x", 400),
        ):
            page = c.get(path)
            assert page.status_code == code and page.headers["content-type"].startswith(
                "text/html"
            ), path
            assert "govgate-watch" not in page.text and 'http-equiv="refresh"' not in page.text, (
                path
            )
        missing = c.get("/no-such-twin.json")
        assert missing.status_code == 404 and missing.json()["error"]["kind"] == "HTTPException"


def test_serve_refuses_to_start_on_a_database_it_cannot_read(gg, tmp_path):
    result = gg("--db", f"sqlite:///{tmp_path}/missing.db", "serve", "--port", "0")
    assert result.code == 3
    assert "no SQLite database" in result.err


def test_serve_is_documented_in_the_command_line_help(gg):
    result = gg("serve", "--help")
    assert result.code == 0
    assert "--host" in result.out and "127.0.0.1" in result.out and "--port" in result.out


def test_the_approval_payload_is_what_a_passkey_signs_and_names_the_person(lab, client):
    user = lab.scalar("SELECT id FROM directus_users WHERE email = 'approver@oneroof.example'")
    answer = client.get(
        "/approval-payload.json", params={"approval_id": "APR-PASSKEY-1", "approver": str(user)}
    )
    assert answer.status_code == 200, answer.text
    offer = answer.json()
    signed = decode(offer["payload"].encode())
    assert offer["challenge"] == hashlib.sha256(offer["payload"].encode()).hexdigest()
    assert (signed.approval_id, signed.approver) == ("APR-PASSKEY-1", "approver@oneroof.example")
    assert signed.not_after == offer["not_after"] and signed.statement == offer["statement"]
    assert lab.scalar("SELECT COUNT(*) FROM os_proposal_approvals") == 0  # nothing written


def test_the_approval_payload_is_refused_for_the_agent_and_without_its_parameters(lab):
    agent = lab.scalar("SELECT id FROM directus_users WHERE email = 'agent@oneroof.example'")
    settings = replace(lab.settings, directus_agent_user="agent@oneroof.example")
    with client_for(settings) as client:
        by_agent = client.get(
            "/approval-payload.json", params={"approval_id": "APR-X", "approver": str(agent)}
        )
        assert by_agent.status_code == 404 and "agent" in by_agent.json()["error"]["message"]
        missing = client.get("/approval-payload.json", params={"approval_id": "APR-X"})
        assert missing.status_code == 400 and "approver" in missing.json()["error"]["message"]
        unknown = client.get(
            "/approval-payload.json", params={"approval_id": "APR-X", "approver": "nobody@x"}
        )
        assert (
            unknown.status_code == 400
            and "not a Directus user" in unknown.json()["error"]["message"]
        )


def test_the_proposal_twin_carries_the_hash_an_approval_must_name(lab, client):
    proposal = client.get("/proposal.json").json()["proposal"]
    assert proposal["sha256"] == api.status(lab.settings).proposal_sha256
    assert len(proposal["sha256"]) == 64


def test_the_page_says_whether_rollouts_run_contained_by_the_kernel(sqlite_lab):
    from govgate.guards import containment

    said = containment.decide(sqlite_lab.settings)
    with client_for(sqlite_lab.settings) as client:
        page = client.get("/")
        assert 'id="containment"' in page.text
        assert str(html_escape(said.detail)) in page.text
        assert client.get("/status.json").json()["containment"]["contained"] is said.contained
