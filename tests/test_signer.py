"""Signers (--sign-key, --sign-agent) against the real OpenSSH tools.

Keys come from ssh-keygen, a real ssh-agent runs for each test, ssh-add loads it and
ssh-add -L is the oracle for what it holds; every signature must pass
ssh-keygen -Y verify with an allowed_signers file naming the principal.
"""

from __future__ import annotations

import base64
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from govgate.signing import allowed_signers, sshagent, sshsig
from govgate.signing.errors import SigningError
from govgate.signing.payload import NAMESPACE as NS
from govgate.signing.signer import AgentSigner, KeySigner, needs_passphrase

from support import signing

SSH_KEYGEN, SSH_AGENT, SSH_ADD = "/usr/bin/ssh-keygen", "/usr/bin/ssh-agent", "/usr/bin/ssh-add"
PASSPHRASE = b"correct horse battery staple"
ALICE, BOB = "alice@example.com", "bob@example.com"
pytestmark = pytest.mark.skipif(
    not all(Path(p).exists() for p in (SSH_KEYGEN, SSH_AGENT, SSH_ADD)),
    reason="needs ssh-keygen, ssh-agent and ssh-add",
)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
    return {**env, **extra}


@dataclass(frozen=True)
class Key:
    path: Path
    line: str  # "type base64 comment", as in the .pub file

    @property
    def blob(self) -> bytes:
        return base64.b64decode(self.line.split()[1])

    @property
    def pub(self) -> Path:
        return self.path.with_suffix(".pub")


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> dict[str, Key]:
    where = tmp_path_factory.mktemp("keys")
    specs = {
        "alice": ["-t", "ed25519", "-N", ""],
        "bob": ["-t", "ecdsa", "-b", "256", "-N", ""],
        "carol": ["-t", "ed25519", "-N", ""],
        "locked": ["-t", "ed25519", "-N", PASSPHRASE.decode()],
    }
    out = {}
    for name, spec in specs.items():
        path = where / name
        subprocess.run(
            [SSH_KEYGEN, "-q", *spec, "-C", f"{name}@test", "-f", str(path)], check=True, env=_env()
        )
        out[name] = Key(path, path.with_suffix(".pub").read_text().strip())
    return out


@pytest.fixture
def agent():
    with signing.running_agent() as sock:
        yield sock


def ssh_add(sock: str, *found: Key) -> None:
    for key in found:
        subprocess.run(
            [SSH_ADD, "-q", str(key.path)],
            check=True,
            capture_output=True,
            env=_env(SSH_AUTH_SOCK=sock),
        )


def allowed_file(tmp_path: Path, *lines: tuple[str, Key]) -> Path:
    path = tmp_path / "allowed_signers"
    text = "".join(f'{principal} namespaces="{NS}" {key.line}\n' for principal, key in lines)
    path.write_text(text)
    return path


def keygen_verifies(tmp_path: Path, allowed: Path, principal: str, payload: bytes, sig: str):
    (tmp_path / "payload.sig").write_text(sig)
    args = [SSH_KEYGEN, "-Y", "verify", "-f", str(allowed), "-I", principal, "-n", NS]
    args += ["-s", str(tmp_path / "payload.sig")]
    return subprocess.run(args, input=payload, capture_output=True, env=_env()).returncode == 0


def signing_code(call, *args, **kwargs) -> tuple[str, str]:
    with pytest.raises(SigningError) as caught:
        call(*args, **kwargs)
    return caught.value.code, caught.value.message


# --- list_identities -----------------------------------------------------------------


def test_list_identities_returns_what_ssh_add_lists_in_the_same_order(keys, agent):
    assert sshagent.list_identities(agent) == []
    ssh_add(agent, keys["bob"], keys["alice"])
    listed = subprocess.run(
        [SSH_ADD, "-L"], check=True, capture_output=True, text=True, env=_env(SSH_AUTH_SOCK=agent)
    ).stdout.splitlines()
    identities = sshagent.list_identities(agent)
    assert [f"{sshsig.public_key_line(blob)} {comment}" for blob, comment in identities] == listed
    assert [blob for blob, _ in identities] == [keys["bob"].blob, keys["alice"].blob]


def test_list_identities_of_an_absent_agent_is_agent_unavailable(agent):
    code, message = signing_code(sshagent.list_identities, agent + ".gone")
    assert code == "agent-unavailable" and agent + ".gone" in message


# --- AgentSigner ---------------------------------------------------------------------


def test_agent_signer_picks_the_key_allowed_for_the_principal_among_two_loaded_keys(
    keys, agent, tmp_path
):
    ssh_add(agent, keys["bob"], keys["alice"])  # alice's key is not the agent's first
    allowed = allowed_file(tmp_path, (ALICE, keys["alice"]), (BOB, keys["bob"]))
    signers = allowed_signers.load(allowed)
    signer = AgentSigner(socket_path=agent)
    for principal, key, other in [(ALICE, keys["alice"], BOB), (BOB, keys["bob"], ALICE)]:
        assert signer.public_blob(principal, signers) == key.blob
        signer.check(principal, signers)
        payload = os.urandom(200)
        armored = signer.sign(payload, NS, principal, signers)
        assert keygen_verifies(tmp_path, allowed, principal, payload, armored)
        assert not keygen_verifies(tmp_path, allowed, other, payload, armored)
        assert not keygen_verifies(tmp_path, allowed, principal, payload + b"x", armored)


