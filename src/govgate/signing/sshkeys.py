"""SSH public keys and raw SSH signatures, checked with the ``cryptography`` package.

Covers the key types SSHSIG approvals accept: ssh-ed25519, ecdsa-sha2-nistp256/384/521,
ssh-rsa (rsa-sha2-256/512 signatures only) and the FIDO security-key types
sk-ssh-ed25519@openssh.com and sk-ecdsa-sha2-nistp256@openssh.com (PROTOCOL.u2f).
Everything here is pure computation: no files, no processes.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from govgate.signing import sshwire
from govgate.signing.errors import SignatureError

ED25519 = "ssh-ed25519"
RSA = "ssh-rsa"
SK_ED25519 = "sk-ssh-ed25519@openssh.com"
SK_ECDSA = "sk-ecdsa-sha2-nistp256@openssh.com"
_CURVES: dict[str, tuple[str, ec.EllipticCurve, type[hashes.HashAlgorithm]]] = {
    "ecdsa-sha2-nistp256": ("nistp256", ec.SECP256R1(), hashes.SHA256),
    "ecdsa-sha2-nistp384": ("nistp384", ec.SECP384R1(), hashes.SHA384),
    "ecdsa-sha2-nistp521": ("nistp521", ec.SECP521R1(), hashes.SHA512),
}
SUPPORTED_KEY_TYPES = frozenset({ED25519, RSA, SK_ED25519, SK_ECDSA, *_CURVES})
_RSA_SIG_HASHES = {"rsa-sha2-256": hashes.SHA256, "rsa-sha2-512": hashes.SHA512}
# OpenSSH's bounds on RSA moduli (SSH_RSA_MINIMUM_MODULUS_SIZE, SSHBUF_MAX_BIGNUM).
_RSA_MIN_BITS, _RSA_MAX_BITS = 1024, 16384

# PROTOCOL.u2f flag bits in an sk signature.
SK_USER_PRESENT = 0x01
SK_USER_VERIFIED = 0x04


@dataclass(frozen=True)
class PublicKey:
    """A parsed public key. ``blob`` is the canonical wire encoding (OpenSSH compares keys
    by value, so two encodings of one key give one blob); ``application`` is set for sk
    keys only."""

    key_type: str
    blob: bytes
    application: str | None = None
    crypto_key: object = field(default=None, compare=False, repr=False)

    @property
    def is_security_key(self) -> bool:
        return self.application is not None


@dataclass(frozen=True)
class RawSignature:
    """The SSH signature encoding: algorithm name, signature bytes, and for sk
    signatures the authenticator flags and counter."""

    sig_type: str
    sig: bytes
    sk_flags: int | None = None
    sk_counter: int | None = None


def _bad_key(message: str) -> SignatureError:
    return SignatureError("bad-key", message)


def _ec_point(curve: ec.EllipticCurve, point: bytes) -> ec.EllipticCurvePublicKey:
    size = (curve.key_size + 7) // 8
    # Only uncompressed points, like OpenSSH; compressed ones would verify here but
    # be refused by ssh-keygen.
    if len(point) != 1 + 2 * size or point[0] != 0x04:
        raise _bad_key("EC point is not an uncompressed point of the key's curve")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(curve, point)
    except ValueError as exc:
        raise _bad_key("EC point is not on the curve") from exc


def parse_public_key(blob: bytes) -> PublicKey:
    """Decode a public key wire blob.

    Raises SignatureError "malformed" if the blob has no type name, "unsupported-key"
    for types outside SUPPORTED_KEY_TYPES, "bad-key" for invalid key material.
    """
    try:
        key_type = sshwire.first_string(blob)
    except sshwire.WireError as exc:
        raise SignatureError("malformed", f"public key blob: {exc}") from exc
    if key_type not in SUPPORTED_KEY_TYPES:
        raise SignatureError("unsupported-key", f"key type {key_type!r} is not supported")
    r = sshwire.Reader(blob)
    try:
        r.text()
        if key_type in (ED25519, SK_ED25519):
            raw = r.string()
            app = r.text() if key_type == SK_ED25519 else None
            r.end()
            if len(raw) != 32:
                raise _bad_key("ed25519 public key is not 32 bytes")
            crypto: object = ed25519.Ed25519PublicKey.from_public_bytes(raw)
            canon = sshwire.string(key_type) + sshwire.string(raw)
        elif key_type == RSA:
            e, n = r.mpint(), r.mpint()
            r.end()
            if not _RSA_MIN_BITS <= n.bit_length() <= _RSA_MAX_BITS:
                raise _bad_key(f"RSA modulus of {n.bit_length()} bits is out of bounds")
            try:
                crypto = rsa.RSAPublicNumbers(e, n).public_key()
            except ValueError as exc:
                raise _bad_key(f"RSA public key rejected: {exc}") from exc
            app = None
            canon = sshwire.string(key_type) + sshwire.mpint(e) + sshwire.mpint(n)
        else:
            ec_type = "ecdsa-sha2-nistp256" if key_type == SK_ECDSA else key_type
            curve_name, curve, _ = _CURVES[ec_type]
            if r.text() != curve_name:
                raise _bad_key(f"curve name does not match key type {key_type}")
            point = r.string()
            app = r.text() if key_type == SK_ECDSA else None
            r.end()
            crypto = _ec_point(curve, point)
            canon = sshwire.string(key_type) + sshwire.string(curve_name)
            canon += sshwire.string(point)
    except sshwire.WireError as exc:
        raise _bad_key(f"{key_type} public key: {exc}") from exc
    if app is not None:
        canon += sshwire.string(app)
    return PublicKey(key_type, canon, app, crypto)


def parse_signature_blob(blob: bytes) -> RawSignature:
    """Decode an SSH signature encoding; SignatureError "malformed" on bad structure.

    Webauthn sk signatures carry extra fields; they are decoded no further than their
    flags and counter, since verification refuses them anyway.
    """
    r = sshwire.Reader(blob)
    try:
        sig_type = r.text()
        sig = r.string()
        if sig_type.startswith("sk-") or sig_type.startswith("webauthn-sk-"):
            flags, counter = r.u8(), r.u32()
            if sig_type.startswith("webauthn-"):
                r.rest()
            r.end()
            return RawSignature(sig_type, sig, flags, counter)
        r.end()
    except sshwire.WireError as exc:
        raise SignatureError("malformed", f"signature blob: {exc}") from exc
    return RawSignature(sig_type, sig)


def encode_signature_blob(raw: RawSignature) -> bytes:
    """The wire form of ``raw`` (the inverse of parse_signature_blob for non-webauthn)."""
    out = sshwire.string(raw.sig_type) + sshwire.string(raw.sig)
    if raw.sk_flags is not None:
        out += bytes([raw.sk_flags]) + sshwire.u32(raw.sk_counter or 0)
    return out


def sk_signed_data(application: str, flags: int, counter: int, data: bytes) -> bytes:
    """What a FIDO authenticator signs for ``data`` (PROTOCOL.u2f, no extensions)."""
    app_hash = hashlib.sha256(application.encode("utf-8")).digest()
    return app_hash + bytes([flags]) + sshwire.u32(counter) + hashlib.sha256(data).digest()


def _ecdsa_der(inner: bytes) -> bytes:
    r = sshwire.Reader(inner)
    try:
        sig_r, sig_s = r.mpint(), r.mpint()
        r.end()
    except sshwire.WireError as exc:
        raise SignatureError("malformed", f"ECDSA signature: {exc}") from exc
    return encode_dss_signature(sig_r, sig_s)


def _allowed_sig_types(key_type: str) -> frozenset[str]:
    if key_type == RSA:
        return frozenset(_RSA_SIG_HASHES)
    return frozenset({key_type})


def verify_raw(key: PublicKey, raw: RawSignature, data: bytes) -> None:
    """Check that ``raw`` is ``key``'s signature over ``data``; returns on success.

    Raises SignatureError "signature-algorithm" when the algorithm does not fit the key
    (including legacy ssh-rsa/SHA-1 and webauthn), "malformed" for an undecodable
    ECDSA signature, "bad-signature" when the cryptographic check fails.
    """
    if raw.sig_type not in _allowed_sig_types(key.key_type):
        raise SignatureError(
            "signature-algorithm",
            f"signature algorithm {raw.sig_type!r} is not accepted for a {key.key_type} key",
        )
    sig, crypto = raw.sig, key.crypto_key
    if key.application is not None:
        data = sk_signed_data(key.application, raw.sk_flags or 0, raw.sk_counter or 0, data)
    try:
        if isinstance(crypto, ed25519.Ed25519PublicKey):
            if len(sig) != 64:
                raise InvalidSignature
            crypto.verify(sig, data)
        elif isinstance(crypto, ec.EllipticCurvePublicKey):
            ec_type = "ecdsa-sha2-nistp256" if key.key_type == SK_ECDSA else key.key_type
            crypto.verify(_ecdsa_der(sig), data, ec.ECDSA(_CURVES[ec_type][2]()))
        elif isinstance(crypto, rsa.RSAPublicKey):
            modlen = (crypto.key_size + 7) // 8
            if len(sig) > modlen:
                raise InvalidSignature
            # OpenSSH left-pads short RSA signatures (some signers strip leading zeros).
            sig = sig.rjust(modlen, b"\x00")
            crypto.verify(sig, data, padding.PKCS1v15(), _RSA_SIG_HASHES[raw.sig_type]())
        else:  # pragma: no cover - parse_public_key only builds the types above
            raise SignatureError("unsupported-key", f"no verifier for {key.key_type}")
    except (InvalidSignature, ValueError) as exc:
        raise SignatureError(
            "bad-signature", f"{raw.sig_type} signature does not verify with this key"
        ) from exc


PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def public_blob_of(private_key: PrivateKey) -> bytes:
    """The wire blob of a private key's public half; ValueError for a curve SSH lacks."""
    pub = private_key.public_key()
    if isinstance(pub, ed25519.Ed25519PublicKey):
        return sshwire.string(ED25519) + sshwire.string(pub.public_bytes_raw())
    if isinstance(pub, rsa.RSAPublicKey):
        nums = pub.public_numbers()
        return sshwire.string(RSA) + sshwire.mpint(nums.e) + sshwire.mpint(nums.n)
    for key_type, (curve_name, curve, _) in _CURVES.items():
        if pub.curve.name == curve.name:
            point = pub.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
            return sshwire.string(key_type) + sshwire.string(curve_name) + sshwire.string(point)
    raise ValueError(f"curve {pub.curve.name} has no SSH key type")


