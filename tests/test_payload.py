"""The canonical approval payload: stable bytes, refusing anything but its own form."""

from __future__ import annotations

import json
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govgate.signing import sshsig
from govgate.signing.payload import NAMESPACE, ApprovalPayload, canonical, decode

PAYLOAD = ApprovalPayload(
    proposal_id="PROP-AUTHMODEL-1",
    proposal_sha256="a" * 64,
    approval_id="APR-BOOT-AUTHMODEL-1",
    approver="approver@oneroof.example",
    approved_at="2026-12-02T10:00:00Z",
    not_after="2026-12-16T10:00:00Z",
    statement="I ratify proposal PROP-AUTHMODEL-1 — «exactly» these 210 slots",
    database_id="db-0f3c",
    expected_fingerprint="b" * 64,
)


def test_the_payload_is_an_in_toto_statement_naming_the_proposal_and_its_hash():
    doc = json.loads(PAYLOAD.encode())
    assert doc["_type"] == "https://in-toto.io/Statement/v1"
    assert doc["subject"] == [{"name": "PROP-AUTHMODEL-1", "digest": {"sha256": "a" * 64}}]
    assert doc["predicate"]["targets"] == [
        {"database_id": "db-0f3c", "expected_fingerprint": "b" * 64}
    ]


def test_the_canonical_bytes_have_sorted_keys_no_spaces_and_utf8_as_is():
    raw = PAYLOAD.encode()
    assert b" :" not in raw and b", " not in raw and raw.startswith(b'{"_type":')
    assert "«exactly»".encode() in raw


@given(st.text(), st.text())
def test_decoding_gives_back_exactly_the_payload_that_was_encoded(approver, statement):
    payload = ApprovalPayload(**{**PAYLOAD.__dict__, "approver": approver, "statement": statement})
    assert decode(payload.encode()) == payload


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        canonical({"_type": "x"}),
        PAYLOAD.encode().replace(b'{"_type"', b'{ "_type"'),  # not canonical
        PAYLOAD.encode()[:-1] + b',"extra":"x"}',  # an unknown field
    ],
)
def test_anything_but_a_canonical_payload_is_refused(raw):
    with pytest.raises(ValueError):
        decode(raw)


def test_ssh_keygen_verifies_a_signature_over_the_payload(tmp_path):
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    armored = sshsig.sign(PAYLOAD.encode(), str(key), NAMESPACE)
    (tmp_path / "payload.json").write_bytes(PAYLOAD.encode())
    (tmp_path / "payload.json.sig").write_text(armored)
    public = (tmp_path / "id_ed25519.pub").read_text().split()
    (tmp_path / "allowed_signers").write_text(f"approver@oneroof.example {public[0]} {public[1]}\n")
    with open(tmp_path / "payload.json", "rb") as stdin:
        done = subprocess.run(
            [
                "ssh-keygen",
                "-Y",
                "verify",
                "-f",
                str(tmp_path / "allowed_signers"),
                "-I",
                "approver@oneroof.example",
                "-n",
                NAMESPACE,
                "-s",
                str(tmp_path / "payload.json.sig"),
            ],
            stdin=stdin,
            capture_output=True,
        )
    assert done.returncode == 0, done.stderr
    assert sshsig.verify(PAYLOAD.encode(), armored, NAMESPACE).namespace == NAMESPACE
