"""Passkey (WebAuthn) approvals, judged by the allowed_signers file.

No browser and no authenticator can be touched here, so an Authenticator below signs
exactly as the WebAuthn spec says one does: authenticatorData = SHA-256(rp id) || flags ||
counter, and the signature covers authenticatorData || SHA-256(clientDataJSON), with a real
P-256 or Ed25519 key from ``cryptography``. The stored record is the JSON the Directus
endpoint writes. Every refusal is provoked by the one tampering its code names, starting
from an assertion that verifies; ssh-keygen checks the allowed_signers lines we write.
"""

from __future__ import annotations

import base64
import json
import struct
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from govgate.signing import allowed_signers, sshkeys, webauthn
from govgate.signing.errors import SIGNATURE_REASONS, SignatureError
from govgate.signing.payload import NAMESPACE

from support.fakesk import PASSKEY_KINDS, UP, UV, Passkey, b64url

SSH_KEYGEN = "/usr/bin/ssh-keygen"
ALICE, BOB = "alice@example.com", "bob@example.com"
AT = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)
PAYLOAD = b'{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"p-1"}]}'
KINDS = PASSKEY_KINDS


class Authenticator(Passkey):
    """A passkey whose defaults are this file's: ALICE, and PAYLOAD."""

    def line(self, principal: str = ALICE, rp_id: str = "localhost") -> str:
        return super().line(principal, rp_id)

    def sign(self, payload: bytes = PAYLOAD, **kw) -> str:
        return super().sign(payload, **kw)


def ssh_string(data: bytes | str) -> bytes:
    data = data.encode() if isinstance(data, str) else data
    return struct.pack(">I", len(data)) + data


@pytest.fixture(params=sorted(KINDS))
def passkey(request) -> Authenticator:
    return Authenticator(request.param)


def refusal(stored: str, trusted: str, payload: bytes = PAYLOAD, principal: str = ALICE) -> str:
    with pytest.raises(SignatureError) as caught:
        webauthn.verify(payload, stored, allowed_signers.parse(trusted), principal, AT)
    assert caught.value.code in SIGNATURE_REASONS
    return caught.value.code


# --- good assertions ------------------------------------------------------------------


def test_a_good_assertion_verifies_and_names_the_line_that_trusts_it(passkey):
    trusted = allowed_signers.parse(f"{Authenticator('ES256').line(BOB)}\n{passkey.line()}")
    verified = webauthn.verify(PAYLOAD, passkey.sign(), trusted, ALICE, AT)
    assert verified.entry.line == 2
    assert (verified.rp_id, verified.origin) == ("localhost", "http://localhost:8055")
    assert verified.user_present and verified.user_verified
    assert verified.fingerprint == verified.entry.fingerprint
    assert (verified.credential_id, verified.sign_count) == (passkey.credential_id, 7)


def test_https_origins_with_or_without_a_port_fit_a_named_relying_party(passkey):
    trusted = passkey.line(rp_id="approvals.example.org")
    for origin in ("https://approvals.example.org", "https://approvals.example.org:8443"):
        stored = passkey.sign(rp_id="approvals.example.org", origin=origin)
        trusted_signers = allowed_signers.parse(trusted)
        assert webauthn.verify(PAYLOAD, stored, trusted_signers, ALICE, AT).origin == origin


def test_the_stored_record_parses_into_its_fields(passkey):
    assertion = webauthn.parse(passkey.sign())
    assert assertion.credential_id == passkey.credential_id
    assert (assertion.algorithm, assertion.user_handle) == (passkey.algorithm, b"user-1")
    assert (assertion.client_type, assertion.cross_origin) == ("webauthn.get", False)
    assert len(assertion.authenticator_data) == 37


# --- each refusal, from the one tampering it names --------------------------------------