def sign_raw(private_key: PrivateKey, data: bytes) -> bytes:
    """Sign ``data`` as OpenSSH would (RSA always rsa-sha2-512); the signature blob."""
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        return encode_signature_blob(RawSignature(ED25519, private_key.sign(data)))
    if isinstance(private_key, rsa.RSAPrivateKey):
        sig = private_key.sign(data, padding.PKCS1v15(), hashes.SHA512())
        return encode_signature_blob(RawSignature("rsa-sha2-512", sig))
    key_type = sshwire.first_string(public_blob_of(private_key))
    der = private_key.sign(data, ec.ECDSA(_CURVES[key_type][2]()))
    sig_r, sig_s = decode_dss_signature(der)
    inner = sshwire.mpint(sig_r) + sshwire.mpint(sig_s)
    return encode_signature_blob(RawSignature(key_type, inner))


def _canonical(blob: bytes) -> bytes:
    try:
        return parse_public_key(blob).blob
    except SignatureError:
        return blob


def public_key_fingerprint(blob: bytes) -> str:
    """``SHA256:<unpadded base64>`` as ssh-keygen -l prints it."""
    digest = hashlib.sha256(_canonical(blob)).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def public_key_line(blob: bytes) -> str:
    """``<type> <base64>`` as in a .pub file (without comment). ValueError if the blob
    has no type name."""
    try:
        key_type = sshwire.first_string(blob)
    except sshwire.WireError as exc:
        raise ValueError(f"not an SSH public key blob: {exc}") from exc
    return f"{key_type} {base64.b64encode(blob).decode('ascii')}"


