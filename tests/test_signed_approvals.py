"""Signed approvals: the gate checks each in-process, and every way one fails has its reason.

Every test starts from a real ratification signed with the approver's key (or an approval
made as the Directus app makes one), then breaks exactly one thing: the payload, the row,
the trust root, the namespace, the key's validity, the database, the date, the touch. The
gate must say BLOCKED with that reason, and `apply` must change nothing. The stock
`ssh-keygen` checks what govgate stores and exports.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from govgate import api
from govgate.errors import Refused
from govgate.runbook import evidence as ev
from govgate.runbook.approval import approvals_for
from govgate.signing import sshsig
from govgate.signing.payload import NAMESPACE, decode

from support import signing
from support.constants import (
    APPROVAL,
    APPROVER,
    APPROVER_LOGIN,
    GOVGATE,
    NO_CONFIG,
    PROMPT,
    PROPOSAL,
)
from support.fakesk import UP, UV, FakeSecurityKey, Passkey
from support.labs import (
    assert_apply_refused_and_nothing_written,
    gate,
    insert_approval,
    lift_custody,
    ratify,
    with_settings,
)
from support.ptyrun import run_in_pty

SSH_KEYGEN = "/usr/bin/ssh-keygen"


def stored(lab) -> tuple[str, str]:
    """(payload, signature) stored beside the demo's approval."""
    return lab.rows(
        "SELECT payload, signature FROM os_approval_signatures WHERE approval_id = :a", a=APPROVAL
    )[0]


def database_id(lab) -> str:
    return lab.scalar("SELECT value FROM os_settings WHERE os_settings.key = 'database_id'")


def right_payload(lab):
    """The payload the approver would sign for the approval as it stands."""
    engine = lab.engine()
    try:
        with engine.connect() as conn:
            approval = next(a for a in approvals_for(conn, PROPOSAL) if a.id == APPROVAL)
            verdict = api.status(lab.settings)
            until = approval.not_after or approval.approved_at + timedelta(days=14)
            return ev.payload_for(
                approval, verdict.proposal, APPROVER, until, database_id(lab)
            ), approval
    finally:
        engine.dispose()


def store_signature(lab, payload: bytes, signature: str) -> None:
    lab.execute(
        "INSERT INTO os_approval_signatures (approval_id, kind, payload, signature) "
        "VALUES (:a, 'sshsig', :p, :s)",
        a=APPROVAL,
        p=payload.decode(),
        s=signature,
    )


def app_approval_signed(lab, changes: dict | None = None, *, key=None, namespace=NAMESPACE):
    """An approval made as the Directus app makes one, with a signature over its payload as
    changed by CHANGES, made with KEY (default: the approver's) in NAMESPACE."""
    insert_approval(lab)
    payload, _ = right_payload(lab)
    body = dataclasses.replace(payload, **(changes or {})).encode()
    if key is None:
        signature = sshsig.sign(body, str(signing.key_path(APPROVER)), namespace)
    else:
        signature = key(body, namespace)
    store_signature(lab, body, signature)


def refused(lab, gg, code: str, *phrases: str) -> None:
    found = gate(lab)
    assert found["status"] == "BLOCKED" and code in found["codes"], found
    assert_apply_refused_and_nothing_written(lab, gg, *phrases)


# -- the good path -------------------------------------------------------------------------


