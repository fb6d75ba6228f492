"""The suite's approvers' keys and the allowed_signers file that trusts them, made once.

Keys are made with `cryptography` (OpenSSH format, no passphrase) in a folder of their own
for the whole run; the labs' settings name the allowed_signers file, as an operator's
govgate.toml does. `signer(EMAIL)` is what `govgate ratify --sign-key` hands the library.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from govgate.signing.payload import NAMESPACE
from govgate.signing.signer import KeySigner

from .constants import APPROVER

SECOND_APPROVER = "auditor@oneroof.example"  # a second human, for quorum and four eyes
ADMIN = "admin@oneroof.example"  # the demo's Directus administrator
TRUSTED = (APPROVER, SECOND_APPROVER, ADMIN)  # listed in the suite's allowed_signers
UNTRUSTED = "stranger@oneroof.example"  # has a key, but no allowed_signers line


@cache
def folder() -> Path:
    path = Path(tempfile.mkdtemp(prefix="govgate-keys-"))
    atexit.register(shutil.rmtree, path, True)
    return path


@cache
def key_path(principal: str) -> Path:
    """The private key file of PRINCIPAL (its public half beside it, `.pub`)."""
    key = ed25519.Ed25519PrivateKey.generate()
    path = folder() / principal.replace("@", "_at_")
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    Path(f"{path}.pub").write_text(public.decode() + "\n")
    return path


def public_line(principal: str) -> str:
    return Path(f"{key_path(principal)}.pub").read_text().strip()


def allowed_line(principal: str, options: str = f'namespaces="{NAMESPACE}"') -> str:
    return f"{principal} {options} {public_line(principal)}".replace("  ", " ")


@cache
def allowed_signers() -> str:
    """The suite's trust root: every TRUSTED principal with its key, for govgate approvals."""
    path = folder() / "allowed_signers"
    path.write_text("".join(allowed_line(p) + "\n" for p in TRUSTED))
    return str(path)


def signer(principal: str = APPROVER) -> KeySigner:
    return KeySigner(str(key_path(principal)))
