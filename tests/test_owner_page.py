"""The owner's page shows people and values as people read them (issue 16): the audit's "Who" is a
name and an e-mail where Directus knows the person (never a bare UUID), and no raw value —
Python's `False`/`True`/`None`, JSON brackets, Markdown backticks — reaches the page in any state
of the gate. (At 400 px wide in a real browser: test_browser.py.)"""

from __future__ import annotations

import re
import warnings
from html.parser import HTMLParser

from govgate import api
from govgate.web import app as web_app
from govgate.web.words import code_spans, words

from support.labs import ratify

with warnings.catch_warnings():  # starlette 1.x prefers httpx2; httpx is what dev.txt pins
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

PAGES = ("/", "/approve", "/report", "/audit")
RAW = re.compile(r"\b(False|True|None)\b|`|\{'|\['|\[\]|\{\}")
PERSON = "Amal (demo) <approver@oneroof.example>"


class _Text(HTMLParser):
    """The text a person sees: no script, no style, no attribute."""

    def __init__(self):
        super().__init__()
        self.parts, self.hidden = [], 0

    def handle_starttag(self, tag, attrs):
        self.hidden += tag in ("script", "style")

    def handle_endtag(self, tag):
        self.hidden -= tag in ("script", "style")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def seen(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts)


def raw_values(client) -> dict[str, list[str]]:
    found = {}
    for path in PAGES:
        page = client.get(path)
        assert page.status_code in (200, 404), path
        hits = [m.group(0) for m in RAW.finditer(seen(page.text))]
        if hits:
            found[path] = hits
    return found


def test_no_raw_value_reaches_the_page_in_any_state_of_the_gate(lab):
    with TestClient(web_app.create_app(lab.settings)) as client:
        assert raw_values(client) == {}  # BLOCKED
        page = client.get("/").text
        assert "<code>govgate ratify PROP-AUTHMODEL-1 --sign-key KEY</code>" in page
        ratify(lab)
        assert raw_values(client) == {}  # READY
        api.apply(lab.settings)
        assert raw_values(client) == {}  # APPLIED
        lab.execute(
            "UPDATE os_accountability SET authority = 'GOV-DOT' "
            "WHERE collection = 'kg_entities' AND duty = 'ownership'"
        )
        assert raw_values(client) == {}  # DRIFTED
        api.rollback(lab.settings, force=True)
        assert raw_values(client) == {}  # rolled back (its audit detail: "forced: yes")
        audit = seen(client.get("/audit?limit=all").text)
        assert "forced: yes" in audit and "restored: " in audit


def test_the_audit_shows_people_by_name_and_e_mail_whether_named_by_e_mail_or_by_id(lab):
    ratify(lab)
    uuid = lab.scalar("SELECT id FROM directus_users WHERE email = 'approver@oneroof.example'")
    assert api.people(lab.settings, [str(uuid), "approver@oneroof.example", "root"]) == {
        str(uuid): PERSON,
        "approver@oneroof.example": PERSON,
    }
    with TestClient(web_app.create_app(lab.settings)) as client:
        rows = re.findall(r"<td>ratification</td><td>(.*?)</td>", client.get("/audit").text)
        assert rows == [PERSON.replace("<", "&lt;").replace(">", "&gt;")]
        assert client.get("/audit.json").json()["people"]["approver@oneroof.example"] == PERSON


def test_values_are_written_in_words_and_backticks_become_code():
    assert [words(v) for v in (False, True, None, [], {"a": [1, 2]}, 0)] == [
        "no",
        "yes",
        "none",
        "none",
        "a: 1, 2",
        "0",
    ]
    assert str(code_spans("run `govgate init` <now>")) == (
        "run <code>govgate init</code> &lt;now&gt;"
    )
    assert str(code_spans("`<b>`")) == "<code>&lt;b&gt;</code>"
