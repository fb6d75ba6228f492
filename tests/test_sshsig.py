"""SSHSIG signatures and allowed_signers, checked against the real OpenSSH tools.

ssh-keygen is the oracle: keys come from it, its signatures must verify here, ours must
verify there, and on a few hundred generated good and bad cases our verdict (verify +
allowed_signers) must equal its exit status. Security keys cannot be touched here, so a
FakeSecurityKey signs exactly as PROTOCOL.u2f says an authenticator does, built from
this file's own wire helpers rather than the library's; ssh-keygen judges the result.
"""

from __future__ import annotations

import base64
import os
import random
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    load_ssh_private_key,
)

from govgate.signing import allowed_signers, sshsig
from govgate.signing.errors import (
    SIGNATURE_REASONS,
    AllowedSignersError,
    SignatureError,
    SigningError,
)

from support.fakesk import FakeSecurityKey
from support.fakesk import armor as _armor
from support.fakesk import mpint as _mpint
from support.fakesk import ssh_string as _s

SSH_KEYGEN = "/usr/bin/ssh-keygen"
NS = "govgate-approval"
KEY_SPECS = {
    "ed25519": ["-t", "ed25519"],
    "ecdsa256": ["-t", "ecdsa", "-b", "256"],
    "ecdsa384": ["-t", "ecdsa", "-b", "384"],
    "ecdsa521": ["-t", "ecdsa", "-b", "521"],
    "rsa3072": ["-t", "rsa", "-b", "3072"],
}
# Central European time as a POSIX rule (no tzdata needed): summer time is in force on
# the agreement test's verify date, which exercises OpenSSH's tm_isdst=0 reading.
CET = "CET-1CEST,M3.5.0,M10.5.0/3"
pytestmark = pytest.mark.skipif(not Path(SSH_KEYGEN).exists(), reason="needs ssh-keygen")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
    return {**env, **extra}


def _blob_of(armored: str) -> bytes:
    body = armored.split("-----")[2]
    return base64.b64decode("".join(body.split()))


@dataclass(frozen=True)
class Key:
    name: str
    path: Path
    line: str  # "type base64"

    @property
    def blob(self) -> bytes:
        return base64.b64decode(self.line.split()[1])


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> dict[str, Key]:
    where = tmp_path_factory.mktemp("keys")
    out = {}
    for name, spec in KEY_SPECS.items():
        path = where / name
        subprocess.run(
            [SSH_KEYGEN, "-q", *spec, "-N", "", "-C", f"{name}@test", "-f", str(path)],
            check=True,
            env=_env(),
        )
        line = " ".join(path.with_suffix(".pub").read_text().split()[:2])
        out[name] = Key(name, path, line)
    return out


@pytest.fixture(scope="module")
def sk_keys() -> dict[str, FakeSecurityKey]:
    return {"sk-ed25519": FakeSecurityKey("ed25519"), "sk-ecdsa": FakeSecurityKey("ecdsa")}


@pytest.fixture
def central_european_time(monkeypatch):
    monkeypatch.setenv("TZ", CET)
    time.tzset()
    yield CET
    monkeypatch.undo()
    time.tzset()


def keygen_sign(key: Key, payload: bytes, namespace: str = NS, *opts: str) -> str:
    extra = [a for o in opts for a in ("-O", o)]
    done = subprocess.run(
        [SSH_KEYGEN, "-Y", "sign", "-n", namespace, "-f", str(key.path), *extra],
        input=payload,
        capture_output=True,
        check=True,
        env=_env(),
    )
    return done.stdout.decode()


def keygen_verify(
    work: Path,
    payload: bytes,
    armored: str,
    allowed: str,
    principal: str,
    namespace: str = NS,
    verify_time: str | None = None,
    tz: str | None = None,
) -> bool:
    (work / "allowed_signers").write_text(allowed)
    (work / "payload.sig").write_text(armored)
    args = [SSH_KEYGEN, "-Y", "verify", "-f", str(work / "allowed_signers"), "-I", principal]
    args += ["-n", namespace, "-s", str(work / "payload.sig")]
    if verify_time:
        args += ["-O", f"verify-time={verify_time}"]
    env = _env(TZ=tz) if tz else _env()
    return subprocess.run(args, input=payload, capture_output=True, env=env).returncode == 0


def refusal(call, *args) -> str:
    with pytest.raises(SignatureError) as caught:
        call(*args)
    assert caught.value.code in SIGNATURE_REASONS
    return caught.value.code