def test_a_signed_ratification_makes_the_gate_ready_and_ssh_keygen_verifies_what_is_stored(
    lab, tmp_path
):
    done = ratify(lab)
    assert done.signed and gate(lab)["status"] == "READY"
    payload, signature = stored(lab)
    signed = decode(payload.encode())
    assert (signed.approval_id, signed.approver, signed.proposal_id) == (
        APPROVAL,
        APPROVER,
        PROPOSAL,
    )
    assert signed.database_id == database_id(lab)
    (tmp_path / "payload").write_text(payload)
    (tmp_path / "payload.sig").write_text(signature)
    check = subprocess.run(
        [SSH_KEYGEN, "-Y", "verify", "-f", signing.allowed_signers(), "-I", APPROVER]
        + ["-n", NAMESPACE, "-s", str(tmp_path / "payload.sig")],
        stdin=(tmp_path / "payload").open("rb"),
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr
    assert "Good" in check.stdout


def test_the_database_id_is_written_once_by_init_and_never_changes(lab):
    first = database_id(lab)
    assert len(first) == 36
    engine = lab.engine()
    try:
        with pytest.raises(Exception, match="never changes"), engine.begin() as conn:
            if lab.backend == "postgres":  # a role that may update os_settings, not its owner
                conn.exec_driver_sql(f"GRANT UPDATE ON os_settings TO {APPROVER_LOGIN}")
                conn.exec_driver_sql(f"SET ROLE {APPROVER_LOGIN}")
            conn.exec_driver_sql(
                "UPDATE os_settings SET value = 'x' WHERE os_settings.key = 'database_id'"
            )
    finally:
        engine.dispose()
    assert database_id(lab) == first


# -- each refusal has its own reason ---------------------------------------------------------


def test_a_payload_changed_after_signing_is_blocked(lab, gg):
    ratify(lab)
    lift_custody(lab)
    payload, _ = stored(lab)
    lab.execute(
        "UPDATE os_approval_signatures SET payload = :p WHERE approval_id = :a",
        p=payload.replace("I ratify", "I ratify too"),
        a=APPROVAL,
    )
    refused(lab, gg, "signature-payload-changed", "changed after signing")


def test_an_approval_row_changed_after_signing_is_blocked(lab, gg):
    ratify(lab)
    lift_custody(lab)
    lab.execute(
        "UPDATE os_proposal_approvals SET statement = 'something else' WHERE id = :a", a=APPROVAL
    )
    refused(lab, gg, "signature-row-changed", "no longer says what was signed", "statement")


def test_a_key_that_allowed_signers_does_not_list_is_blocked(lab, gg):
    ratify(with_settings(lab, allowed_signers=None), signer_as=signing.UNTRUSTED)
    refused(lab, gg, "signature-key-not-allowed", "no line allows key")


def test_a_key_listed_by_allowed_signers_cannot_sign_for_another_person(lab):
    with pytest.raises(Refused, match="cannot sign approvals as approver@oneroof.example"):
        ratify(lab, signer_as=signing.UNTRUSTED)
    assert lab.scalar("SELECT COUNT(*) FROM os_proposal_approvals") == 0


def test_a_signature_in_another_namespace_is_blocked(lab, gg):
    app_approval_signed(lab, namespace="file")
    refused(lab, gg, "signature-namespace", "namespace")


def test_a_key_allowed_only_for_other_namespaces_is_blocked(lab, gg, tmp_path):
    trust = tmp_path / "allowed_signers"
    trust.write_text(signing.allowed_line(APPROVER, 'namespaces="git"') + "\n")
    lab = with_settings(lab, allowed_signers=str(trust))
    app_approval_signed(lab)
    found = gate(lab)
    assert found["status"] == "BLOCKED" and "signature-namespace" in found["codes"], found


def test_a_key_not_valid_when_the_approval_was_made_is_blocked(lab, tmp_path):
    trust = tmp_path / "allowed_signers"
    trust.write_text(
        signing.allowed_line(APPROVER, f'namespaces="{NAMESPACE}",valid-before="20200101"') + "\n"
    )
    app_approval_signed(lab)
    found = gate(with_settings(lab, allowed_signers=str(trust)))
    assert found["status"] == "BLOCKED" and "signature-key-not-valid" in found["codes"], found
    assert any("not valid at" in m for m in found["messages"])


def test_an_approval_signed_for_another_database_is_blocked(lab, gg):
    app_approval_signed(lab, {"database_id": "00000000-0000-4000-8000-000000000000"})
    refused(lab, gg, "signature-other-database", "signed for database 00000000")


def test_an_expired_approval_is_blocked_and_never_applied(lab, gg):
    insert_approval(lab)
    lift_custody(lab)
    lab.execute(
        "UPDATE os_proposal_approvals SET approved_at = :t WHERE id = :a",
        t=datetime.now(UTC) - timedelta(days=15),
        a=APPROVAL,
    )
    refused(lab, gg, "approval-expired", "expired at")


def test_a_plan_may_shorten_how_long_an_approval_holds_and_the_configuration_too(lab):
    ratify(lab)
    assert gate(with_settings(lab, approval_valid_days=1))["status"] == "READY"
    payload, _ = stored(lab)
    signed = decode(payload.encode())
    approved = datetime.fromisoformat(signed.approved_at.replace("Z", "+00:00"))
    assert datetime.fromisoformat(signed.not_after.replace("Z", "+00:00")) - approved == (
        timedelta(days=14)
    )


def test_user_presence_is_required_where_configured(lab, gg):
    ratify(lab)
    strict = with_settings(lab, require_user_presence=True)
    found = gate(strict)
    assert found["status"] == "BLOCKED" and "signature-no-presence" in found["codes"], found
    assert any("cannot show a human touched it" in m for m in found["messages"])


@pytest.mark.parametrize("flags", [0x01, 0x00], ids=["touched", "not-touched"])
def test_a_security_key_signature_counts_only_when_a_human_touched_the_key(lab, tmp_path, flags):
    sk = FakeSecurityKey("ed25519")
    trust = tmp_path / "allowed_signers"
    trust.write_text(f'{APPROVER} namespaces="{NAMESPACE}" {sk.line}\n')
    strict = with_settings(lab, allowed_signers=str(trust), require_user_presence=True)
    app_approval_signed(strict, key=lambda body, ns: sk.sign(body, ns, flags=flags))
    found = gate(strict)
    if flags:
        assert found["status"] == "READY", found
    else:
        assert found["status"] == "BLOCKED" and "signature-no-presence" in found["codes"]
        assert any("nobody touched it" in m for m in found["messages"])


def test_an_unsigned_approval_is_blocked_when_signatures_are_required(lab, gg):
    insert_approval(lab)
    assert gate(lab)["status"] == "READY"  # Directus's own record stands behind it
    found = gate(with_settings(lab, require_signature=True))
    assert found["status"] == "BLOCKED" and "signature-required" in found["codes"], found


def test_a_signature_nobody_can_check_is_blocked_until_the_trust_root_is_configured(lab):
    ratify(lab)
    found = gate(with_settings(lab, allowed_signers=None))
    assert found["status"] == "BLOCKED" and "signature-no-trust-root" in found["codes"]


def test_on_a_directus_database_without_its_server_an_unsigned_ratification_is_refused(lab):
    with pytest.raises(Refused, match="counts only when signed"):
        api.ratify(
            lab.settings,
            PROPOSAL,
            approver=APPROVER,
            confirm=lambda request: request.approval_id,
            interactive=True,
        )
    assert lab.scalar("SELECT COUNT(*) FROM os_proposal_approvals") == 0


def test_a_valid_signature_stands_in_for_directus_activity_and_govgate_writes_none(lab):
    activity = lab.scalar("SELECT COUNT(*) FROM directus_activity")
    ratify(lab)
    assert lab.scalar("SELECT COUNT(*) FROM directus_activity") == activity
    assert lab.scalar("SELECT COUNT(*) FROM directus_revisions") == 0
    assert gate(lab)["status"] == "READY"
    lab.execute("DELETE FROM os_approval_signatures")  # unused: the approver may withdraw it
    found = gate(lab)
    assert found["status"] == "BLOCKED" and "no-provenance" in found["codes"], found


# -- the audit export: checkable by anyone with OpenSSH ---------------------------------------


def test_audit_export_lets_ssh_keygen_verify_each_signed_approval_without_govgate(lab, tmp_path):
    ratify(lab)
    out = tmp_path / "export"
    result = api.audit_export(lab.settings, str(out))
    assert result.signatures == 1 and result.allowed_signers
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["audit.jsonl", "head.json", "allowed_signers", f"{APPROVAL}.json", f"{APPROVAL}.sig"]
    )
    command = (
        f"ssh-keygen -Y verify -f allowed_signers -I {APPROVER} -n govgate-approval "
        f"-s {APPROVAL}.sig < {APPROVAL}.json"
    )
    check = subprocess.run(
        command, shell=True, cwd=out, capture_output=True, text=True, env={"PATH": "/usr/bin"}
    )
    assert check.returncode == 0, check.stdout + check.stderr
    payload = json.loads((out / f"{APPROVAL}.json").read_text())
    assert payload["predicate"]["approver"] == APPROVER
    tampered = (out / f"{APPROVAL}.json").read_text().replace("I ratify", "I ratify too")
    (out / f"{APPROVAL}.json").write_text(tampered)
    again = subprocess.run(
        command, shell=True, cwd=out, capture_output=True, text=True, env={"PATH": "/usr/bin"}
    )
    assert again.returncode != 0
    assert Path(out / "head.json").exists()


