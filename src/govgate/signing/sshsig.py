"""OpenSSH SSHSIG signatures (PROTOCOL.sshsig), made and checked in-process.

``sign`` reproduces ``ssh-keygen -Y sign`` output (sha512 message hash, rsa-sha2-512 for
RSA keys, 70-column armor); ``verify`` accepts what ``ssh-keygen -Y verify`` accepts for
the supported key types and refuses everything else with a SignatureError whose ``code``
names the reason (see errors.SIGNATURE_REASONS). ``verify`` only proves that the embedded
key signed the payload; whose key that is, is decided by allowed_signers.

Nothing here starts a program: this runs inside processes that forbid exec.

Deliberate differences from ssh-keygen: certificate keys and webauthn signatures are
refused (unsupported-key / signature-algorithm); Ed25519 signatures must be canonical
(S < L, as RFC 8032 and OpenSSL require), where OpenSSH's reference code also accepts a
malleated S. The armor is read exactly as OpenSSH reads it (so CRLF text is refused:
normalise line endings before calling if signatures travel through such channels).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from govgate.files import read_bounded
from govgate.signing import sshagent, sshkeys, sshwire
from govgate.signing.errors import SignatureError, SigningError
from govgate.signing.sshkeys import (  # re-exported: part of this module's API
    SK_USER_PRESENT,
    SK_USER_VERIFIED,
    public_key_fingerprint,
    public_key_line,
)

__all__ = [
    "SK_USER_PRESENT",
    "SK_USER_VERIFIED",
    "Signature",
    "armor",
    "assemble",
    "dearmor",
    "parse",
    "parse_blob",
    "public_key_fingerprint",
    "public_key_line",
    "sign",
    "sign_with_agent",
    "signed_data",
    "verify",
]

BEGIN = "-----BEGIN SSH SIGNATURE-----"
END = "-----END SSH SIGNATURE-----"
MAGIC = b"SSHSIG"
SIG_VERSION = 1
HASH_ALGS = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}
DEFAULT_HASH_ALG = "sha512"
_ARMOR_WIDTH = 70  # what ssh-keygen writes; PROTOCOL.sshsig's "76" is not what it does
_B64_SKIPPED = str.maketrans("", "", " \t\n\v\f\r")
_PRIVATE_BEGIN = "-----BEGIN OPENSSH PRIVATE KEY-----"
_PRIVATE_END = "-----END OPENSSH PRIVATE KEY-----"
_PRIVATE_MAGIC = b"openssh-key-v1\x00"
_SIGNABLE_FROM_FILE = sshkeys.SUPPORTED_KEY_TYPES - {sshkeys.SK_ED25519, sshkeys.SK_ECDSA}


@dataclass(frozen=True)
class Signature:
    """One decoded SSHSIG signature.

    ``public_key`` is the signing key's wire blob as embedded, ``key_type`` its type name;
    ``signature_type``/``signature`` are the SSH signature algorithm and its bytes (for
    ECDSA the encoded r,s pair), ``signature_blob`` the whole SSH signature encoding.
    ``sk_flags``/``sk_counter`` are set for FIDO security-key signatures only: a caller
    that requires a touch checks ``user_present``, one that requires a PIN or biometric
    checks ``user_verified`` (ssh-keygen -Y verify checks neither).
    """

    public_key: bytes
    key_type: str
    namespace: str
    hash_alg: str
    signature_type: str
    signature: bytes
    signature_blob: bytes
    sk_flags: int | None = None
    sk_counter: int | None = None
    version: int = SIG_VERSION
    reserved: bytes = b""

    @property
    def fingerprint(self) -> str:
        return public_key_fingerprint(self.public_key)

    @property
    def user_present(self) -> bool | None:
        """None for keys that are not security keys."""
        return None if self.sk_flags is None else bool(self.sk_flags & SK_USER_PRESENT)

    @property
    def user_verified(self) -> bool | None:
        """None for keys that are not security keys."""
        return None if self.sk_flags is None else bool(self.sk_flags & SK_USER_VERIFIED)


def _require_namespace(namespace: str) -> None:
    if not isinstance(namespace, str) or not namespace:
        raise ValueError("the namespace must be a non-empty string")


def armor(blob: bytes) -> str:
    """The armored text for an SSHSIG blob, byte-identical to ssh-keygen's."""
    b64 = base64.b64encode(blob).decode("ascii")
    lines = [b64[i : i + _ARMOR_WIDTH] for i in range(0, len(b64), _ARMOR_WIDTH)]
    return "\n".join([BEGIN, *lines, END]) + "\n"