# --- signatures by ssh-keygen and by us, checked by the other -------------------------


@pytest.mark.parametrize("name", KEY_SPECS)
def test_signature_by_ssh_keygen_verifies_in_process(keys, tmp_path, name):
    key = keys[name]
    payload = b"approve plan 42\n"
    (tmp_path / "plan").write_bytes(payload)
    subprocess.run(
        [SSH_KEYGEN, "-Y", "sign", "-n", NS, "-f", str(key.path), str(tmp_path / "plan")],
        check=True,
        capture_output=True,
        env=_env(),
    )
    sig = sshsig.verify(payload, (tmp_path / "plan.sig").read_text(), NS)
    assert sig.public_key == key.blob and sig.namespace == NS and sig.hash_alg == "sha512"
    assert sig.sk_flags is None and sig.user_present is None
    sha256_sig = keygen_sign(key, payload, NS, "hashalg=sha256")
    assert sshsig.verify(payload, sha256_sig, NS).hash_alg == "sha256"


@pytest.mark.parametrize("name", KEY_SPECS)
def test_signature_by_sign_verifies_with_ssh_keygen(keys, tmp_path, name):
    key = keys[name]
    payload = os.urandom(300)
    armored = sshsig.sign(payload, str(key.path), NS)
    allowed = f"approver@example.com {key.line}\n"
    assert keygen_verify(tmp_path, payload, armored, allowed, "approver@example.com")
    assert sshsig.verify(payload, armored, NS).fingerprint == sshsig.public_key_fingerprint(
        key.blob
    )


@pytest.mark.parametrize("name", ["ed25519", "rsa3072"])
def test_sign_is_byte_identical_to_ssh_keygen_for_deterministic_algorithms(keys, name):
    payload = b"the same bytes\x00\xff"
    assert sshsig.sign(payload, str(keys[name].path), NS) == keygen_sign(keys[name], payload)


def test_fingerprint_and_public_key_line_match_ssh_keygen(keys, sk_keys):
    for key in [*keys.values(), *sk_keys.values()]:
        assert sshsig.public_key_line(key.blob) == key.line
    for key in keys.values():
        listed = subprocess.run(
            [SSH_KEYGEN, "-l", "-f", str(key.path.with_suffix(".pub"))],
            capture_output=True,
            text=True,
            check=True,
        )
        assert listed.stdout.split()[1] == sshsig.public_key_fingerprint(key.blob)


def test_parse_exposes_key_namespace_hash_and_signature(keys):
    armored = sshsig.sign(b"x", str(keys["rsa3072"].path), "git")
    sig = sshsig.parse(armored)
    assert (sig.key_type, sig.namespace, sig.hash_alg) == ("ssh-rsa", "git", "sha512")
    assert sig.signature_type == "rsa-sha2-512" and len(sig.signature) == 384
    assert sig.public_key == keys["rsa3072"].blob and sig.version == 1


# --- each refusal has its own reason code --------------------------------------------


def test_tampered_payload_is_refused_as_bad_signature(keys):
    armored = sshsig.sign(b"amount=10", str(keys["ed25519"].path), NS)
    assert refusal(sshsig.verify, b"amount=1000", armored, NS) == "bad-signature"


def test_other_namespace_is_refused_as_wrong_namespace(keys):
    armored = sshsig.sign(b"p", str(keys["ecdsa256"].path), "file")
    assert refusal(sshsig.verify, b"p", armored, NS) == "wrong-namespace"


def test_signature_relabelled_with_another_key_is_refused(keys):
    ed = sshsig.parse(sshsig.sign(b"p", str(keys["ed25519"].path), NS))
    stranger = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    relabelled = sshsig.assemble(_s("ssh-ed25519") + _s(stranger), NS, "sha512", ed.signature_blob)
    assert refusal(sshsig.verify, b"p", sshsig.armor(relabelled), NS) == "bad-signature"
    ec_sig = sshsig.parse(sshsig.sign(b"p", str(keys["ecdsa384"].path), NS))
    mismatch = sshsig.assemble(keys["ed25519"].blob, NS, "sha512", ec_sig.signature_blob)
    assert refusal(sshsig.verify, b"p", sshsig.armor(mismatch), NS) == "signature-algorithm"