# -- the terminal: a key in ssh-agent ----------------------------------------------------------


def test_ratify_at_a_terminal_signs_through_ssh_agent_and_the_gate_goes_ready(lab):
    with signing.running_agent(signing.key_path(APPROVER)) as sock:
        run = run_in_pty(
            [GOVGATE, "--db", lab.approver_url, "ratify", PROPOSAL, "--as", APPROVER]
            + ["--sign-agent"],
            [(PROMPT, APPROVAL)],
            env={**NO_CONFIG, "SSH_AUTH_SOCK": sock},
        )
    assert run.code == 0, run.output
    assert "signed" in run.output
    assert gate(lab)["status"] == "READY"
    payload, signature = stored(lab)
    assert sshsig.verify(payload.encode(), signature, NAMESPACE).key_type == "ssh-ed25519"


# -- passkeys: what the Directus app stores, judged by the gate --------------------------------


def passkey_approval(lab, tmp_path, *, signed_at=None, flags=UP | UV, listed=True):
    """An approval made in the Directus app with a passkey: the payload is signed first, then
    Directus creates the row and dates it. Returns the settings whose trust root lists the
    passkey (when LISTED)."""
    passkey = Passkey("ES256")
    insert_approval(lab)
    payload, approval = right_payload(lab)
    when = signed_at or approval.approved_at - timedelta(seconds=30)
    body = dataclasses.replace(payload, approved_at=ev.iso(when)).encode()
    record = passkey.sign(body, flags=flags)
    lab.execute(
        "INSERT INTO os_approval_signatures (approval_id, kind, payload, signature) "
        "VALUES (:a, 'webauthn', :p, :s)",
        a=APPROVAL,
        p=body.decode(),
        s=record,
    )
    trust = tmp_path / "allowed_signers"
    trust.write_text((passkey.line(APPROVER) + "\n") if listed else "")
    return with_settings(lab, allowed_signers=str(trust))


