"""The Governance module of govgate's Directus extension in a real headless Chromium.

A lab of its own (Directus 12.4.0 on PostgreSQL), set up as an operator does: `govgate init` (with
the lab's Directus URL and admin token), `govgate init --roles` and the agent's login, One-Roof's
governance data and its plan frozen by an engineer, then Directus restarted with the bundle
`govgate directus extension` installs. The approver has app access and a password; Debian's
Chromium (driven by Selenium through Debian's chromedriver, as in tests/test_browser.py) opens
the app as http://localhost:PORT — WebAuthn needs a host name, not an IP address — with a Chrome
virtual authenticator (CTAP2, internal, resident keys, user verification) standing in for the
person's passkey.

The story: BLOCKED with 210 slots; the approver registers a passkey; the operator trusts it
(`passkey_line` into an allowed_signers file) and restarts `govgate serve` with it; the approver
types the approval id and signs; the gate says READY; the agent applies; the module says
APPLIED; with `govgate serve` stopped it says UNKNOWN. With GOVGATE_SCREENSHOT=1 it saves
docs/screenshots/directus-module-{blocked,ready,applied}.png for the README.

Chromium is installed by scripts/ensure-chromium, never by this test: without it the test is
skipped, and fails under CI.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from govgate import api
from govgate.config import Settings

from .dlab import ROOT, DirectusLab, ok, running_lab
from .test_extension import (
    ExtLab,
    agent_login,
    directus_with_bundle,
    free_port,
    gate_settings,
    lab_serve,
    propose_one_roof,
    set_up_collections,
    trust_passkeys,
)
from support.browser import CHROMEDRIVER, CHROMIUM, headless_chromium

SCREENSHOTS = ROOT / "docs" / "screenshots"
POLL_TIMEOUT = 30  # seconds; the module asks every 5
APPROVER = "approver@example.com"
AGENT = "agent@example.com"

try:
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.common.virtual_authenticator import (
        Protocol,
        Transport,
        VirtualAuthenticatorOptions,
    )
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # pragma: no cover - reported by the fixture below
    webdriver = None


def chromium_problem() -> str | None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        return f"{', '.join(missing)} missing: run scripts/ensure-chromium"
    return "selenium is not installed" if webdriver is None else None


@dataclass
class AppLab:
    ext: ExtLab
    password: str  # the approver's
    proposal: object  # the frozen One-Roof proposal
    settings: Settings  # the operator's and the agent's (no trust root yet)

    @property
    def app(self) -> str:
        """Directus as the person opens it: by a host name, for WebAuthn."""
        return f"http://localhost:{self.ext.lab.env['DIRECTUS_PORT']}"


def create_people(lab: DirectusLab) -> tuple[dict[str, str], dict[str, str], str]:
    """The approver (app access, a password set by the admin) and the agent's user (API-only)."""
    users, tokens = {}, {}
    password = f"pw-{secrets.token_hex(10)}"
    with lab.client() as http:
        policy = ok(
            http.post(
                "/policies",
                json={"name": "Governance approver (app)", "icon": "gavel", "app_access": True},
            )
        )["id"]
        for collection in ("os_proposal_approvals", "os_approval_signatures", "os_passkeys"):
            for action in ("create", "read"):
                body = {"policy": policy, "collection": collection, "action": action}
                ok(http.post("/permissions", json={**body, "fields": ["*"]}))
        role = ok(http.post("/roles", json={"name": "Governance approvers (app)"}))["id"]
        ok(http.post("/access", json={"role": role, "policy": policy}))
        for email, extra in ((APPROVER, {"role": role}), (AGENT, {})):
            token = f"gg-app-{secrets.token_hex(16)}"
            body = {"email": email, "password": secrets.token_hex(12), "token": token, **extra}
            users[email], tokens[email] = ok(http.post("/users", json=body))["id"], token
        ok(http.patch(f"/users/{users[APPROVER]}", json={"password": password}))
    return users, tokens, password


@pytest.fixture(scope="module")
def app_lab(tmp_path_factory) -> Iterator[AppLab]:
    problem = chromium_problem()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    if os.geteuid() != 0:
        pytest.skip(
            "the Directus lab starts PostgreSQL as the postgres OS user: run the suite as root"
        )
    tmp = tmp_path_factory.mktemp("directus-app")
    with running_lab("pg") as lab:
        set_up_collections(lab)
        agent_url = agent_login(lab)
        proposal = propose_one_roof(lab, tmp)
        users, tokens, password = create_people(lab)
        serve_port = free_port()
        extra = {
            "GOVGATE_AGENT_USER": AGENT,
            "GOVGATE_SERVE_URL": f"http://127.0.0.1:{serve_port}",
            "PUBLIC_URL": f"http://localhost:{lab.env['DIRECTUS_PORT']}",
        }
        settings = gate_settings(
            lab, AGENT, agent_db_url=agent_url, report_dir=str(tmp / "reports")
        )
        with directus_with_bundle(lab, extra, tmp) as log:
            ext = ExtLab(lab, lab.url, serve_port, users, tokens, log, tmp)
            yield AppLab(ext, password, proposal, settings)


@pytest.fixture
def browser(tmp_path, app_lab):
    with headless_chromium(tmp_path, height=1000, page_timeout=60) as driver:
        yield driver


# -- what the page shows ---------------------------------------------------------------------------


def text_of(driver, by: str, what: str) -> str | None:
    try:
        return driver.find_element(by, what).text
    except WebDriverException:  # not there (yet), or re-rendered meanwhile
        return None


def gate_word(driver) -> str | None:
    return text_of(driver, By.CSS_SELECTOR, "[data-testid=gate-word]")


