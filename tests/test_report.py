"""The rollout report (SPEC 9): what a rollout did, in sentences a person can check.

`govgate report --format html` prints the report as one standalone page: no dashboard chrome,
no script, no external URL. Elsewhere: the report's sentences through `govgate report`
in test_runbook.py; the agent's report files (JSON equal to the one kept in the
database, and the text with its verification) in test_agent.py; the dashboard's report
page and its JSON twin in test_web.py.
"""

from __future__ import annotations

from govgate import api
from govgate.web.pages import render_report_page

from support.labs import ratify


def test_standalone_report_html_has_no_dashboard_chrome(sqlite_lab):
    ratify(sqlite_lab)
    api.apply(sqlite_lab.settings)
    html = render_report_page(api.report(sqlite_lab.settings).data)
    assert "<h1>Rollout report</h1>" in html and "Ownership gap: 210 before, 0 after." in html
    assert "<script" not in html and "<nav" not in html and "govgate-watch" not in html
    assert "http://" not in html and "https://" not in html
