"""WebAuthn passkey approvals, judged by the same allowed_signers file as SSHSIG.

A passkey is trusted by listing it in allowed_signers as an OpenSSH security-key public key
whose ``application`` is the WebAuthn relying party id (the host name the approval page ran
on): ES256 → ``sk-ecdsa-sha2-nistp256@openssh.com``, EdDSA → ``sk-ssh-ed25519@openssh.com``.
ssh-keygen reads such a line like any other key, so one reviewed file with one set of
validity windows governs both kinds of signature. RS256 has no OpenSSH key type: such
passkeys cannot be trusted. The challenge is SHA-256 of the canonical payload bytes, so the
signature over authenticatorData || SHA-256(clientDataJSON) covers the payload.
Everything here is pure computation: no files, no processes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from govgate.signing import sshkeys, sshwire
from govgate.signing.allowed_signers import AllowedSigners, Entry
from govgate.signing.errors import SignatureError
from govgate.signing.payload import NAMESPACE

__all__ = ["Assertion", "Verified", "parse", "passkey_blob", "passkey_line", "verify"]

ES256, EDDSA, RS256 = -7, -8, -257  # COSE algorithm ids
_KEY_TYPE = {ES256: sshkeys.SK_ECDSA, EDDSA: sshkeys.SK_ED25519}
_RS256_REFUSED = (
    "RS256 passkeys cannot be trusted: OpenSSH has no RSA security-key type for the "
    "allowed_signers file. Register an ES256 or EdDSA passkey instead."
)
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
# A DNS host name, as location.hostname gives it; WebAuthn takes no IP address as rp id.
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_RP_ID = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_ORIGIN = re.compile(r"(https?)://([^/:?#@\s]+)(?::([1-9][0-9]{0,4}))?")
_PRINCIPAL = re.compile(r'[^\s"#][^\s"]*')
# The endpoint caps each field at 64 KiB of base64url; a larger record is junk.
_MAX_STORED = 1 << 20
_CLIENT = ("type", "challenge", "origin")


def _b64url_decode(text: str) -> bytes:
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def passkey_blob(spki_der: bytes, algorithm: int, rp_id: str) -> bytes:
    """The OpenSSH security-key public key blob of a passkey: its SubjectPublicKeyInfo
    (DER, from getPublicKey()) with ``rp_id`` as the key's application.

    Raises ValueError with a plain message for RS256 or any algorithm but ES256 (-7) and
    EdDSA (-8), a key that is not SPKI DER or does not fit the algorithm (ES256 needs
    P-256), or an rp_id that is not a lower-case host name.
    """
    if algorithm == RS256:
        raise ValueError(_RS256_REFUSED)
    if isinstance(algorithm, bool) or algorithm not in _KEY_TYPE:
        raise ValueError(f"algorithm must be -7 (ES256) or -8 (EdDSA), not {algorithm!r}")
    if not (isinstance(rp_id, str) and len(rp_id) <= 253 and _RP_ID.fullmatch(rp_id)):
        raise ValueError(f"rp_id must be a lower-case host name like 'localhost', not {rp_id!r}")
    if rp_id.replace(".", "").isdigit():
        raise ValueError(f"rp_id must be a host name, not an IP address ({rp_id})")
    try:
        key = serialization.load_der_public_key(bytes(spki_der))
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ValueError(f"public key is not a SubjectPublicKeyInfo (DER): {exc}") from exc
    head = sshwire.string(_KEY_TYPE[algorithm])
    if algorithm == EDDSA:
        if not isinstance(key, ed25519.Ed25519PublicKey):
            raise ValueError("algorithm -8 (EdDSA) needs an Ed25519 public key")
        return head + sshwire.string(key.public_bytes_raw()) + sshwire.string(rp_id)
    if not (isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"):
        raise ValueError("algorithm -7 (ES256) needs an EC public key on P-256")
    point = key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return head + sshwire.string("nistp256") + sshwire.string(point) + sshwire.string(rp_id)


def passkey_line(
    principal: str, spki_b64url: str, algorithm: int, rp_id: str, credential_id: str | None = None
) -> str:
    """The allowed_signers line trusting a passkey for ``principal`` in the approval
    namespace: ``principal namespaces="govgate-approval" <type> <base64> passkey:<id>``
    (comment ``passkey`` without a credential id), without a newline.

    Raises ValueError with a plain message for a principal that is empty or holds white
    space or quotes, a public key or credential id that is not base64url, and anything
    passkey_blob refuses.
    """
    if not (isinstance(principal, str) and _PRINCIPAL.fullmatch(principal)):
        raise ValueError(f"principal must be one word without spaces or quotes: {principal!r}")
    try:
        spki = _b64url_decode(spki_b64url)
    except (ValueError, TypeError) as exc:
        raise ValueError("public_key must be the SubjectPublicKeyInfo in base64url") from exc
    comment = "passkey"
    if credential_id is not None:
        if not (isinstance(credential_id, str) and _B64URL.fullmatch(credential_id)):
            raise ValueError(f"credential_id must be base64url, not {credential_id!r}")
        comment += f":{credential_id}"
    key = sshkeys.public_key_line(passkey_blob(spki, algorithm, rp_id))
    return f'{principal} namespaces="{NAMESPACE}" {key} {comment}'


@dataclass(frozen=True)
class Assertion:
    """A stored passkey assertion, decoded. The ``client_*`` fields and ``challenge`` come
    from clientDataJSON (signed); ``credential_id``, ``algorithm`` and ``user_handle`` are
    the endpoint's unsigned notes."""

    credential_id: str
    authenticator_data: bytes  # at least 37 bytes: rpIdHash, flags, counter
    client_data_json: bytes
    signature: bytes
    algorithm: int
    user_handle: bytes | None
    client_type: str
    challenge: str
    client_origin: str
    cross_origin: bool