def test_agent_signer_without_an_allowed_key_refuses_naming_principal_and_socket(
    keys, agent, tmp_path
):
    ssh_add(agent, keys["bob"], keys["carol"])
    # alice's line names carol's key, but only for another namespace: not usable either.
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(
        f'{ALICE} namespaces="{NS}" {keys["alice"].line}\n'
        f'{ALICE} namespaces="git" {keys["carol"].line}\n'
    )
    signers = allowed_signers.load(allowed)
    signer = AgentSigner(socket_path=agent)
    for call in (signer.public_blob, signer.check):
        code, message = signing_code(call, ALICE, signers)
        assert code == "agent-no-key"
        assert ALICE in message and agent in message
    code, _ = signing_code(signer.sign, b"p", NS, ALICE, signers)
    assert code == "agent-no-key"
    with pytest.raises(ValueError, match="principal"):
        signer.public_blob(None, signers)


def test_agent_signer_without_allowed_signers_takes_the_only_key_and_never_guesses(
    keys, agent, tmp_path, monkeypatch
):
    monkeypatch.setenv("SSH_AUTH_SOCK", agent)
    signer = AgentSigner()  # $SSH_AUTH_SOCK
    code, message = signing_code(signer.public_blob)
    assert code == "agent-no-key" and agent in message
    ssh_add(agent, keys["alice"])
    payload = b"approve plan 42\n"
    armored = signer.sign(payload, NS)
    allowed = allowed_file(tmp_path, (ALICE, keys["alice"]))
    assert keygen_verifies(tmp_path, allowed, ALICE, payload, armored)
    ssh_add(agent, keys["bob"])
    code, message = signing_code(signer.sign, payload, NS)
    assert code == "agent-ambiguous" and "alice@test" in message and "bob@test" in message


def test_agent_signer_signs_with_a_key_named_by_line_or_by_pub_file(keys, agent, tmp_path):
    ssh_add(agent, keys["alice"], keys["bob"])
    allowed = allowed_file(tmp_path, (BOB, keys["bob"]))
    for named in (keys["bob"].line, str(keys["bob"].pub)):
        signer = AgentSigner(socket_path=agent, key=named)
        signer.check()
        assert signer.public_blob() == keys["bob"].blob
        armored = signer.sign(b"p", NS, BOB)
        assert keygen_verifies(tmp_path, allowed, BOB, b"p", armored)


def test_agent_signer_refuses_a_named_key_it_cannot_read_or_the_agent_does_not_hold(
    keys, agent, tmp_path
):
    ssh_add(agent, keys["alice"])
    absent = AgentSigner(socket_path=agent, key=str(keys["carol"].pub))
    code, message = signing_code(absent.check)
    assert code == "agent-no-key" and agent in message
    assert signing_code(absent.sign, b"p", NS)[0] == "agent-refused"
    for unreadable in (str(tmp_path / "missing.pub"), str(keys["carol"].path), "ssh-ed25519 !!"):
        code, _ = signing_code(AgentSigner(socket_path=agent, key=unreadable).public_blob)
        assert code == "key-unreadable"


# --- KeySigner and needs_passphrase --------------------------------------------------


@pytest.mark.parametrize("name", ["alice", "bob"])
def test_key_signer_signs_what_ssh_keygen_verifies(keys, tmp_path, name):
    key = keys[name]
    signer = KeySigner(str(key.path))
    signer.check()
    assert signer.public_blob() == key.blob
    allowed = allowed_file(tmp_path, (ALICE, key))
    armored = signer.sign(b"approve\n", NS, ALICE)
    assert keygen_verifies(tmp_path, allowed, ALICE, b"approve\n", armored)


def test_key_signer_with_an_encrypted_key_and_no_passphrase_raises_key_encrypted_first(
    keys, tmp_path
):
    signer = KeySigner(str(keys["locked"].path))
    assert signing_code(signer.check)[0] == "key-encrypted"
    assert signing_code(signer.public_blob)[0] == "key-encrypted"
    assert signing_code(signer.sign, b"p", NS)[0] == "key-encrypted"


def test_key_signer_with_the_right_passphrase_signs_what_ssh_keygen_verifies(keys, tmp_path):
    pytest.importorskip("bcrypt", reason="decrypting OpenSSH private keys needs bcrypt")
    locked = keys["locked"]
    signer = KeySigner(str(locked.path), PASSPHRASE)
    assert PASSPHRASE.decode() not in repr(signer)
    signer.check()
    assert signer.public_blob() == locked.blob
    allowed = allowed_file(tmp_path, (ALICE, locked))
    armored = signer.sign(b"approve\n", NS, ALICE)
    assert keygen_verifies(tmp_path, allowed, ALICE, b"approve\n", armored)
    wrong = KeySigner(str(locked.path), b"wrong")
    assert signing_code(wrong.check)[0] == "key-unreadable"


def test_needs_passphrase_tells_protected_keys_from_plain_ones(keys, tmp_path):
    assert needs_passphrase(str(keys["locked"].path)) is True
    assert needs_passphrase(str(keys["alice"].path)) is False
    assert needs_passphrase(str(keys["bob"].path)) is False
    for unusable in (keys["alice"].pub, tmp_path / "missing"):
        assert signing_code(needs_passphrase, str(unusable))[0] == "key-unreadable"