def test_key_absent_from_allowed_signers_is_refused_as_key_not_allowed(keys):
    armored = sshsig.sign(b"p", str(keys["ecdsa521"].path), NS)
    signers = allowed_signers.parse(f"alice@example.com {keys['ed25519'].line}\n")
    at = datetime.now(UTC)
    code = refusal(signers.verify, b"p", armored, "alice@example.com", NS, at)
    assert code == "key-not-allowed"


@pytest.mark.parametrize(
    "garble",
    [
        lambda a: a[: len(a) // 2],  # truncated, no footer
        lambda a: a.replace("-----BEGIN SSH SIGNATURE-----\n", ""),
        lambda a: a.replace("-----BEGIN", "-----BEGAN"),
        lambda a: a.replace("-----END SSH SIGNATURE-----", ""),
        lambda a: a[:40] + "!" + a[41:],  # not base64
        lambda a: "\n".join(a.split("\n")[:1] + a.split("\n")[2:]),  # a body line lost
        lambda a: "-----BEGIN SSH SIGNATURE-----\n-----END SSH SIGNATURE-----\n",
        lambda a: sshsig.armor(_blob_of(a)[:-7]),  # blob truncated
        lambda a: sshsig.armor(_blob_of(a) + b"\x00"),  # trailing data
        lambda a: sshsig.armor(b"SSHSIH" + _blob_of(a)[6:]),  # wrong preamble
    ],
)
def test_truncated_or_garbled_armor_is_refused_as_malformed(keys, tmp_path, garble):
    payload = b"p"
    armored = garble(sshsig.sign(payload, str(keys["ed25519"].path), NS))
    assert refusal(sshsig.verify, payload, armored, NS) == "malformed"
    allowed = f"a {keys['ed25519'].line}\n"
    assert not keygen_verify(tmp_path, payload, armored, allowed, "a")


def test_unknown_hash_algorithm_and_newer_version_have_their_own_codes(keys, tmp_path):
    blob = _blob_of(sshsig.sign(b"p", str(keys["ed25519"].path), NS))
    allowed = f"a {keys['ed25519'].line}\n"
    md5 = sshsig.armor(blob.replace(_s("sha512"), _s("md5ish")))
    assert refusal(sshsig.verify, b"p", md5, NS) == "hash-alg"
    v2 = sshsig.armor(blob[:6] + struct.pack(">I", 2) + blob[10:])
    assert refusal(sshsig.verify, b"p", v2, NS) == "unsupported-version"
    assert not keygen_verify(tmp_path, b"p", md5, allowed, "a")
    assert not keygen_verify(tmp_path, b"p", v2, allowed, "a")
    # Version 0 is below the supported version and not signed over, so OpenSSH takes it.
    v0 = sshsig.armor(blob[:6] + struct.pack(">I", 0) + blob[10:])
    assert sshsig.verify(b"p", v0, NS).version == 0
    assert keygen_verify(tmp_path, b"p", v0, allowed, "a")


def test_legacy_rsa_sha1_signature_is_refused_as_signature_algorithm(keys, tmp_path):
    key = load_ssh_private_key(keys["rsa3072"].path.read_bytes(), None)
    tbs = sshsig.signed_data(b"p", NS)
    sha1 = key.sign(tbs, padding.PKCS1v15(), hashes.SHA1())
    armored = sshsig.armor(
        sshsig.assemble(keys["rsa3072"].blob, NS, "sha512", _s("ssh-rsa") + _s(sha1))
    )
    assert refusal(sshsig.verify, b"p", armored, NS) == "signature-algorithm"
    assert not keygen_verify(tmp_path, b"p", armored, f"a {keys['rsa3072'].line}\n", "a")


def test_unsupported_and_invalid_keys_have_their_own_codes(keys):
    sig = sshsig.parse(sshsig.sign(b"p", str(keys["ed25519"].path), NS))
    dss = _s("ssh-dss") + _mpint(23) + _mpint(11) + _mpint(4) + _mpint(8)
    cert = _s("ssh-ed25519-cert-v01@openssh.com") + _s(os.urandom(32))
    short = _s("ssh-ed25519") + _s(os.urandom(31))
    for blob, code in [(dss, "unsupported-key"), (cert, "unsupported-key"), (short, "bad-key")]:
        armored = sshsig.armor(sshsig.assemble(blob, NS, "sha512", sig.signature_blob))
        assert refusal(sshsig.verify, b"p", armored, NS) == code


def test_library_never_starts_a_program(keys, sk_keys):
    starting = {"subprocess.Popen", "os.exec", "os.posix_spawn", "os.fork", "os.system"}
    seen: list[str] = []
    armed = [True]
    sys.addaudithook(lambda event, args: armed[0] and event in starting and seen.append(event))
    try:
        for key in keys.values():
            armored = sshsig.sign(b"p", str(key.path), NS)
            signers = allowed_signers.parse(f"a {key.line}\n")
            signers.verify(b"p", armored, "a", NS, datetime.now(UTC))
        sshsig.verify(b"p", sk_keys["sk-ecdsa"].sign(b"p", NS), NS)
    finally:
        armed[0] = False
    assert seen == []


# --- agreement with ssh-keygen on generated cases ------------------------------------

PRINCIPALS = ["alice@example.com", "bob@example.com", "carol@ops.example.org"]
OTHER_NAMESPACES = ["file", "git", "govgate-approval-v2", "govgate"]
NAMESPACE_PATTERNS = ["govgate-approval", "govgate-*", "file,git", "*,!govgate-approval", "*"]
T0 = datetime(2031, 7, 15, 10, 20, 30, tzinfo=UTC)  # summer: CET is on CEST
T0_OPTION = "20310715102030Z"
OFFSETS = [-400 * 86400, -7200, -3600, -61, -1, 0, 1, 59, 3600, 3601, 7200, 30 * 86400]
MUTATIONS = {
    "none": 36,
    "payload": 9,
    "namespace": 8,
    "sig-bit": 16,
    "armor": 12,
    "embed-other-key": 5,
    "swap-listed-key": 6,
    "other-principal": 6,
}


def _stamp(rng: random.Random, when: datetime) -> str:
    style = rng.choice(["14Z", "12Z", "8Z", "14", "12", "8", "14UTC"])
    digits = style.rstrip("ZUTC")
    local = when if digits != style else when.astimezone()  # wall clock in $TZ
    fmt = {"14": "%Y%m%d%H%M%S", "12": "%Y%m%d%H%M", "8": "%Y%m%d"}[digits]
    return local.strftime(fmt) + style[len(digits) :]


def _options(rng: random.Random) -> str:
    parts = []
    if rng.random() < 0.08:
        parts.append("cert-authority")
    if rng.random() < 0.25:
        keyword = rng.choice(["namespaces", "Namespaces"])
        parts.append(f'{keyword}="{rng.choice(NAMESPACE_PATTERNS)}"')
    after = before = None
    if rng.random() < 0.25:
        after = _stamp(rng, T0 + timedelta(seconds=rng.choice(OFFSETS)))
        parts.append(f'valid-after="{after}"')
    if rng.random() < 0.25:
        before = _stamp(rng, T0 + timedelta(seconds=rng.choice(OFFSETS)))
        # A window that ends before it starts is a parse error for both; keep files valid.
        if after is None or allowed_signers.parse_time(before) > allowed_signers.parse_time(after):
            parts.append(f'{rng.choice(["valid-before", "VALID-BEFORE"])}="{before}"')
    rng.shuffle(parts)
    return ",".join(parts)


def _principals_field(rng: random.Random, principal: str) -> str:
    user, domain = principal.split("@")
    naming = [principal] * 3 + [f"*@{domain}", f"zed@example.net,{principal}", f"{user[0]}*@*"]
    naming += [f"{user}@?{domain[1:]}", f'"{principal},other@x"']
    return rng.choice([*naming, f"*,!{principal}", "nobody@example.com"])


def _garble(rng: random.Random, armored: str) -> str:
    lines = armored.split("\n")
    row = rng.randrange(1, len(lines) - 2)
    col = rng.randrange(len(lines[row]))
    how = rng.randrange(6)
    if how == 0:  # another base64 character somewhere in the body
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        lines[row] = lines[row][:col] + rng.choice(alphabet) + lines[row][col + 1 :]
    elif how == 1:  # whitespace inside the body: both decoders skip it
        lines[row] = lines[row][:col] + rng.choice([" ", "\t", "\n"]) + lines[row][col:]
    elif how == 2:
        return armored[: rng.randrange(len(armored))]
    elif how == 3:
        del lines[row]
    elif how == 4:
        return armored + rng.choice(["trailing words\n", "-----END SSH SIGNATURE-----\n"])
    else:
        return armored.replace("\n", "\r\n")  # OpenSSH reads CRLF armor as headerless
    return "\n".join(lines)


@dataclass
class Case:
    """One generated verification question, as ssh-keygen -Y verify would be asked it."""

    payload: bytes
    armored: str
    allowed: str
    principal: str
    namespace: str
    story: str


def _make_case(rng: random.Random, signers: list) -> Case:
    signer = rng.choice(signers)
    stranger = rng.choice([s for s in signers if s is not signer])
    payload = rng.randbytes(rng.randrange(0, 200))
    sign_ns = NS if rng.random() < 0.85 else rng.choice(OTHER_NAMESPACES)
    if isinstance(signer, FakeSecurityKey):
        how = "u2f"
        flags, counter = rng.choice([0x00, 0x01, 0x05]), rng.randrange(2**32)
        armored = signer.sign(payload, sign_ns, flags=flags, counter=counter)
    elif rng.random() < 0.2:
        how = "ssh-keygen"
        armored = keygen_sign(signer, payload, sign_ns, *rng.choice([[], ["hashalg=sha256"]]))
    else:
        how, armored = "sign", sshsig.sign(payload, str(signer.path), sign_ns)
    verify_ns, listed, principal = sign_ns, signer, rng.choice(PRINCIPALS)
    mutation = rng.choices(list(MUTATIONS), weights=list(MUTATIONS.values()))[0]
    if mutation == "payload":
        if payload and rng.random() < 0.7:
            payload = bytes([payload[0] ^ (1 << rng.randrange(8))]) + payload[1:]
        else:
            payload += b"!"
    elif mutation == "namespace":
        verify_ns = rng.choice([n for n in [NS, *OTHER_NAMESPACES] if n != sign_ns])
    elif mutation == "sig-bit":
        blob = bytearray(_blob_of(armored))
        bit = rng.randrange(len(blob) * 8)
        blob[bit // 8] ^= 1 << (bit % 8)
        armored = _armor(bytes(blob))
    elif mutation == "armor":
        armored = _garble(rng, armored)
    elif mutation == "embed-other-key":
        sig = sshsig.parse(armored)
        armored = _armor(
            sshsig.assemble(stranger.blob, sig.namespace, sig.hash_alg, sig.signature_blob)
        )
        listed = stranger
    elif mutation == "swap-listed-key":
        listed = stranger
    elif mutation == "other-principal":
        principal = "mallory@example.com"
    lines = ["# approvers", ""]
    for _ in range(rng.randrange(3)):
        decoy = rng.choice([s for s in signers if s is not signer])
        lines.append(f"{rng.choice(PRINCIPALS)} {decoy.line} decoy")
    for _ in range(rng.choice([1, 1, 1, 2])):
        named = principal if rng.random() < 0.85 else rng.choice(PRINCIPALS)
        fields = [_principals_field(rng, named), _options(rng), listed.line, "approver"]
        lines.insert(rng.randrange(2, len(lines) + 1), " ".join(f for f in fields if f))
    story = f"{how} by {signer.name}, mutation {mutation}"
    return Case(payload, armored, "\n".join(lines) + "\n", principal, verify_ns, story)


def test_verifier_and_allowed_signers_agree_with_ssh_keygen_on_generated_cases(
    keys, sk_keys, tmp_path, central_european_time
):
    rng = random.Random(0x55_48_53_49_47)
    signers = [*keys.values(), *sk_keys.values()]
    outcomes: dict[str, int] = {}
    mismatches = []
    for number in range(300):
        case = _make_case(rng, signers)
        question = (case.payload, case.armored, case.allowed, case.principal, case.namespace)
        theirs = keygen_verify(tmp_path, *question, T0_OPTION, CET)
        try:
            allowed_signers.parse(case.allowed, "allowed_signers").verify(
                case.payload, case.armored, case.principal, case.namespace, T0
            )
            ours = "accepted"
        except SignatureError as exc:
            ours = exc.code
        outcomes[ours] = outcomes.get(ours, 0) + 1
        if theirs != (ours == "accepted"):
            verdict = "accepts" if theirs else "refuses"
            mismatches.append(
                f"case {number} ({case.story}): ssh-keygen {verdict}, we say {ours}\n"
                f"{case.allowed}{case.armored}"
            )
    assert not mismatches, f"{len(mismatches)} disagreements; first:\n" + mismatches[0]
    assert outcomes["accepted"] >= 50, outcomes
    expected = {"bad-signature", "malformed", "wrong-namespace", "key-not-allowed"}
    assert expected | {"key-not-valid-at"} <= set(outcomes), outcomes


# --- ssh-agent ---------------------------------------------------------------------


@pytest.fixture
def agent():
    where = tempfile.mkdtemp(prefix="gg-agent-", dir="/tmp")  # sun_path is short
    sock = os.path.join(where, "agent.sock")
    proc = subprocess.Popen(
        ["/usr/bin/ssh-agent", "-D", "-a", sock],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_env(),
    )
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(sock):
            assert proc.poll() is None and time.monotonic() < deadline, "ssh-agent did not start"
            time.sleep(0.02)
        yield sock
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(where, ignore_errors=True)


def test_agent_signature_verifies_with_ssh_keygen(keys, agent, tmp_path):
    for name in ["ed25519", "ecdsa384", "rsa3072"]:
        key = keys[name]
        subprocess.run(
            ["/usr/bin/ssh-add", "-q", str(key.path)],
            check=True,
            env=_env(SSH_AUTH_SOCK=agent),
            capture_output=True,
        )
        payload = os.urandom(64)
        armored = sshsig.sign_with_agent(payload, f"{key.line} {name}@test", NS, agent)
        assert keygen_verify(tmp_path, payload, armored, f"p {key.line}\n", "p")
        assert sshsig.verify(payload, armored, NS).public_key == key.blob
        if name == "rsa3072":
            assert sshsig.parse(armored).signature_type == "rsa-sha2-512"


def test_agent_refusals_have_their_own_codes(keys, agent, monkeypatch):
    with pytest.raises(SigningError) as refused:
        sshsig.sign_with_agent(b"p", keys["ecdsa521"].line, NS, agent)  # never added
    assert refused.value.code == "agent-refused"
    with pytest.raises(SigningError) as absent:
        sshsig.sign_with_agent(b"p", keys["ed25519"].line, NS, agent + ".gone")
    assert absent.value.code == "agent-unavailable"
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    with pytest.raises(SigningError) as unset:
        sshsig.sign_with_agent(b"p", keys["ed25519"].line, NS)
    assert unset.value.code == "agent-unavailable"
    with socket.socket(socket.AF_UNIX) as probe:
        probe.connect(agent)  # the agent is alive: the refusals above were its answers


# --- FIDO security keys (PROTOCOL.u2f) ------------------------------------------------


@pytest.mark.parametrize("kind", ["sk-ed25519", "sk-ecdsa"])
def test_security_key_signature_verifies_here_and_with_ssh_keygen(sk_keys, tmp_path, kind):
    sk = sk_keys[kind]
    armored = sk.sign(b"approve", NS, flags=0x05, counter=42)
    sig = sshsig.verify(b"approve", armored, NS)
    assert (sig.key_type, sig.sk_flags, sig.sk_counter) == (sk.key_type, 0x05, 42)
    assert sig.user_present and sig.user_verified
    assert keygen_verify(tmp_path, b"approve", armored, f"p {sk.line}\n", "p")


@pytest.mark.parametrize("kind", ["sk-ed25519", "sk-ecdsa"])
def test_security_key_signature_without_user_presence_is_reported_so_callers_can_refuse(
    sk_keys, tmp_path, kind
):
    armored = sk_keys[kind].sign(b"approve", NS, flags=0x00, counter=7)
    sig = sshsig.verify(b"approve", armored, NS)  # valid, so the caller's policy decides
    assert sig.sk_flags == 0 and sig.user_present is False and sig.user_verified is False
    assert keygen_verify(tmp_path, b"approve", armored, f"p {sk_keys[kind].line}\n", "p")


def test_security_key_flags_and_counter_are_covered_by_the_signature(sk_keys, tmp_path):
    sk = sk_keys["sk-ed25519"]
    blob = _blob_of(sk.sign(b"approve", NS, flags=0x00, counter=7))
    for forged in [blob[:-5] + b"\x01" + blob[-4:], blob[:-1] + b"\x08"]:
        assert refusal(sshsig.verify, b"approve", _armor(forged), NS) == "bad-signature"
        assert not keygen_verify(tmp_path, b"approve", _armor(forged), f"p {sk.line}\n", "p")


# --- private keys ---------------------------------------------------------------------


def test_unusable_private_keys_are_refused_with_signing_codes(keys, tmp_path):
    locked = tmp_path / "locked"
    subprocess.run(
        [SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "hunter2", "-f", str(locked)],
        check=True,
        env=_env(),
    )
    codes = []
    for path in [locked, tmp_path / "missing", locked.with_suffix(".pub")]:
        with pytest.raises(SigningError) as caught:
            sshsig.sign(b"p", str(path), NS)
        codes.append(caught.value.code)
    assert codes == ["key-encrypted", "key-unreadable", "key-unreadable"]
    try:
        import bcrypt  # noqa: F401  # decrypting OpenSSH keys needs it
    except ImportError:
        with pytest.raises(SigningError, match="bcrypt") as caught:
            sshsig.sign(b"p", str(locked), NS, b"hunter2")
        assert caught.value.code == "key-encrypted"
    else:
        armored = sshsig.sign(b"p", str(locked), NS, b"hunter2")
        assert sshsig.verify(b"p", armored, NS).key_type == "ssh-ed25519"


# --- allowed_signers ------------------------------------------------------------------


def _bad_lines(keys) -> list[tuple[str, str]]:
    """(line, problem named in the error). All are refused by ssh-keygen too, except
    where noted: there this parser is deliberately stricter."""
    ed = keys["ed25519"].line
    short = base64.b64encode(_s("ssh-ed25519") + _s(os.urandom(31))).decode()
    return [
        (f'a foo="x" {ed}', "unknown option 'foo=\"x\"'"),
        (f"a namespaces=git {ed}", "needs a double-quoted value"),
        (f'a namespaces="git {ed}', "unterminated quote"),
        (f'a valid-after="2024" {ed}', "invalid valid-after time"),
        (f'a valid-after="20240230Z" {ed}', "not a calendar time"),  # OpenSSH: Mar 1
        (f'a valid-after="20250101Z",valid-before="20240101Z" {ed}', "not later"),
        (f'a namespaces="a",namespaces="b" {ed}', 'multiple "namespaces"'),
        (f"a cert-authority, {ed}", "end with a comma"),
        ("a", "missing key"),
        ("a ssh-ed25519 !!!!", "not valid base64"),
        (f"a ssh-rsa {ed.split()[1]}", "does not match"),
        ("a ssh-ed25519", "missing base64 key"),
        (f'"a b {ed}', "unterminated quote in principals"),
        (f"a ssh-ed25519 {short}", "invalid ssh-ed25519 key"),
    ]


def test_allowed_signers_errors_name_file_and_line(keys, tmp_path):
    armored = sshsig.sign(b"p", str(keys["ed25519"].path), NS)
    for bad, problem in _bad_lines(keys):
        path = tmp_path / "allowed_signers"
        path.write_text(f"# trusted approvers\n\n{bad}\nz {keys['ed25519'].line}\n")
        with pytest.raises(AllowedSignersError) as caught:
            allowed_signers.load(path)
        assert (caught.value.file, caught.value.line) == (str(path), 3), bad
        assert str(caught.value).startswith(f"{path}:3: ") and problem in str(caught.value)
        # OpenSSH refuses the same line once it names the principal asked about.
        stricter = "not a calendar time" in problem
        assert keygen_verify(tmp_path, b"p", armored, path.read_text(), "a") is stricter, bad
    with pytest.raises(AllowedSignersError) as missing:
        allowed_signers.load(tmp_path / "nope")
    assert (missing.value.file, missing.value.line) == (str(tmp_path / "nope"), None)
    (tmp_path / "latin1").write_bytes(b"ok " + keys["ed25519"].line.encode() + b"\nr\xe9 x\n")
    with pytest.raises(AllowedSignersError, match=r"latin1:2: line is not UTF-8"):
        allowed_signers.load(tmp_path / "latin1")


def test_allowed_signers_reads_comments_quotes_options_and_trailing_comments(keys):
    ed, rsa = keys["ed25519"].line, keys["rsa3072"].line
    text = (
        "# approvers\n\n   # indented comment\n"
        f'"alice@example.com,bob@example.com" {ed} alice laptop\r\n'
        f'\t*@ops.example.org NAMESPACES="govgate-*",Valid-After="20240101",'
        f'valid-before="203001011200Z" {rsa}\n'
        f'ci@example.com namespaces="say \\"hi\\"",cert-authority {ed}\n'
    )
    first, second, third = allowed_signers.parse(text, "team").entries
    assert (first.location, first.principals, first.key_type) == (
        "team:4",
        "alice@example.com,bob@example.com",
        "ssh-ed25519",
    )
    assert first.namespaces is None and not first.cert_authority
    assert second.namespaces == "govgate-*" and second.key_blob == keys["rsa3072"].blob
    assert second.valid_before == datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    assert third.namespaces == 'say "hi"' and third.cert_authority


def test_principal_patterns_follow_openssh_wildcards_and_negation():
    match = allowed_signers.match_pattern_list
    assert match("alice@example.com", "*@example.com")
    assert match("alice@example.com", "bob@x,a?ice@*")
    assert not match("alice@example.com", "*@example.com,!alice@*")
    assert not match("alice@example.com", "!bob@example.com")  # negation alone grants nothing
    assert not match("alice@example.com", "Alice@example.com")  # case-sensitive
    assert match("", "") and not match("a", "")


def test_namespace_and_validity_refusals_have_their_own_codes(keys):
    key = keys["ecdsa256"]
    blob = key.blob
    signers = allowed_signers.parse(
        f'a namespaces="file" {key.line}\n'
        f'a valid-after="20300101Z",valid-before="20300201000000Z" {key.line}\n'
        f'b namespaces="git,govgate-*" {key.line}\n'
    )
    jan = datetime(2030, 1, 15, tzinfo=UTC)
    assert signers.find("a", blob, "file", jan).line == 1
    assert signers.find("a", blob, NS, jan).line == 2
    assert refusal(signers.find, "b", blob, "file", jan) == "wrong-namespace"
    assert refusal(signers.find, "a", blob, NS, datetime(2029, 12, 31, tzinfo=UTC)) == (
        "key-not-valid-at"  # line 1 fails the namespace, line 2 the time: time is reported
    )
    edge = datetime(2030, 2, 1, tzinfo=UTC)
    assert signers.find("a", blob, NS, edge).line == 2  # valid-before is inclusive
    assert refusal(signers.find, "a", blob, NS, edge + timedelta(seconds=1)) == ("key-not-valid-at")
    assert refusal(signers.find, "c", blob, NS, jan) == "key-not-allowed"
    with pytest.raises(ValueError, match="timezone-aware"):
        signers.find("a", blob, NS, datetime(2030, 1, 15))


def test_cert_authority_lines_never_vouch_for_a_key_and_say_why(keys, tmp_path):
    key = keys["ed25519"]
    armored = sshsig.sign(b"p", str(key.path), NS)
    text = f"*@example.com cert-authority {key.line}\n"
    with pytest.raises(SignatureError, match="certificates are not supported") as caught:
        allowed_signers.parse(text).verify(b"p", armored, "a@example.com", NS, T0)
    assert caught.value.code == "key-not-allowed"
    assert not keygen_verify(tmp_path, b"p", armored, text, "a@example.com")


def test_local_time_stamps_are_read_like_openssh_in_summer_time(
    keys, tmp_path, central_european_time
):
    key = keys["ed25519"]
    armored = sshsig.sign(b"p", str(key.path), NS)
    text = f'a valid-after="20310715120000" {key.line}\n'
    # 12:00 on a July wall clock in Berlin is 10:00Z, but OpenSSH hands mktime tm_isdst=0,
    # so it reads standard time: 11:00Z. We read it the same way.
    assert allowed_signers.parse(text).entries[0].valid_after == datetime(
        2031, 7, 15, 11, 0, tzinfo=UTC
    )
    for when, stamp, expected in [
        (datetime(2031, 7, 15, 10, 30, tzinfo=UTC), "20310715103000Z", False),
        (datetime(2031, 7, 15, 11, 0, tzinfo=UTC), "20310715110000Z", True),
    ]:
        assert keygen_verify(tmp_path, b"p", armored, text, "a", NS, stamp, CET) is expected
        try:
            allowed_signers.parse(text).verify(b"p", armored, "a", NS, when)
            ours = True
        except SignatureError as exc:
            assert exc.code == "key-not-valid-at"
            ours = False
        assert ours is expected


def test_principals_for_lists_the_patterns_naming_the_key(keys):
    ed, rsa = keys["ed25519"], keys["rsa3072"]
    signers = allowed_signers.parse(
        f"alice@example.com,!eve@example.com {ed.line}\n"
        f"*@ops.example.org,alice@example.com {ed.line}\n"
        f'old@example.com valid-before="20200101Z" {ed.line}\n'
        f"root@example.com cert-authority {ed.line}\n"
        f"bob@example.com {rsa.line}\n"
    )
    assert signers.principals_for(ed.blob) == (
        "alice@example.com",
        "*@ops.example.org",
        "old@example.com",
    )
    assert "old@example.com" not in signers.principals_for(ed.blob, at=T0)
    assert signers.principals_for(rsa.blob) == ("bob@example.com",)