def _malformed(message: str) -> SignatureError:
    return SignatureError("malformed", f"passkey assertion: {message}")


def _field(record: dict, name: str) -> bytes:
    value = record.get(name)
    try:
        return _b64url_decode(value)  # type: ignore[arg-type]
    except (ValueError, TypeError):
        raise _malformed(f"{name} must be an unpadded base64url string") from None


def parse(stored_json: str) -> Assertion:
    """Decode the JSON the Directus endpoint stores for a webauthn signature; nothing is
    verified here.

    Raises SignatureError "malformed" unless it is a JSON object (at most 1 MiB) with a
    base64url credential_id, base64url authenticatorData (≥ 37 bytes), clientDataJSON (a
    JSON object with string type, challenge, origin) and signature, an integer algorithm,
    an optional base64url userHandle, and an optional origin equal to clientData's.
    """
    try:
        if not isinstance(stored_json, str) or len(stored_json) > _MAX_STORED:
            raise ValueError("expected JSON text of at most 1 MiB")
        record = json.loads(stored_json)
    except (ValueError, RecursionError) as exc:
        raise _malformed(f"not JSON text of at most 1 MiB ({exc})") from None
    if not isinstance(record, dict):
        raise _malformed("expected a JSON object")
    credential_id, algorithm = record.get("credential_id"), record.get("algorithm")
    if not (isinstance(credential_id, str) and credential_id and _B64URL.fullmatch(credential_id)):
        raise _malformed("credential_id must be a base64url string")
    if isinstance(algorithm, bool) or not isinstance(algorithm, int):
        raise _malformed("algorithm must be a COSE algorithm id (an integer)")
    auth_data, client_json = _field(record, "authenticatorData"), _field(record, "clientDataJSON")
    signature = _field(record, "signature")
    user_handle = None if record.get("userHandle") is None else _field(record, "userHandle")
    if len(auth_data) < 37:
        raise _malformed("authenticatorData is shorter than 37 bytes")
    try:
        client = json.loads(client_json.decode("utf-8"))
    except (ValueError, RecursionError):
        raise _malformed("clientDataJSON is not UTF-8 JSON") from None
    if not (isinstance(client, dict) and all(isinstance(client.get(n), str) for n in _CLIENT)):
        raise _malformed("clientDataJSON must be an object with string type, challenge, origin")
    if record.get("origin") not in (None, client["origin"]):
        raise _malformed("the stored origin differs from the one in clientDataJSON")
    return Assertion(
        credential_id=credential_id,
        authenticator_data=auth_data,
        client_data_json=client_json,
        signature=signature,
        algorithm=algorithm,
        user_handle=user_handle,
        client_type=client["type"],
        challenge=client["challenge"],
        client_origin=client["origin"],
        cross_origin=client.get("crossOrigin") is True,
    )


@dataclass(frozen=True)
class Verified:
    """A passkey assertion that passed every check, and the allowed_signers line that
    vouches for its key."""

    rp_id: str
    origin: str
    user_present: bool
    user_verified: bool
    entry: Entry
    fingerprint: str
    credential_id: str
    sign_count: int