def test_a_passkey_approval_listed_in_the_trust_root_makes_the_gate_ready(lab, tmp_path):
    trusted = passkey_approval(lab, tmp_path)
    verdict = api.status(trusted.settings)
    assert verdict.status.value == "READY", verdict.reasons
    assert gate(with_settings(trusted, require_signature=True))["status"] == "READY"


def test_a_passkey_not_in_the_trust_root_is_blocked(lab, tmp_path):
    found = gate(passkey_approval(lab, tmp_path, listed=False))
    assert found["status"] == "BLOCKED" and "signature-key-not-allowed" in found["codes"], found


def test_a_passkey_assertion_without_user_verification_is_blocked(lab, tmp_path):
    found = gate(passkey_approval(lab, tmp_path, flags=UP))
    assert found["status"] == "BLOCKED" and "signature-no-presence" in found["codes"], found


def test_a_passkey_payload_signed_long_before_the_approval_was_made_is_blocked(lab, tmp_path):
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    found = gate(passkey_approval(lab, tmp_path, signed_at=long_ago))
    assert found["status"] == "BLOCKED" and "signature-row-changed" in found["codes"], found


def test_govgate_passkeys_prints_the_line_an_operator_copies_into_the_trust_root(lab, gg):
    passkey = Passkey("EdDSA")
    user = lab.scalar("SELECT id FROM directus_users WHERE email = :e", e=APPROVER)
    lab.execute(
        "INSERT INTO os_passkeys (credential_id, public_key, algorithm, user_id) "
        "VALUES (:c, :k, :a, :u)",
        c=passkey.credential_id,
        k=passkey.spki_b64url,
        a=passkey.algorithm,
        u=str(user),
    )
    run = gg("--db", lab.url, "passkeys", "--rp-id", "localhost")
    assert run.code == 0, run.err
    assert passkey.line(APPROVER) in run.out
    assert "Amal (demo) <approver@oneroof.example>" in run.out
    listed = json.loads(gg("--db", lab.url, "passkeys", "--rp-id", "localhost", "--json").out)
    assert listed["passkeys"][0]["line"] == passkey.line(APPROVER)
    nowhere = gg("--db", lab.url, "passkeys")
    assert nowhere.code == 2 and "--rp-id" in nowhere.err


def test_requiring_signatures_later_leaves_a_rollout_made_before_applied(lab):
    insert_approval(lab)  # unsigned, made in the Directus app
    api.apply(lab.settings)
    assert gate(with_settings(lab, require_signature=True))["status"] == "APPLIED"