def parse_public_key_line(line: str) -> bytes:
    """The blob from ``<type> <base64> [comment]``; ValueError when the base64 is invalid
    or the stated type differs from the blob's."""
    fields = line.strip().split(None, 2)
    if len(fields) < 2:
        raise ValueError("expected '<key-type> <base64-key> [comment]'")
    try:
        blob = base64.b64decode(fields[1], validate=True)
        inner_type = sshwire.first_string(blob)
    except (ValueError, sshwire.WireError) as exc:
        raise ValueError(f"invalid base64 key: {exc}") from exc
    if inner_type != fields[0]:
        raise ValueError(f"key type {fields[0]!r} does not match the key's {inner_type!r}")
    return blob


def new_key_file(path: str | os.PathLike, comment: str = "") -> str:
    """Create a new Ed25519 OpenSSH private key at PATH (mode 0600, no passphrase) and its
    public half at PATH.pub (with COMMENT); returns the public line ``ssh-ed25519 <base64>``.

    Raises FileExistsError when PATH exists: a key is never replaced.
    """
    key = ed25519.Ed25519PrivateKey.generate()
    data = key.private_bytes(Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    line = public_key_line(public_blob_of(key))
    with open(f"{os.fspath(path)}.pub", "w", encoding="ascii") as out:
        out.write(f"{line} {comment}".rstrip() + "\n")
    return line
