"""Jinja2 rendering shared by `report --format html` and `govgate serve`."""

from __future__ import annotations

from functools import lru_cache

from jinja2 import Environment, PackageLoader, select_autoescape

from ..runbook.report import sentences
from . import words


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("govgate.web", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    words.register(env)  # `words`, `code_spans`: values and sentences as people read them
    return env


def render_report_page(report: dict) -> str:
    """A standalone HTML page of one rollout report."""
    return (
        environment()
        .get_template("report.html")
        .render(report=report, sentences=sentences(report), standalone=True)
    )