TAMPERINGS = {
    "payload changed": ("payload-mismatch", {}, b'{"changed":true}'),
    "other rp id": ("relying-party", {"rp_id": "evil.example"}, None),
    "other origin": ("origin", {"origin": "https://evil.example"}, None),
    "origin on a subdomain": ("origin", {"origin": "http://a.localhost:8055"}, None),
    "origin with a path": ("origin", {"origin": "http://localhost:8055/"}, None),
    "cross-origin frame": ("origin", {"cross_origin": True}, None),
    "flags without UV": ("user-verification", {"flags": UP}, None),
    "flags without UP": ("user-presence", {"flags": UV}, None),
    "registration ceremony": ("malformed", {"ceremony": "webauthn.create"}, None),
    "signature over other data": ("bad-signature", {"signed_client_data": b"{}"}, None),
}


@pytest.mark.parametrize("tampering", sorted(TAMPERINGS))
def test_each_tampering_is_refused_with_the_code_that_names_it(passkey, tampering):
    code, changes, verified_payload = TAMPERINGS[tampering]
    stored = passkey.sign(**changes)
    assert refusal(stored, passkey.line(), payload=verified_payload or PAYLOAD) == code


def test_plain_http_is_refused_as_origin_on_any_host_but_localhost(passkey):
    rp_id = "approvals.example.org"
    stored = passkey.sign(rp_id=rp_id, origin=f"http://{rp_id}")
    assert refusal(stored, passkey.line(rp_id=rp_id)) == "origin"
    good = passkey.sign(rp_id=rp_id, origin=f"https://{rp_id}")
    webauthn.verify(PAYLOAD, good, allowed_signers.parse(passkey.line(rp_id=rp_id)), ALICE, AT)


def test_a_passkey_missing_from_the_file_is_refused_as_key_not_allowed(passkey):
    other_ssh_key = sshkeys.public_key_line(sshkeys.public_blob_of(Ed25519PrivateKey.generate()))
    trusted = f"{ALICE} {other_ssh_key}\n{passkey.line(BOB)}\n"
    assert refusal(passkey.sign(), trusted) == "key-not-allowed"


def test_another_passkey_listed_for_the_principal_makes_it_a_bad_signature(passkey):
    """Without an embedded key, a listed key that does not verify cannot be told from
    changed data; the refusal says both."""
    trusted = Authenticator(passkey.kind).line()
    with pytest.raises(SignatureError, match="passkey not listed") as caught:
        webauthn.verify(PAYLOAD, passkey.sign(), allowed_signers.parse(trusted), ALICE, AT)
    assert caught.value.code == "bad-signature"


def test_an_entry_whose_valid_before_has_passed_is_refused_as_key_not_valid_at(passkey):
    principal, rest = passkey.line().split(" ", 1)
    trusted = f'{principal} valid-before="20200101Z",{rest}'
    assert refusal(passkey.sign(), trusted) == "key-not-valid-at"


def test_an_entry_for_the_git_namespace_only_is_refused_as_wrong_namespace(passkey):
    trusted = passkey.line().replace(f'namespaces="{NAMESPACE}"', 'namespaces="git"')
    assert refusal(passkey.sign(), trusted) == "wrong-namespace"


def test_an_rs256_assertion_is_refused_as_unsupported_key(passkey):
    record = json.loads(passkey.sign())
    record["algorithm"] = webauthn.RS256
    assert refusal(json.dumps(record), passkey.line()) == "unsupported-key"


@pytest.mark.parametrize("text", ["", "[]", "{}", '{"credential_id": "x"}'])
def test_a_record_that_is_not_a_stored_assertion_is_malformed(text):
    with pytest.raises(SignatureError) as caught:
        webauthn.parse(text)
    assert caught.value.code == "malformed"


def test_a_stored_origin_that_contradicts_the_signed_one_is_malformed(passkey):
    record = json.loads(passkey.sign())
    record["origin"] = "https://elsewhere.example"
    with pytest.raises(SignatureError, match="stored origin") as caught:
        webauthn.parse(json.dumps(record))
    assert caught.value.code == "malformed"


def test_the_passkey_refusal_codes_are_described_beside_the_sshsig_ones():
    new = ["payload-mismatch", "relying-party", "origin", "user-presence", "user-verification"]
    assert list(SIGNATURE_REASONS)[-5:] == new
    assert all(SIGNATURE_REASONS[code] for code in new)


