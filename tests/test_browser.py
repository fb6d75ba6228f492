"""The dashboard in a real headless Chromium (GitHub issue 7).

`govgate serve` runs as its own process on 127.0.0.1 against a SQLite demo; Debian's
Chromium, driven by Selenium through Debian's chromedriver, reads the big word and
checks it is what `govgate status` prints, before and after a rollout, while the
page reloads itself as the state changes. It saves docs/screenshots/dashboard.png.

Chromium is installed by scripts/ensure-chromium (called by `make test`), never by
this test: without it the test is skipped, and fails under CI.
"""

from __future__ import annotations

import os
import time

import pytest

from govgate import api

from support.browser import CHROMEDRIVER, CHROMIUM, headless_chromium
from support.constants import ROOT
from support.labs import ratify
from support.pgcluster import free_port
from support.serve import govgate_serve

# The README's screenshot is only rewritten on request (it shows a time and a rollout id).
README_SCREENSHOT = ROOT / "docs" / "screenshots" / "dashboard.png"
RELOAD_TIMEOUT = 30  # seconds; the page polls every 5

try:
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # pragma: no cover - reported by the fixture below
    webdriver = None


@pytest.fixture(scope="module")
def chromium_available():
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    problem = (
        f"{', '.join(missing)} missing: run scripts/ensure-chromium"
        if missing
        else "selenium is not installed"
        if webdriver is None
        else None
    )
    if problem:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)


@pytest.fixture
def dashboard(sqlite_lab, tmp_path, chromium_available):
    """`govgate serve` on a free loopback port, as its own process; yields its base URL."""
    with govgate_serve(sqlite_lab.url, free_port(), tmp_path) as base:
        yield base


@pytest.fixture
def browser(tmp_path, chromium_available):
    with headless_chromium(tmp_path, height=900, page_timeout=30) as driver:
        yield driver


def page_word(driver) -> str | None:
    try:
        return driver.find_element(By.ID, "word").text
    except WebDriverException:  # the page is reloading
        return None


def wait_for_word(driver, expected: str) -> str:
    """The word once the page has reloaded itself to EXPECTED (no refresh from the test)."""
    try:
        WebDriverWait(driver, RELOAD_TIMEOUT, poll_frequency=0.25).until(
            lambda d: page_word(d) == expected
        )
    except WebDriverException:
        pass
    return page_word(driver)


def stays_put(driver) -> bool:
    """True when the page does not reload itself over more than one polling round."""
    driver.execute_script("window.govgateMarker = 'unchanged';")
    seconds = float(driver.find_element(By.TAG_NAME, "body").get_attribute("data-poll-seconds"))
    time.sleep(seconds * 1.5)
    return driver.execute_script("return window.govgateMarker || null;") == "unchanged"


def console_errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def loaded_resources(driver) -> list[str]:
    return driver.execute_script(
        "return [location.href].concat("
        "performance.getEntriesByType('resource').map(function (e) { return e.name; }))"
    )


