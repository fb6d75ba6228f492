"""`govgate ratify` on a real Directus: the person signs in, Directus creates the approval.

Each test runs the command line on a pseudo-terminal, as a person would: it types the
password (never echoed), the one-time password when two-factor authentication is on, or a
personal token, then the approval id. Directus must record the `create` activity of that
person; govgate must write none of Directus's own records; the approver's database role has
no grant on them.
"""

from __future__ import annotations

import re
from dataclasses import replace

from govgate import api
from govgate.signing.payload import NAMESPACE, decode

from .dlab import APPROVER_EMAIL, fresh_totp, set_password, two_factor_user
from support import signing
from support.constants import GOVGATE
from support.ptyrun import run_in_pty

PROMPT = "Type the approval id"


def trust(tmp_path, *emails: str) -> str:
    """An allowed_signers file trusting the suite's key of each of EMAILS."""
    path = tmp_path / "allowed_signers"
    path.write_text(
        "".join(f'{e} namespaces="{NAMESPACE}" {signing.public_line(e)}\n' for e in emails)
    )
    return str(path)


def ratify_on_terminal(world, proposal, answers, *extra: str, env: dict | None = None):
    run = run_in_pty(
        [GOVGATE, "ratify", proposal.id, *extra],
        [*answers, (PROMPT, proposal.approval_id)],
        env={
            "GOVGATE_CONFIG": "/dev/null",
            "GOVGATE_DB": world.settings.db_url,
            "GOVGATE_DIRECTUS_URL": world.lab.url,
            "GOVGATE_DIRECTUS_AGENT_USER": world.settings.directus_agent_user,
            **(env or {}),
        },
    )
    run.output = re.sub(r"\x1b\[[0-9;]*m", "", run.output)
    return run


def activity_of(world, approval_id: str) -> list[tuple]:
    return world.lab.rows(
        'SELECT action, CAST("user" AS text) FROM directus_activity '
        "WHERE collection = 'os_proposal_approvals' AND item = :i ORDER BY id",
        i=approval_id,
    )


def test_ratify_signs_in_to_directus_which_records_the_person_and_the_signature_is_stored(
    world, tmp_path
):
    proposal = world.propose("rest-ratify")
    password = set_password(world, APPROVER_EMAIL)
    revisions = world.lab.scalar("SELECT COUNT(*) FROM directus_revisions")
    run = ratify_on_terminal(
        world,
        proposal,
        [("Password", password)],
        "--as",
        APPROVER_EMAIL,
        "--sign-key",
        str(signing.key_path(APPROVER_EMAIL)),
        env={"GOVGATE_ALLOWED_SIGNERS": trust(tmp_path, APPROVER_EMAIL)},
    )
    assert run.code == 0, run.output
    assert password not in run.output  # never echoed
    assert "signed" in run.output
    assert activity_of(world, proposal.approval_id) == [("create", world.users[APPROVER_EMAIL])]
    # Directus wrote the revision of its own item; govgate wrote nothing of Directus's.
    assert world.lab.scalar("SELECT COUNT(*) FROM directus_revisions") == revisions + 1
    payload = world.lab.scalar(
        "SELECT payload FROM os_approval_signatures WHERE approval_id = :a",
        a=proposal.approval_id,
    )
    assert decode(payload.encode()).approver == APPROVER_EMAIL
    verdict = api.status(replace(world.settings, allowed_signers=trust(tmp_path, APPROVER_EMAIL)))
    assert verdict.status.value == "READY", verdict.reasons
    assert verdict.approvers and APPROVER_EMAIL in verdict.approvers[0]


def test_a_person_with_two_factor_authentication_is_asked_for_the_one_time_password(world):
    email, password, secret, user = two_factor_user(world, "Governance approver")
    proposal = world.propose("rest-otp")
    run = ratify_on_terminal(
        world,
        proposal,
        [("Password", password), ("One-time password", fresh_totp(secret))],
        "--as",
        email,
    )
    assert run.code == 0, run.output
    assert activity_of(world, proposal.approval_id) == [("create", user["id"])]
    assert api.status(world.settings).status.value == "READY"


def test_a_personal_token_signs_in_without_a_password(world):
    proposal = world.propose("rest-token")
    run = ratify_on_terminal(
        world, proposal, [("Directus token", world.tokens[APPROVER_EMAIL])], "--token"
    )
    assert run.code == 0, run.output
    assert world.tokens[APPROVER_EMAIL] not in run.output
    assert activity_of(world, proposal.approval_id) == [("create", world.users[APPROVER_EMAIL])]


def test_a_wrong_password_is_refused_and_nothing_is_approved(world):
    proposal = world.propose("rest-wrong")
    set_password(world, APPROVER_EMAIL)
    run = ratify_on_terminal(
        world, proposal, [("Password", "not-the-password")], "--as", APPROVER_EMAIL
    )
    assert run.code == 1, run.output
    assert "INVALID_CREDENTIALS" in run.output or "Invalid user credentials" in run.output
    assert "not-the-password" not in run.output
    assert activity_of(world, proposal.approval_id) == []
    assert api.status(world.settings).status.value == "BLOCKED"


def test_the_library_refuses_to_write_an_approval_behind_directus_back(world):
    proposal = world.propose("rest-sql")
    try:
        api.ratify(
            world.settings,
            proposal.id,
            approver=APPROVER_EMAIL,
            confirm=lambda request: request.approval_id,
            interactive=True,
            signer=signing.signer(APPROVER_EMAIL),
        )
    except Exception as exc:
        assert "created through Directus" in str(exc)
    else:
        raise AssertionError("an approval was written with SQL on a Directus with a server")
    assert activity_of(world, proposal.approval_id) == []
    assert (
        world.lab.rows("SELECT id FROM os_proposal_approvals WHERE id = :a", a=proposal.approval_id)
        == []
    )


def test_the_approver_role_has_no_grant_on_directus_own_records(world):
    grants = world.lab.rows(
        "SELECT table_name, privilege_type FROM information_schema.role_table_grants "
        "WHERE grantee = 'govgate_approver' "
        "AND table_name IN ('directus_activity', 'directus_revisions')"
    )
    assert grants == []
    agent = world.lab.rows(
        "SELECT privilege_type FROM information_schema.role_table_grants "
        "WHERE grantee = 'govgate_agent' AND table_name = 'directus_activity'"
    )
    assert agent == [("SELECT",)]
