"""A FIDO security key and a passkey, signing exactly as authenticators do.

FakeSecurityKey signs as PROTOCOL.u2f says an authenticator does for OpenSSH.

Security keys cannot be touched here. The signature covers sha256(application) || flags ||
counter || sha256(SSHSIG signed data); FLAGS says whether a human touched the key (0x01,
user presence) or gave a PIN (0x04). Built from its own wire helpers rather than the
library's, so that the library's verifier is checked against an independent encoder (and
ssh-keygen judges the result in tests/test_sshsig.py).

Passkey signs WebAuthn assertions: authenticatorData = SHA-256(rp id) || flags || counter,
the signature over authenticatorData || SHA-256(clientDataJSON), with a real P-256 or
Ed25519 key; `sign` returns the record the Directus endpoint stores.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from govgate.signing import webauthn

UP, UV = 0x01, 0x04  # authenticator flags: user present, user verified
PASSKEY_KINDS = {"ES256": webauthn.ES256, "EdDSA": webauthn.EDDSA}


def ssh_string(data: bytes | str) -> bytes:
    data = data.encode() if isinstance(data, str) else data
    return struct.pack(">I", len(data)) + data


_s = ssh_string


def mpint(n: int) -> bytes:
    body = n.to_bytes(n.bit_length() // 8 + 1, "big")  # always room for a clear sign bit
    return _s(body if n else b"")


def armor(blob: bytes) -> str:
    b64 = base64.b64encode(blob).decode()
    lines = [b64[i : i + 70] for i in range(0, len(b64), 70)]
    return "\n".join(["-----BEGIN SSH SIGNATURE-----", *lines, "-----END SSH SIGNATURE-----\n"])


class FakeSecurityKey:
    """Signs like a FIDO authenticator per PROTOCOL.u2f: the signature covers
    sha256(application) || flags || counter || sha256(SSHSIG signed data)."""

    def __init__(self, kind: str, application: str = "ssh:") -> None:
        self.application = application
        if kind == "ed25519":
            self._key = Ed25519PrivateKey.generate()
            self.key_type = "sk-ssh-ed25519@openssh.com"
            raw = self._key.public_key().public_bytes_raw()
            self.blob = _s(self.key_type) + _s(raw) + _s(application)
        else:
            self._key = ec.generate_private_key(ec.SECP256R1())
            self.key_type = "sk-ecdsa-sha2-nistp256@openssh.com"
            point = self._key.public_key().public_bytes(
                Encoding.X962, PublicFormat.UncompressedPoint
            )
            self.blob = _s(self.key_type) + _s("nistp256") + _s(point) + _s(application)
        self.name = self.key_type
        self.line = f"{self.key_type} {base64.b64encode(self.blob).decode()}"

    def sign(self, payload: bytes, namespace: str, *, flags: int = 0x01, counter: int = 1):
        digest = hashlib.sha512(payload).digest()
        message = b"SSHSIG" + _s(namespace) + _s(b"") + _s("sha512") + _s(digest)
        app_hash = hashlib.sha256(self.application.encode()).digest()
        tbs = app_hash + bytes([flags]) + struct.pack(">I", counter)
        tbs += hashlib.sha256(message).digest()
        if isinstance(self._key, Ed25519PrivateKey):
            sig = self._key.sign(tbs)
        else:
            r, s = decode_dss_signature(self._key.sign(tbs, ec.ECDSA(hashes.SHA256())))
            sig = mpint(r) + mpint(s)
        sig_blob = _s(self.key_type) + _s(sig) + bytes([flags]) + struct.pack(">I", counter)
        blob = b"SSHSIG" + struct.pack(">I", 1) + _s(self.blob) + _s(namespace) + _s(b"")
        return armor(blob + _s("sha512") + _s(sig_blob))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


@dataclass
class Passkey:
    """A passkey: a private key that signs assertions the way a WebAuthn authenticator
    does. ``sign`` returns the record the Directus endpoint stores."""

    kind: str
    key: object = field(init=False)
    credential_id: str = field(init=False)

    def __post_init__(self) -> None:
        if self.kind == "ES256":
            self.key = ec.generate_private_key(ec.SECP256R1())
        else:
            self.key = Ed25519PrivateKey.generate()
        self.credential_id = b64url(os.urandom(16))

    @property
    def algorithm(self) -> int:
        return PASSKEY_KINDS[self.kind]

    @property
    def spki_b64url(self) -> str:
        der = self.key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        return b64url(der)

    def line(self, principal: str, rp_id: str = "localhost") -> str:
        spki = self.spki_b64url
        return webauthn.passkey_line(principal, spki, self.algorithm, rp_id, self.credential_id)

    def _sign(self, data: bytes) -> bytes:
        if self.kind == "ES256":
            return self.key.sign(data, ec.ECDSA(hashes.SHA256()))
        return self.key.sign(data)

    def sign(
        self,
        payload: bytes,
        *,
        rp_id: str = "localhost",
        origin: str = "http://localhost:8055",
        flags: int = UP | UV,
        ceremony: str = "webauthn.get",
        cross_origin: bool = False,
        signed_client_data: bytes | None = None,
    ) -> str:
        """The stored JSON of an assertion over PAYLOAD. SIGNED_CLIENT_DATA, when given,
        is what the signature covers in place of the clientDataJSON stored."""
        challenge = b64url(hashlib.sha256(payload).digest())
        client = {
            "type": ceremony,
            "challenge": challenge,
            "origin": origin,
            "crossOrigin": cross_origin,
        }
        client_json = json.dumps(client, separators=(",", ":")).encode()
        auth_data = hashlib.sha256(rp_id.encode()).digest() + bytes([flags])
        auth_data += struct.pack(">I", 7)
        covered = signed_client_data if signed_client_data is not None else client_json
        sig = self._sign(auth_data + hashlib.sha256(covered).digest())
        return json.dumps(
            {
                "credential_id": self.credential_id,
                "authenticatorData": b64url(auth_data),
                "clientDataJSON": b64url(client_json),
                "signature": b64url(sig),
                "userHandle": b64url(b"user-1"),
                "algorithm": self.algorithm,
                "origin": origin,
            }
        )