def dearmor(armored: str) -> bytes:
    """The SSHSIG blob inside armored text; SignatureError "malformed" otherwise.

    Like OpenSSH: the text must start with the header line, the first footer after it
    ends the body, whitespace inside the body is ignored and text after the footer too.
    Base64 must be canonical (padded, zero trailing bits), as OpenSSH's decoder demands.
    """
    if not isinstance(armored, str):
        raise SignatureError("malformed", "armored signature must be text")
    if not armored.startswith(BEGIN + "\n"):
        raise SignatureError("malformed", "missing '-----BEGIN SSH SIGNATURE-----' header")
    body = armored[len(BEGIN) + 1 :]
    end = body.find("\n" + END)
    if end < 0:
        raise SignatureError("malformed", "missing '-----END SSH SIGNATURE-----' footer")
    # Only C isspace() characters: OpenSSH's base64 decoder skips those and nothing else.
    compact = body[:end].translate(_B64_SKIPPED)
    try:
        blob = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("malformed", f"signature body is not base64: {exc}") from exc
    if not blob or base64.b64encode(blob).decode("ascii") != compact:
        raise SignatureError("malformed", "signature body is empty or not canonical base64")
    return blob


def signed_data(payload: bytes, namespace: str, hash_alg: str = DEFAULT_HASH_ALG) -> bytes:
    """The bytes the key signs for ``payload`` (PROTOCOL.sshsig section 3).
    ValueError for an unknown hash algorithm or an empty namespace."""
    _require_namespace(namespace)
    if hash_alg not in HASH_ALGS:
        raise ValueError(f"hash algorithm must be one of {sorted(HASH_ALGS)}")
    digest = HASH_ALGS[hash_alg](payload).digest()
    return (
        MAGIC
        + sshwire.string(namespace)
        + sshwire.string(b"")
        + sshwire.string(hash_alg)
        + sshwire.string(digest)
    )


def assemble(public_key: bytes, namespace: str, hash_alg: str, signature_blob: bytes) -> bytes:
    """The SSHSIG blob (PROTOCOL.sshsig section 2) around a finished signature."""
    return (
        MAGIC
        + sshwire.u32(SIG_VERSION)
        + sshwire.string(public_key)
        + sshwire.string(namespace)
        + sshwire.string(b"")
        + sshwire.string(hash_alg)
        + sshwire.string(signature_blob)
    )


def parse_blob(blob: bytes) -> Signature:
    """Decode an SSHSIG blob without checking it. SignatureError "malformed" for bad
    structure (including trailing data), "unsupported-version" for versions above 1."""
    r = sshwire.Reader(blob)
    try:
        if r.raw(len(MAGIC)) != MAGIC:
            raise SignatureError("malformed", "missing SSHSIG preamble")
        version = r.u32()
        if version > SIG_VERSION:
            # Checked before the rest: a newer version may lay the rest out differently.
            raise SignatureError("unsupported-version", f"SSHSIG version {version} > 1")
        public_key = r.string()
        namespace, reserved, hash_alg = r.text(), r.string(), r.text()
        signature_blob = r.string()
        r.end()
        key_type = sshwire.first_string(public_key)
    except sshwire.WireError as exc:
        raise SignatureError("malformed", f"SSHSIG blob: {exc}") from exc
    raw = sshkeys.parse_signature_blob(signature_blob)
    return Signature(
        public_key=public_key,
        key_type=key_type,
        namespace=namespace,
        hash_alg=hash_alg,
        signature_type=raw.sig_type,
        signature=raw.sig,
        signature_blob=signature_blob,
        sk_flags=raw.sk_flags,
        sk_counter=raw.sk_counter,
        version=version,
        reserved=reserved,
    )


def parse(armored: str) -> Signature:
    """Decode armored SSHSIG text without checking the signature (see parse_blob)."""
    return parse_blob(dearmor(armored))


def verify(payload: bytes, armored: str, namespace: str) -> Signature:
    """Check that ``armored`` is a valid SSHSIG signature over ``payload`` in ``namespace``.

    Returns the decoded Signature; its key must still be matched against allowed signers.
    Raises SignatureError, first failing check wins: "malformed", "unsupported-version",
    "hash-alg", "unsupported-key", "bad-key", "wrong-namespace", "signature-algorithm",
    "bad-signature". ValueError if ``namespace`` is empty.
    """
    _require_namespace(namespace)
    sig = parse(armored)
    if sig.hash_alg not in HASH_ALGS:
        raise SignatureError("hash-alg", f"hash algorithm {sig.hash_alg!r} is not allowed")
    key = sshkeys.parse_public_key(sig.public_key)
    if sig.namespace != namespace:
        raise SignatureError(
            "wrong-namespace", f"signature is for namespace {sig.namespace!r}, not {namespace!r}"
        )
    raw = sshkeys.RawSignature(sig.signature_type, sig.signature, sig.sk_flags, sig.sk_counter)
    sshkeys.verify_raw(key, raw, signed_data(payload, namespace, sig.hash_alg))
    return sig


