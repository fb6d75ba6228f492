"""govgate's REST client (`directus.rest`) against a real Directus 12.4.0: logins, tokens, items.

Every case talks to the lab's Directus; nothing is stubbed. Users made here have fresh
e-mail addresses, so the tests do not depend on each other's order.
"""

from __future__ import annotations

import secrets
import socket

import pytest

from govgate.directus import rest
from govgate.directus.rest import DirectusRefused, DirectusUnavailable

from .dlab import (
    AGENT_EMAIL,
    APPROVER_EMAIL,
    fresh_totp,
    set_password,
    totp,
    two_factor_user,
)


def approval_body(proposal, approval_id: str) -> dict:
    return {
        "id": approval_id,
        "proposal_id": proposal.id,
        "proposal_sha256": proposal.sha256,
        "statement": f"I ratify {proposal.id} with hash {proposal.sha256}.",
    }


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_logging_in_with_email_and_password_gives_a_session_of_that_user(world):
    password = set_password(world, APPROVER_EMAIL)
    session = rest.login(world.lab.url, APPROVER_EMAIL, password)
    sessions = "SELECT COUNT(*) FROM directus_sessions WHERE token = :t"
    try:
        assert session.me()["id"] == world.users[APPROVER_EMAIL]
        assert session.token not in repr(session) and session.refresh_token not in repr(session)
        assert world.lab.scalar(sessions, t=session.refresh_token) == 1
    finally:
        session.logout()
    assert world.lab.scalar(sessions, t=session.refresh_token) == 0


def test_a_wrong_password_is_refused_as_invalid_credentials_without_showing_the_password(world):
    set_password(world, APPROVER_EMAIL)
    wrong = f"wrong-{secrets.token_hex(8)}"
    with pytest.raises(DirectusRefused) as caught:
        rest.login(world.lab.url, APPROVER_EMAIL, wrong)
    err = caught.value
    assert err.code == "INVALID_CREDENTIALS" and err.exit_code == 1
    shown = f"{err.message} {err.hint} {err.to_dict()}"
    assert wrong not in shown and world.lab.url in err.message and err.hint


def test_a_user_with_two_factor_authentication_needs_the_one_time_password_to_log_in(world):
    email, password, secret, user = two_factor_user(world)

    with pytest.raises(DirectusRefused) as caught:
        rest.login(world.lab.url, email, password)
    assert caught.value.code == "INVALID_OTP" and "one-time password" in caught.value.hint
    wrong = f"{(int(totp(secret)) + 1) % 1_000_000:06d}"
    with pytest.raises(DirectusRefused) as caught:
        rest.login(world.lab.url, email, password, otp=wrong)
    assert caught.value.code == "INVALID_OTP" and password not in caught.value.message
    session = rest.login(world.lab.url, email, password, otp=fresh_totp(secret))
    try:
        assert session.me()["id"] == user["id"]
    finally:
        session.logout()


def test_a_personal_static_token_gives_a_session_and_a_bad_one_is_refused(world):
    session = rest.with_token(world.lab.url, world.tokens[APPROVER_EMAIL])
    assert session.me()["id"] == world.users[APPROVER_EMAIL]
    session.logout()  # nothing to end for a static token: no request, no error
    bad = f"gg-{secrets.token_hex(16)}"
    with pytest.raises(DirectusRefused) as caught:
        rest.with_token(world.lab.url, bad)
    assert caught.value.code == "INVALID_CREDENTIALS"
    assert "token" in caught.value.hint and bad not in caught.value.message


def test_an_approval_created_by_the_approver_is_recorded_by_directus_and_the_agent_is_forbidden(
    world,
):
    proposal = world.propose("rest")
    approver = rest.with_token(world.lab.url, world.tokens[APPROVER_EMAIL])
    approval_id = f"APR-REST-{secrets.token_hex(3).upper()}"
    created = approver.create("os_proposal_approvals", approval_body(proposal, approval_id))
    assert created["id"] == approval_id
    assert str(created["approved_by"]) == world.users[APPROVER_EMAIL]
    assert world.lab.rows(
        'SELECT action, "user"::text FROM directus_activity WHERE collection = '
        "'os_proposal_approvals' AND item = :i",
        i=approval_id,
    ) == [("create", world.users[APPROVER_EMAIL])]
    assert approver.read("os_proposal_approvals", approval_id)["proposal_id"] == proposal.id

    with pytest.raises(DirectusRefused) as caught:  # the same id again
        approver.create("os_proposal_approvals", approval_body(proposal, approval_id))
    assert caught.value.code == "RECORD_NOT_UNIQUE"

    agent = rest.with_token(world.lab.url, world.tokens[AGENT_EMAIL])
    other_id = f"{approval_id}-AGENT"
    with pytest.raises(DirectusRefused) as caught:
        agent.create("os_proposal_approvals", approval_body(proposal, other_id))
    assert caught.value.code == "FORBIDDEN" and caught.value.exit_code == 1
    assert agent.read("os_proposal_approvals", other_id) is None

    admin = rest.Session(world.lab.url, world.lab.admin_token)
    admin.delete("os_proposal_approvals", approval_id)
    assert admin.read("os_proposal_approvals", approval_id) is None


def test_item_ids_are_quoted_into_the_path_and_cannot_reach_another_route(world):
    approver = rest.with_token(world.lab.url, world.tokens[APPROVER_EMAIL])
    for item_id in ("../../users/me", "..", "."):
        assert approver.read("os_proposal_approvals", item_id) is None
    with pytest.raises(DirectusRefused) as caught:
        approver.create("os_proposals/../../users", {"id": "x"})
    assert caught.value.code in ("FORBIDDEN", "ROUTE_NOT_FOUND")


def test_an_unreachable_directus_is_an_environment_fault_naming_the_url(world):
    url = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(DirectusUnavailable) as caught:
        rest.login(url, APPROVER_EMAIL, "secret-password-123")
    assert url in caught.value.message and caught.value.exit_code == 3
    assert "secret-password-123" not in caught.value.message
    token = world.tokens[APPROVER_EMAIL]
    with pytest.raises(DirectusUnavailable) as caught:
        rest.with_token(url, token)
    assert url in caught.value.message and token not in caught.value.message
