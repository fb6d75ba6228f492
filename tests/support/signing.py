"""The suite's approvers' keys and the allowed_signers file that trusts them, made once.

Keys are made with `cryptography` (OpenSSH format, no passphrase) in a folder of their own
for the whole run; the labs' settings name the allowed_signers file, as an operator's
govgate.toml does. `signer(EMAIL)` is what `govgate ratify --sign-key` hands the library.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from govgate.signing import sshkeys
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
    path = folder() / principal.replace("@", "_at_")
    sshkeys.new_key_file(path)
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


SSH_AGENT, SSH_ADD = "/usr/bin/ssh-agent", "/usr/bin/ssh-add"


@contextmanager
def running_agent(*keys: Path) -> Iterator[str]:
    """A real ssh-agent holding KEYS (loaded with ssh-add); yields its socket's path."""
    where = tempfile.mkdtemp(prefix="gg-agent-", dir="/tmp")  # sun_path is short
    sock = os.path.join(where, "agent.sock")
    env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
    proc = subprocess.Popen(
        [SSH_AGENT, "-a", sock, "-D"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    try:
        deadline = time.monotonic() + 10
        while not _accepts(sock):  # the socket file exists before the agent listens on it
            assert proc.poll() is None and time.monotonic() < deadline, "ssh-agent did not start"
            time.sleep(0.02)
        for key in keys:
            subprocess.run(
                [SSH_ADD, "-q", str(key)],
                check=True,
                capture_output=True,
                env={**env, "SSH_AUTH_SOCK": sock},
            )
        yield sock
    finally:
        proc.kill()
        proc.wait(timeout=10)
        shutil.rmtree(where, ignore_errors=True)


def _accepts(path: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(path)
        except OSError:
            return False
    return True