def _peek_private_key(data: bytes, path: str) -> tuple[bool, str]:
    """(is_encrypted, key_type) from the cleartext header of an OpenSSH private key."""
    text = data.decode("ascii", errors="replace")
    start, stop = text.find(_PRIVATE_BEGIN), text.find(_PRIVATE_END)
    if start < 0 or stop < start:
        raise SigningError(
            "key-unreadable",
            f"{path} is not an OpenSSH private key ('ssh-keygen -p -f KEY' converts old PEM)",
        )
    try:
        blob = base64.b64decode("".join(text[start + len(_PRIVATE_BEGIN) : stop].split()))
        r = sshwire.Reader(blob)
        if r.raw(len(_PRIVATE_MAGIC)) != _PRIVATE_MAGIC:
            raise sshwire.WireError("bad magic")
        cipher = r.text()
        r.text(), r.string()  # kdf name and options
        if r.u32() != 1:
            raise sshwire.WireError("expected exactly one key")
        return cipher != "none", sshwire.first_string(r.string())
    except (binascii.Error, ValueError) as exc:  # WireError is a ValueError
        raise SigningError("key-unreadable", f"{path}: corrupt OpenSSH private key") from exc


KEY_FILE_LIMIT = 1024 * 1024  # an OpenSSH key file is a few kilobytes


def _load_private_key(path: str, passphrase: bytes | None) -> sshkeys.PrivateKey:
    try:
        data = read_bounded(path, KEY_FILE_LIMIT)
    except OSError as exc:
        raise SigningError("key-unreadable", f"cannot read {path}: {exc}") from exc
    encrypted, key_type = _peek_private_key(data, path)
    if key_type not in _SIGNABLE_FROM_FILE:
        hint = " (security keys sign through ssh-agent)" if key_type.startswith("sk-") else ""
        raise SigningError("unsupported-key", f"{key_type} keys cannot sign here{hint}")
    if encrypted and passphrase is None:
        raise SigningError("key-encrypted", f"{path} is passphrase-protected; pass passphrase")
    try:
        key = serialization.load_ssh_private_key(data, passphrase if encrypted else None)
    except UnsupportedAlgorithm as exc:
        raise SigningError(
            "key-encrypted",
            f"cannot decrypt {path} ({exc}); install bcrypt or use sign_with_agent",
        ) from exc
    except (ValueError, TypeError) as exc:
        why = "wrong passphrase or corrupt key" if encrypted else "corrupt key"
        raise SigningError("key-unreadable", f"{path}: {why} ({exc})") from exc
    return key  # type: ignore[return-value]  # key type was checked from the header


def sign(
    payload: bytes, private_key_path: str, namespace: str, passphrase: bytes | None = None
) -> str:
    """Sign ``payload`` with an OpenSSH-format private key file, as ``ssh-keygen -Y sign
    -n NAMESPACE -f KEY`` would, and return the armored signature.

    Reads the key file, nothing else. Raises SigningError "key-unreadable",
    "key-encrypted" or "unsupported-key" (DSA, sk keys); ValueError for an empty namespace.
    """
    _require_namespace(namespace)
    key = _load_private_key(private_key_path, passphrase)
    sig_blob = sshkeys.sign_raw(key, signed_data(payload, namespace))
    public_key = sshkeys.public_blob_of(key)
    return armor(assemble(public_key, namespace, DEFAULT_HASH_ALG, sig_blob))


def sign_with_agent(
    payload: bytes,
    public_key_line: str,
    namespace: str,
    socket_path: str | None = None,
    *,
    timeout: float = 60.0,
) -> str:
    """Sign ``payload`` with the ssh-agent key named by ``public_key_line`` ("type base64
    [comment]") over a unix socket (default $SSH_AUTH_SOCK); return the armored signature.

    RSA keys are asked for rsa-sha2-512. The agent's answer is verified before it is
    returned, so a misbehaving agent cannot hand out a bad signature. ``timeout`` bounds
    the whole exchange (an agent may wait for a confirmation or a security-key touch).
    Raises SigningError "agent-unavailable", "agent-refused", "agent-protocol" or
    "unsupported-key"; ValueError for an unparsable key line or an empty namespace.
    """
    _require_namespace(namespace)
    blob = sshkeys.parse_public_key_line(public_key_line)
    try:
        key = sshkeys.parse_public_key(blob)
    except SignatureError as exc:
        if exc.code == "unsupported-key":
            raise SigningError("unsupported-key", exc.message) from exc
        raise ValueError(f"invalid public key: {exc.message}") from exc
    path = socket_path if socket_path is not None else sshagent.default_socket()
    flags = sshagent.SSH_AGENT_RSA_SHA2_512 if key.key_type == sshkeys.RSA else 0
    tosign = signed_data(payload, namespace)
    sig_blob = sshagent.agent_sign(path, key.blob, tosign, flags, timeout)
    try:
        sshkeys.verify_raw(key, sshkeys.parse_signature_blob(sig_blob), tosign)
    except SignatureError as exc:
        raise SigningError(
            "agent-protocol", f"the agent's signature was refused: {exc.message}"
        ) from exc
    return armor(assemble(key.blob, namespace, DEFAULT_HASH_ALG, sig_blob))