def test_the_word_on_the_page_is_govgate_status_before_and_after_a_rollout(
    sqlite_lab, gg, dashboard, browser, tmp_path
):
    def cli_status() -> str:
        result = gg("--db", sqlite_lab.url, "status")
        assert result.code == 0, result.err
        return result.out.strip()

    browser.get(dashboard + "/")
    assert page_word(browser) == cli_status() == "BLOCKED"
    assert stays_put(browser), "the page reloaded although nothing changed"
    word = browser.find_element(By.ID, "word")
    assert word.value_of_css_property("color") in ("rgba(164, 22, 26, 1)", "rgb(164, 22, 26)")
    assert float(word.value_of_css_property("font-size").removesuffix("px")) >= 48
    assert browser.find_element(By.ID, "gap-total").text == "210"
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"

    ratify(sqlite_lab)
    assert wait_for_word(browser, "READY") == cli_status() == "READY"
    assert browser.find_element(By.ID, "word").value_of_css_property("color") in (
        "rgba(122, 79, 0, 1)",
        "rgb(122, 79, 0)",
    )

    applied = gg("--db", sqlite_lab.url, "apply")
    assert applied.code == 0, applied.err
    assert wait_for_word(browser, "APPLIED") == cli_status() == "APPLIED"
    assert browser.find_element(By.ID, "gap-total").text == "0"
    assert console_errors(browser) == []
    assert all(url.startswith(dashboard + "/") for url in loaded_resources(browser)), (
        loaded_resources(browser)
    )

    # The full page, as the owner sees it once all is green.
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {
            "width": 1280,
            "height": min(max(height, 600), 4000),
            "deviceScaleFactor": 1,
            "mobile": False,
        },
    )
    screenshot = (
        README_SCREENSHOT if os.environ.get("GOVGATE_SCREENSHOT") else tmp_path / "dashboard.png"
    )
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(screenshot))
    assert screenshot.stat().st_size > 10_000

    for path, heading in (
        ("/approve", "What approving changed"),
        ("/report", "Rollout report"),
        ("/audit", "Audit trail"),
    ):
        browser.get(dashboard + path)
        assert browser.find_element(By.TAG_NAME, "h1").text == heading, path
        assert console_errors(browser) == [], path
        if path == "/report":
            assert (
                "Ownership gap: 210 before, 0 after."
                in browser.find_element(By.TAG_NAME, "main").text
            )
    assert browser.find_element(By.ID, "chain").text == "Chain intact"
    assert stays_put(browser), "the audit page reloaded although nothing changed"
    assert (
        api.report(sqlite_lab.settings).data["rollout"]
        in browser.find_element(By.TAG_NAME, "main").text
    )


PHONE_SCREENSHOT = ROOT / "docs" / "screenshots" / "dashboard-400px.png"
PHONE = {"width": 400, "height": 860, "deviceScaleFactor": 1, "mobile": True}
WIDTHS = """
const doc = document.documentElement;
const word = document.getElementById('word');
const tables = [...document.querySelectorAll('table')].map(t => {
  const box = t.parentElement.classList.contains('scroll') ? t.parentElement : t;
  return {right: box.getBoundingClientRect().right, inner: box.scrollWidth, shown: box.clientWidth};
});
return {page: doc.scrollWidth, view: doc.clientWidth, tables: tables,
        word: word && {right: word.getBoundingClientRect().right, inner: word.scrollWidth,
                       shown: word.clientWidth}};
"""


def test_on_a_phone_400_px_wide_the_page_fits_the_word_is_whole_and_tables_scroll_in_their_box(
    sqlite_lab, dashboard, browser, tmp_path
):
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    browser.get(dashboard + "/")
    assert page_word(browser) == "BLOCKED"

    def check(path: str) -> dict:
        browser.get(dashboard + path)
        seen = browser.execute_script(WIDTHS)
        assert seen["view"] == 400 and seen["page"] <= seen["view"], (path, seen)
        assert all(t["right"] <= 400 + 0.5 for t in seen["tables"]), (path, seen)
        if seen["word"]:  # the big word whole: not clipped, not past the screen's edge
            assert seen["word"]["inner"] <= seen["word"]["shown"], (path, seen)
            assert seen["word"]["right"] <= 400, (path, seen)
        assert console_errors(browser) == [], path
        return seen

    check("/")
    browser.find_element(By.TAG_NAME, "details").click()  # the collection-by-collection table
    assert browser.execute_script(WIDTHS)["page"] <= 400
    approve = check("/approve")
    assert any(t["inner"] > t["shown"] for t in approve["tables"]), "no table scrolls in its box"

    # The full page, as the owner sees it on a phone while the gate is BLOCKED.
    browser.get(dashboard + "/")
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {**PHONE, "height": min(max(height, 600), 4000)}
    )
    screenshot = (
        PHONE_SCREENSHOT if os.environ.get("GOVGATE_SCREENSHOT") else tmp_path / "phone.png"
    )
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(screenshot))
    assert screenshot.stat().st_size > 10_000
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)

    ratify(sqlite_lab)
    api.apply(sqlite_lab.settings)
    for path in ("/", "/report", "/approve", "/audit"):
        check(path)
    who = browser.execute_script("return document.body.innerText")  # the audit page's
    assert "Amal (demo) <approver@oneroof.example>" in who
