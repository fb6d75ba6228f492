"""Refusals raised by the signing package, each carrying a stable reason code.

All three belong to the GovgateError family: a refused signature is a refusal (exit 1),
a signature that cannot be made and an unusable allowed_signers file are bad input (exit 2).

Callers branch on ``.code`` (never on message text, which is for humans and may change).
The code sets below are closed: constructing an error with any other code is a programming
error and raises ``ValueError`` at the raise site.
"""

from __future__ import annotations

from ..errors import BadInput, Refused

# Why a signature (or the signer behind it) was refused. Verification, then the
# allowed_signers decision, each stop at the first refusal in the order listed here.
SIGNATURE_REASONS: dict[str, str] = {
    "malformed": "the armor, the SSHSIG blob or a nested structure cannot be decoded",
    "unsupported-version": "the SSHSIG version is newer than 1",
    "hash-alg": "the message hash algorithm is neither sha256 nor sha512",
    "unsupported-key": "the signing key type is not supported (DSA, certificates, unknown)",
    "bad-key": "the signing key's material is invalid (bad point, size, trailing data)",
    "wrong-namespace": "the namespace is not the expected one, or not allowed for the key",
    "signature-algorithm": "the signature algorithm does not fit the key (e.g. RSA/SHA-1)",
    "bad-signature": "the signature does not verify over this payload with this key",
    "key-not-allowed": "no allowed_signers line lists this principal with this key",
    "key-not-valid-at": "the key is listed, but outside its valid-after/valid-before window",
    # WebAuthn (passkey) assertions only, see webauthn.verify: payload-mismatch is decided
    # right after decoding, the others once the allowed key is found, in the order listed.
    "payload-mismatch": "the passkey signed another challenge than SHA-256 of this payload",
    "relying-party": "the authenticator's rpIdHash is not SHA-256 of the key's relying party id",
    "origin": "the page origin is not https://<rp id>[:port] (http only on localhost)",
    "user-presence": "the authenticator did not see the user (UP flag missing)",
    "user-verification": "the authenticator did not verify the user (UV flag: PIN, biometric)",
}

# Why a signature could not be made. Distinct from SignatureError so a caller never
# mistakes a local signing problem for a verdict on someone else's evidence.
SIGNING_REASONS: dict[str, str] = {
    "key-unreadable": "the private key file cannot be read or is not an OpenSSH private key",
    "key-encrypted": "the key needs a passphrase (or the bcrypt module to decrypt it)",
    "unsupported-key": "the key type cannot sign here (DSA, hardware-backed sk keys)",
    "agent-unavailable": "no ssh-agent socket could be reached",
    "agent-refused": "the agent answered SSH_AGENT_FAILURE (key not loaded, user declined)",
    "agent-protocol": "the agent's reply was malformed, timed out, or did not verify",
    "agent-no-key": "the agent holds no key allowed for the principal (or no key at all)",
    "agent-ambiguous": (
        "the agent holds several keys and none could be chosen; name one with --sign-key KEY.pub"
    ),
}


class SignatureError(Refused):
    """A signature, or its signer, was refused. ``code`` is a key of SIGNATURE_REASONS."""

    def __init__(self, code: str, message: str) -> None:
        if code not in SIGNATURE_REASONS:
            raise ValueError(f"unknown signature reason code {code!r}")
        super().__init__(message)
        self.code = code

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class SigningError(BadInput):
    """A signature could not be produced. ``code`` is a key of SIGNING_REASONS."""

    def __init__(self, code: str, message: str) -> None:
        if code not in SIGNING_REASONS:
            raise ValueError(f"unknown signing reason code {code!r}")
        super().__init__(message, hint=SIGNING_REASONS[code])
        self.code = code

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class AllowedSignersError(BadInput):
    """An allowed_signers file is unusable. ``file`` and ``line`` (1-based; None when the
    problem concerns the whole file, e.g. it cannot be read) locate the problem."""

    def __init__(self, file: str, line: int | None, problem: str) -> None:
        where = f"{file}:{line}" if line is not None else file
        super().__init__(
            f"{where}: {problem}", hint="fix that line; the format is ssh-keygen(1) ALLOWED SIGNERS"
        )
        self.file = file
        self.line = line
        self.problem = problem