def wait_until(driver, condition, what: str, timeout: float = POLL_TIMEOUT):
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.25).until(lambda d: condition(d))
    except WebDriverException:
        main = text_of(driver, By.TAG_NAME, "main") or text_of(driver, By.TAG_NAME, "body")
        pytest.fail(f"the module never showed {what}; it shows:\n{main}", pytrace=False)


def wait_for_word(driver, word: str) -> None:
    wait_until(driver, lambda d: gate_word(d) == word, f"the word {word}")


def slots(driver) -> str | None:
    return text_of(driver, By.XPATH, "//dt[normalize-space()='Slots']/following-sibling::dd")


def button(driver, label: str):
    return driver.find_element(By.XPATH, f"//button[contains(normalize-space(), '{label}')]")


def screenshot(driver, name: str, tmp_path: Path) -> None:
    folder = SCREENSHOTS if os.environ.get("GOVGATE_SCREENSHOT") else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"directus-module-{name}.png"
    driver.execute_script(  # the word on top: Directus scrolls the module in a box of its own
        "for (let e = document.querySelector('[data-testid=gate-word]'); e; e = e.parentElement)"
        " e.scrollTop = 0; window.scrollTo(0, 0);"
    )
    assert driver.save_screenshot(str(path))
    assert path.stat().st_size > 10_000


def sign_in(driver, app: str, email: str, password: str) -> None:
    """The Directus app's own sign-in page, as a person uses it."""
    driver.get(f"{app}/admin/login")
    wait_until(
        driver, lambda d: d.find_elements(By.CSS_SELECTOR, "input[type=password]"), "sign-in"
    )
    driver.find_element(By.CSS_SELECTOR, "input[type=email]").send_keys(email)
    driver.find_element(By.CSS_SELECTOR, "input[type=password]").send_keys(password + Keys.ENTER)
    wait_until(driver, lambda d: "/admin/login" not in d.current_url, "a signed-in page")


@contextmanager
def passkey_device(driver) -> Iterator[str]:
    """A Chrome virtual authenticator, as a platform passkey with user verification."""
    options = VirtualAuthenticatorOptions(
        protocol=Protocol.CTAP2,
        transport=Transport.INTERNAL,
        has_resident_key=True,
        has_user_verification=True,
        is_user_verified=True,
    )
    driver.add_virtual_authenticator(options)
    try:
        yield driver.virtual_authenticator_id
    finally:
        driver.remove_virtual_authenticator()


# -- the story -----------------------------------------------------------------------------------


def test_an_approver_registers_a_passkey_and_approves_in_the_module_and_the_gate_counts_it(
    app_lab, browser, tmp_path
):
    ext, lab, proposal = app_lab.ext, app_lab.ext.lab, app_lab.proposal
    first_serve = tmp_path / "serve-untrusted"
    first_serve.mkdir()
    with passkey_device(browser):
        with lab_serve(ext, first_serve, app_lab.settings):
            sign_in(browser, app_lab.app, APPROVER, app_lab.password)
            browser.get(f"{app_lab.app}/admin/governance")
            wait_for_word(browser, "BLOCKED")
            wait_until(browser, lambda d: slots(d) == "210", "210 slots")
            assert proposal.id in browser.find_element(By.TAG_NAME, "main").text
            screenshot(browser, "blocked", tmp_path)

            button(browser, "Register a passkey").click()
            wait_until(
                browser,
                lambda d: "Passkey registered" in (text_of(d, By.TAG_NAME, "main") or ""),
                "the passkey registered",
            )

        # The operator trusts the new passkey, and restarts govgate serve with that trust root.
        signers = trust_passkeys(
            lab, ext.users[APPROVER], APPROVER, tmp_path / "allowed_signers", "localhost"
        )
        assert signers.read_text().startswith(f'{APPROVER} namespaces="govgate-approval" sk-')
        trusted = tmp_path / "serve-trusted"
        trusted.mkdir()
        settings = replace(app_lab.settings, allowed_signers=str(signers))
        with lab_serve(ext, trusted, settings):
            browser.refresh()
            wait_for_word(browser, "BLOCKED")
            typed = wait_until(
                browser, lambda d: d.find_elements(By.ID, "gg-typed-id"), "the approval form"
            )[0]
            typed.send_keys(proposal.approval_id)
            approve = wait_until(
                browser,
                lambda d: (b := button(d, "Approve with passkey")).is_enabled() and b,
                "the approve button enabled (a passkey registered, the id typed)",
            )
            approve.click()
            wait_until(
                browser,
                lambda d: "Approved: approval" in (text_of(d, By.TAG_NAME, "main") or ""),
                "the approval recorded",
            )
            verdict = api.status(settings)
            assert verdict.status.value == "READY", [str(r) for r in verdict.reasons]
            assert verdict.approval_id == proposal.approval_id
            kinds = lab.rows(
                "SELECT kind FROM os_approval_signatures WHERE approval_id = :id",
                id=proposal.approval_id,
            )
            assert kinds == [("webauthn",)]
            wait_for_word(browser, "READY")
            screenshot(browser, "ready", tmp_path)

            applied = api.apply(settings)
            assert applied.rollout_id
            wait_for_word(browser, "APPLIED")
            wait_until(
                browser,
                lambda d: text_of(d, By.ID, "gg-changes-heading") == "What approving changed",
                "the proposal in place",
            )
            screenshot(browser, "applied", tmp_path)

        # govgate serve is gone: the module cannot ask it, and says so.
        wait_for_word(browser, "UNKNOWN")
        assert "not reachable" in browser.find_element(By.TAG_NAME, "main").text
