"""Signers: what ``govgate ratify --sign-key PATH`` / ``--sign-agent`` hand to the library.

A signer makes an armored SSHSIG signature (see sshsig) with a private key file
(KeySigner) or through ssh-agent (AgentSigner). Both offer the same three calls:
``check`` (fail now, before the caller writes anything), ``public_blob`` (which key will
sign) and ``sign``. They read key files and talk to the agent socket; they never write a
file or start a program. Every failure to sign is a SigningError with a SIGNING_REASONS
code; ValueError only for a caller's mistake (empty namespace, allowed without principal).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from govgate.files import read_bounded
from govgate.signing import sshagent, sshkeys, sshsig
from govgate.signing.allowed_signers import AllowedSigners
from govgate.signing.errors import SignatureError, SigningError
from govgate.signing.payload import NAMESPACE

__all__ = ["AgentSigner", "KeySigner", "Signer", "needs_passphrase"]


def needs_passphrase(path: str) -> bool:
    """Whether the OpenSSH private key at ``path`` is passphrase-protected, from its
    cleartext header (nothing is decrypted), so a caller can prompt before signing.
    SigningError "key-unreadable" if the file cannot be read or is not such a key."""
    try:
        data = read_bounded(path, sshsig.KEY_FILE_LIMIT)
    except OSError as exc:
        raise SigningError("key-unreadable", f"cannot read {path}: {exc}") from exc
    encrypted, _key_type = sshsig._peek_private_key(data, path)
    return encrypted


@dataclass(frozen=True)
class KeySigner:
    """Signs with the OpenSSH private key file at ``path``; ``passphrase`` decrypts it
    when it is protected (kept out of repr). ``principal``, ``allowed`` and ``namespace``
    arguments are accepted for the Signer interface and ignored: the file names its key,
    and whether that key may sign is the verifier's decision."""

    path: str
    passphrase: bytes | None = field(default=None, repr=False)

    def _load(self) -> sshkeys.PrivateKey:
        return sshsig._load_private_key(self.path, self.passphrase)

    def check(self, principal=None, allowed=None, *, namespace=NAMESPACE) -> None:
        """Read and decrypt the key once and drop it. Raises SigningError "key-encrypted"
        (protected and no passphrase, or no bcrypt module to decrypt), "key-unreadable"
        (missing, not an OpenSSH private key, wrong passphrase) or "unsupported-key"."""
        self._load()

    def public_blob(self, principal=None, allowed=None, *, namespace=NAMESPACE) -> bytes:
        """The wire blob of the key's public half. Decrypts the key, so it fails exactly
        as ``check`` does."""
        return sshkeys.public_blob_of(self._load())

    def sign(
        self,
        payload: bytes,
        namespace: str,
        principal: str | None = None,
        allowed: AllowedSigners | None = None,
    ) -> str:
        """``sshsig.sign`` with this key: the armored signature, or the errors of
        ``check``; ValueError for an empty namespace."""
        return sshsig.sign(payload, self.path, namespace, self.passphrase)


@dataclass(frozen=True)
class AgentSigner:
    """Signs through the ssh-agent at ``socket_path`` (None: $SSH_AUTH_SOCK) with
    ``key``: a public key line "type base64 [comment]" or the path of a .pub file; None
    lets ``public_blob`` choose among the agent's keys."""

    socket_path: str | None = None
    key: str | None = None

    def _socket(self) -> str:
        return self.socket_path or sshagent.default_socket()

    def check(
        self,
        principal: str | None = None,
        allowed: AllowedSigners | None = None,
        *,
        namespace: str = NAMESPACE,
    ) -> None:
        """Choose the key as ``public_blob`` does and make sure the agent holds it.
        Raises what ``public_blob`` raises, and "agent-no-key" for a named key the agent
        does not hold."""
        blob = self.public_blob(principal, allowed, namespace=namespace)
        if self.key is not None:
            sock = self._socket()
            if blob not in (b for b, _comment in sshagent.list_identities(sock)):
                raise SigningError(
                    "agent-no-key",
                    f"the agent at {sock} does not hold {sshkeys.public_key_fingerprint(blob)}"
                    f" ({self.key}); ssh-add its private key",
                )

    def public_blob(
        self,
        principal: str | None = None,
        allowed: AllowedSigners | None = None,
        *,
        namespace: str = NAMESPACE,
    ) -> bytes:
        """The wire blob of the key that will sign.

        With ``key`` set, that key (the agent is not asked). Otherwise the agent's keys
        are listed and the first that ``allowed`` lets sign for ``principal`` in
        ``namespace`` now is taken; with ``allowed`` None, the agent's only key.
        Raises SigningError "key-unreadable" (``key`` is neither a key line nor a readable
        .pub file), "unsupported-key", "agent-unavailable", "agent-refused",
        "agent-protocol", "agent-no-key" (no key fits; the message names principal and
        socket) or "agent-ambiguous" (several keys, no allowed_signers to choose by).
        ValueError when ``allowed`` is given without ``principal``.
        """
        if self.key is not None:
            return _named_key(self.key)
        if allowed is not None and principal is None:
            raise ValueError("choosing an agent key by allowed_signers needs a principal")
        sock = self._socket()
        identities = sshagent.list_identities(sock)
        if allowed is None:
            if len(identities) == 1:
                return identities[0][0]
            if not identities:
                raise SigningError("agent-no-key", f"the agent at {sock} holds no keys")
            raise SigningError(
                "agent-ambiguous",
                f"the agent at {sock} holds {len(identities)} keys: {_describe(identities)}",
            )
        now = datetime.now(UTC)
        for blob, _comment in identities:
            try:
                allowed.find(principal, blob, namespace, now)
            except SignatureError:
                continue
            return blob
        raise SigningError(
            "agent-no-key",
            f"none of the keys the agent at {sock} holds ({_describe(identities) or 'none'})"
            f" is allowed by {allowed.source} for principal {principal!r} in namespace"
            f" {namespace!r}; ssh-add that principal's key",
        )

    def sign(
        self,
        payload: bytes,
        namespace: str,
        principal: str | None = None,
        allowed: AllowedSigners | None = None,
    ) -> str:
        """Choose the key as ``public_blob`` does and have the agent sign with it
        (``sshsig.sign_with_agent``, which verifies the agent's answer). Raises what
        ``public_blob`` and ``sign_with_agent`` raise."""
        blob = self.public_blob(principal, allowed, namespace=namespace)
        line = sshkeys.public_key_line(blob)
        return sshsig.sign_with_agent(payload, line, namespace, self._socket())


Signer = KeySigner | AgentSigner


def _describe(identities: list[tuple[bytes, str]]) -> str:
    return ", ".join(
        f"{sshkeys.public_key_fingerprint(blob)} {comment}".rstrip() for blob, comment in identities
    )


def _named_key(key: str) -> bytes:
    try:
        blob = sshkeys.parse_public_key_line(key)
    except ValueError:
        try:
            text = read_bounded(key, sshsig.KEY_FILE_LIMIT).decode("utf-8")
            blob = sshkeys.parse_public_key_line(text)
        except (OSError, UnicodeError, ValueError) as exc:
            raise SigningError(
                "key-unreadable",
                f"{key!r} is neither a public key line nor a readable .pub file: {exc}",
            ) from exc
    try:
        return sshkeys.parse_public_key(blob).blob
    except SignatureError as exc:
        code = "unsupported-key" if exc.code == "unsupported-key" else "key-unreadable"
        raise SigningError(code, f"{key}: {exc.message}") from exc