def _signature_holds(key: sshkeys.PublicKey, assertion: Assertion) -> bool:
    data = assertion.authenticator_data + hashlib.sha256(assertion.client_data_json).digest()
    crypto, sig = key.crypto_key, assertion.signature
    try:
        if isinstance(crypto, ed25519.Ed25519PublicKey):
            crypto.verify(sig, data)
        elif isinstance(crypto, ec.EllipticCurvePublicKey):
            crypto.verify(sig, data, ec.ECDSA(hashes.SHA256()))  # WebAuthn ES256 is DER
        else:  # pragma: no cover - only sk keys are candidates
            return False
    except (InvalidSignature, ValueError):
        return False
    return True


def _origin_fits(origin: str, rp_id: str) -> bool:
    m = _ORIGIN.fullmatch(origin)
    if m is None or m.group(2) != rp_id or int(m.group(3) or 1) > 65535:
        return False
    # Plain http is a secure context on localhost only; elsewhere anyone on the wire can
    # rewrite the page, so the ceremony would prove nothing about what was shown.
    return m.group(1) == "https" or rp_id == "localhost"


def verify(
    payload: bytes,
    stored_json: str,
    trusted: AllowedSigners,
    principal: str,
    at: datetime,
    *,
    namespace: str = NAMESPACE,
) -> Verified:
    """Decide a stored passkey assertion over ``payload`` for ``principal`` at ``at``.

    Returns Verified, or raises SignatureError at the first refusal, in this order:
    "malformed" (parse, or clientData.type is not "webauthn.get"); "payload-mismatch"
    (clientData.challenge is not base64url(SHA-256(payload))); "unsupported-key" (RS256);
    "key-not-allowed" (no security-key line of the assertion's kind names the principal);
    "bad-signature" (such lines exist but none of their keys verifies: the data changed or
    the passkey is not listed, which a signature without an embedded key cannot tell
    apart); "key-not-valid-at" / "wrong-namespace" (as AllowedSigners.find decides for the
    verifying key); "relying-party"; "origin" (also for a cross-origin frame);
    "user-presence"; "user-verification". ValueError if ``at`` is naive.
    """
    a = parse(stored_json)
    if a.client_type != "webauthn.get":
        raise _malformed(f'clientDataJSON.type is {a.client_type!r}, not "webauthn.get"')
    if a.challenge != _b64url(hashlib.sha256(payload).digest()):
        raise SignatureError("payload-mismatch", "the passkey signed another payload")
    if a.algorithm == RS256:
        raise SignatureError("unsupported-key", _RS256_REFUSED)
    if a.algorithm not in _KEY_TYPE:
        raise _malformed(f"algorithm {a.algorithm} is not -7 (ES256) or -8 (EdDSA)")
    key_type = _KEY_TYPE[a.algorithm]
    # The assertion names its key only by credential id, which the file does not keep:
    # every passkey listed for the principal is tried, and the one that verifies is then
    # judged by the file's own rules (namespace, validity), exactly as for SSHSIG.
    candidates = [
        sshkeys.parse_public_key(e.key_blob)
        for e in trusted.entries
        if e.key_type == key_type and not e.cert_authority and e.matches_principal(principal)
    ]
    if not candidates:
        message = f"{trusted.source}: no {key_type} (passkey) line lists {principal!r}"
        raise SignatureError("key-not-allowed", message)
    key = next((k for k in candidates if _signature_holds(k, a)), None)
    if key is None:
        message = f"no passkey listed for {principal!r} in {trusted.source} verifies it"
        raise SignatureError("bad-signature", message + " (data changed, or passkey not listed)")
    entry = trusted.find(principal, key.blob, namespace, at)
    rp_id = key.application or ""
    flags = a.authenticator_data[32]
    if a.authenticator_data[:32] != hashlib.sha256(rp_id.encode("utf-8")).digest():
        message = f"the passkey signed for another relying party than {rp_id!r}"
        raise SignatureError("relying-party", f"{message} ({entry.location})")
    if a.cross_origin or not _origin_fits(a.client_origin, rp_id):
        frame = " inside another site's frame" if a.cross_origin else ""
        message = f"the passkey was used on {a.client_origin!r}{frame}, not https://{rp_id}"
        raise SignatureError("origin", message + " (http only for localhost)")
    if not flags & sshkeys.SK_USER_PRESENT:
        raise SignatureError("user-presence", "the authenticator did not see the user (no UP)")
    if not flags & sshkeys.SK_USER_VERIFIED:
        message = "the authenticator did not verify the user (no UV): PIN or biometric needed"
        raise SignatureError("user-verification", message)
    count = int.from_bytes(a.authenticator_data[33:37], "big")
    fingerprint = sshkeys.public_key_fingerprint(key.blob)
    return Verified(rp_id, a.client_origin, True, True, entry, fingerprint, a.credential_id, count)