# --- the allowed_signers line ---------------------------------------------------------


def test_an_rs256_passkey_cannot_be_written_as_a_line():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    spki = b64url(key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo))
    with pytest.raises(ValueError, match="ES256 or EdDSA"):
        webauthn.passkey_line(ALICE, spki, webauthn.RS256, "localhost")


@pytest.mark.parametrize(
    ("principal", "algorithm", "rp_id", "problem"),
    [
        ("alice smith", webauthn.ES256, "localhost", "principal"),
        (ALICE, webauthn.EDDSA, "localhost", "Ed25519"),  # the P-256 key under EdDSA
        (ALICE, webauthn.ES256, "192.168.1.2", "IP address"),
        (ALICE, webauthn.ES256, "Example.ORG", "host name"),
        (ALICE, 1, "localhost", "algorithm"),
    ],
)
def test_bad_line_input_is_refused_with_a_plain_message(principal, algorithm, rp_id, problem):
    spki = Authenticator("ES256").spki_b64url
    with pytest.raises(ValueError, match=problem):
        webauthn.passkey_line(principal, spki, algorithm, rp_id)


def test_a_public_key_that_is_not_spki_der_is_refused_with_a_plain_message():
    with pytest.raises(ValueError, match="SubjectPublicKeyInfo"):
        webauthn.passkey_blob(b"\x30\x03junk", webauthn.ES256, "localhost")
    with pytest.raises(ValueError, match="base64url"):
        webauthn.passkey_line(ALICE, "not base64url!", webauthn.ES256, "localhost")


def test_the_blob_is_the_openssh_security_key_encoding_with_the_rp_id_as_application():
    es, ed = Authenticator("ES256"), Authenticator("EdDSA")
    point = es.key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    raw = ed.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    spki = base64.urlsafe_b64decode(es.spki_b64url + "==")
    assert webauthn.passkey_blob(spki, webauthn.ES256, "localhost") == (
        ssh_string(sshkeys.SK_ECDSA) + ssh_string("nistp256") + ssh_string(point)
    ) + ssh_string("localhost")
    spki = base64.urlsafe_b64decode(ed.spki_b64url + "==")
    assert webauthn.passkey_blob(spki, webauthn.EDDSA, "localhost") == (
        ssh_string(sshkeys.SK_ED25519) + ssh_string(raw) + ssh_string("localhost")
    )


@pytest.mark.skipif(not Path(SSH_KEYGEN).exists(), reason="needs ssh-keygen")
def test_ssh_keygen_reads_the_written_key_with_our_fingerprint(passkey, tmp_path):
    line = passkey.line()
    principal, options, key_type, b64, comment = line.split(" ")
    assert (principal, options) == (ALICE, f'namespaces="{NAMESPACE}"')
    assert comment == f"passkey:{passkey.credential_id}"
    pub = tmp_path / "passkey.pub"
    pub.write_text(f"{key_type} {b64}\n")
    listed = subprocess.run([SSH_KEYGEN, "-l", "-f", str(pub)], capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    blob = base64.b64decode(b64)
    assert listed.stdout.split()[1] == sshkeys.public_key_fingerprint(blob)
    entry = allowed_signers.parse(line).entries[0]
    assert (entry.key_type, entry.key_blob, entry.namespaces) == (key_type, blob, NAMESPACE)
    assert sshkeys.parse_public_key(blob).application == "localhost"


def test_verifying_never_starts_a_program(passkey):
    starting = {"subprocess.Popen", "os.exec", "os.posix_spawn", "os.fork", "os.system"}
    seen: list[str] = []
    armed = [True]
    sys.addaudithook(lambda event, args: armed[0] and event in starting and seen.append(event))
    try:
        trusted = allowed_signers.parse(passkey.line())
        webauthn.verify(PAYLOAD, passkey.sign(), trusted, ALICE, AT)
    finally:
        armed[0] = False
    assert seen == []
