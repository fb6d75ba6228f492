"""govgate's Directus extension bundle (extensions/directus) in a real Directus 12.4.0.

The module starts its own lab: `scripts/directus-lab start --db pg` (PostgreSQL and a bootstrapped
Directus), then restarts that Directus with the lab's exact environment (read from
/proc/<pid>/environ) plus what the bundle needs: EXTENSIONS_PATH at a folder where
`govgate directus extension DIR` installed the bundle govgate ships (src/govgate/directus/bundle),
EXTENSIONS_MUST_LOAD=true (Directus exits if the bundle does not load), GOVGATE_AGENT_USER (one
agent by e-mail, one by id) and GOVGATE_SERVE_URL on a free loopback port where `govgate serve`
runs only when a test starts it.

The collections are what `govgate init` makes, run as Directus's database role with the lab's
Directus URL and admin token (it registers them in Directus itself). Users are API-only (no seat).

The shipped bundle must be a build of the sources as they are: one test rebuilds them with
extensions/directus/build.sh --no-ship (npm ci under the lab's Node 22 when node_modules/ is stale;
the npm registry is needed once) and compares.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from govgate import api
from govgate.config import Settings
from govgate.ops.demo import plan_text as demo_plan_text
from govgate.signing.webauthn import passkey_line

from .dlab import (
    DIRECTUS_AGENT_LOGIN,
    ROOT,
    TIMINGS,
    DirectusLab,
    ok,
    running_lab,
    seed_governance,
)
from support.serve import govgate_serve as serve_process

EXT_DIR = ROOT / "extensions" / "directus"
BUILD_SCRIPT = EXT_DIR / "build.sh"
SHIPPED = ROOT / "src" / "govgate" / "directus" / "bundle"
SHIPPED_FILES = ("package.json", "dist/app.js", "dist/api.js")
BUNDLE_NAME = "govgate-directus"
ENTRIES = {
    "govgate": "endpoint",
    "govgate-guard": "hook",
    "governance": "module",
    "govgate-gate": "panel",
}
SHA = "8d857abe9bb6fad76a2ddbb341d4d313369f1de6a1aab8c6286743d87d6b7021"

APPROVER = "approver@example.com"
AGENT = "agent@example.com"  # GOVGATE_AGENT_USER names this one by e-mail
AGENT_BY_ID = "second-agent@example.com"  # ... and this one by its user id
RIGHTS = [
    (c, a)
    for c in ("os_proposal_approvals", "os_approval_signatures", "os_passkeys")
    for a in ("create", "read")
]

# -- the bundle -----------------------------------------------------------------------------------


def fresh_build() -> Path:
    """extensions/directus/dist built now from the sources (build.sh --no-ship: the shipped copy
    in src/govgate/directus/bundle is left as it is); npm ci first when node_modules/ is stale."""
    installed = EXT_DIR / "node_modules" / ".package-lock.json"
    fresh = (
        installed.is_file()
        and installed.stat().st_mtime >= (EXT_DIR / "package-lock.json").stat().st_mtime
    )
    started = time.monotonic()
    done = subprocess.run(
        [str(BUILD_SCRIPT), "--no-ship", *(["--no-ci"] if fresh else [])],
        cwd=EXT_DIR,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if done.returncode != 0:
        pytest.fail(
            f"extensions/directus/build.sh failed (exit {done.returncode}):\n"
            f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}",
            pytrace=False,
        )
    TIMINGS["bundle build"] = time.monotonic() - started
    return EXT_DIR / "dist"


def install_bundle(folder: Path) -> dict:
    """`govgate directus extension FOLDER --json`, the real command; its JSON answer."""
    done = subprocess.run(
        [sys.executable, "-m", "govgate.cli", "directus", "extension", str(folder), "--json"],
        env={**os.environ, "GOVGATE_CONFIG": os.devnull},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, (
        f"govgate directus extension: exit {done.returncode}\n{done.stderr}"
    )
    return json.loads(done.stdout)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the lab with the bundle ----------------------------------------------------------------------


@dataclass
class ExtLab:
    lab: DirectusLab
    url: str
    serve_port: int
    users: dict[str, str]  # email -> user id
    tokens: dict[str, str]  # email -> static token
    log: Path
    tmp: Path

    def client(self, email: str | None = None, *, anonymous: bool = False) -> httpx.Client:
        headers = (
            {}
            if anonymous
            else {
                "Authorization": f"Bearer {self.tokens[email] if email else self.lab.admin_token}"
            }
        )
        return httpx.Client(base_url=self.url, timeout=30, trust_env=False, headers=headers)

    def approval(self, approval_id: str) -> tuple | None:
        rows = self.lab.rows(
            "SELECT id, proposal_id, proposal_sha256, approved_by::text, statement "
            "FROM os_proposal_approvals WHERE id = :id",
            id=approval_id,
        )
        return rows[0] if rows else None

    def create_approval(self, email: str, approval_id: str) -> httpx.Response:
        with self.client(email) as http:
            return http.post(
                "/items/os_proposal_approvals",
                json={
                    "id": approval_id,
                    "proposal_id": "PROP-EXT-1",
                    "proposal_sha256": SHA,
                    "statement": f"I ratify PROP-EXT-1 with hash {SHA}.",
                },
            )


def error_code(response: httpx.Response) -> str | None:
    errors = response.json().get("errors") or [{}]
    return errors[0].get("extensions", {}).get("code")


def set_up_collections(lab: DirectusLab) -> None:
    """`govgate init` as Directus's database role, with the lab's Directus URL and admin token."""
    operator = Settings(db_url=lab.owner_url, directus_url=lab.url, directus_token=lab.admin_token)
    api.init(operator, actor="operator")


def create_users(lab: DirectusLab) -> tuple[dict[str, str], dict[str, str]]:
    """Three API-only users, all with the approver's rights: the approver and two agents."""
    users, tokens = {}, {}
    with lab.client() as http:
        policy = ok(
            http.post(
                "/policies",
                json={
                    "name": "Governance approver (extension test)",
                    "icon": "badge",
                    "admin_access": False,
                    "app_access": False,
                },
            )
        )["id"]
        for collection, action in RIGHTS:
            ok(
                http.post(
                    "/permissions",
                    json={
                        "policy": policy,
                        "collection": collection,
                        "action": action,
                        "fields": ["*"],
                    },
                )
            )
        role = ok(http.post("/roles", json={"name": "Governance approvers (extension test)"}))["id"]
        ok(http.post("/access", json={"role": role, "policy": policy}))
        for email in (APPROVER, AGENT, AGENT_BY_ID):
            token = f"gg-ext-{secrets.token_hex(16)}"
            created = ok(
                http.post(
                    "/users",
                    json={
                        "email": email,
                        "password": secrets.token_hex(12),
                        "role": role,
                        "token": token,
                    },
                )
            )
            users[email], tokens[email] = created["id"], token
    return users, tokens


@contextmanager
def directus_with_bundle(lab: DirectusLab, extra_env: dict[str, str], tmp: Path) -> Iterator[Path]:
    """Restart the lab's Directus with its own environment plus the bundle that
    `govgate directus extension` installs; yields its log path."""
    pid = int((lab.dir / "directus.pid").read_text().strip())
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    env = dict(item.decode().split("=", 1) for item in environ if b"=" in item)
    argv = [
        part.decode() for part in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if part
    ]
    assert argv[-1] == "start" and env["HOST"] == "127.0.0.1", (argv, env.get("HOST"))

    extensions = tmp / "extensions"
    extensions.mkdir()
    installed = install_bundle(extensions)
    assert installed["path"] == str(extensions / "govgate") and installed["replaced"] is False

    os.kill(pid, 15)
    deadline = time.monotonic() + 20
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)

    env.update(
        {
            "EXTENSIONS_PATH": str(extensions),
            "EXTENSIONS_AUTO_RELOAD": "false",
            "EXTENSIONS_MUST_LOAD": "true",
            **extra_env,
        }
    )
    log = tmp / "directus-with-bundle.log"
    started = time.monotonic()
    with log.open("ab") as out:
        proc = subprocess.Popen(
            argv,
            env=env,
            cwd=lab.dir / "directus",
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    (lab.dir / "directus.pid").write_text(f"{proc.pid}\n")  # `directus-lab stop` stops this one too
    try:
        url = lab.url
        while True:
            try:
                if httpx.get(f"{url}/server/ping", timeout=2, trust_env=False).text == "pong":
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() - started > 120:
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
                pytest.fail(
                    f"Directus with the bundle did not start (exit {proc.poll()}):\n{tail}",
                    pytrace=False,
                )
            time.sleep(0.2)
        TIMINGS["restart with bundle"] = time.monotonic() - started
        yield log
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


@pytest.fixture(scope="module")
def ext(tmp_path_factory) -> Iterator[ExtLab]:
    if os.geteuid() != 0:
        pytest.skip(
            "the Directus lab starts PostgreSQL as the postgres OS user: run the suite as root"
        )
    tmp = tmp_path_factory.mktemp("directus-bundle")
    with running_lab("pg") as lab:
        set_up_collections(lab)
        users, tokens = create_users(lab)
        serve_port = free_port()
        extra = {
            "GOVGATE_AGENT_USER": f"{AGENT}, {users[AGENT_BY_ID]}",
            "GOVGATE_SERVE_URL": f"http://127.0.0.1:{serve_port}",
        }
        with directus_with_bundle(lab, extra, tmp) as log:
            yield ExtLab(lab, lab.url, serve_port, users, tokens, log, tmp)


@contextmanager
def govgate_serve(ext: ExtLab) -> Iterator[str]:
    """The real `govgate serve` on the port the bundle asks, over a fresh SQLite demo."""
    folder = ext.tmp / f"serve-{secrets.token_hex(3)}"
    folder.mkdir()
    env = {**os.environ, "GOVGATE_CONFIG": os.devnull}
    db = folder / "demo.db"
    subprocess.run(
        [sys.executable, "-m", "govgate.cli", "demo", str(db)],
        cwd=folder,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    with serve_process(f"sqlite:///{db}", ext.serve_port, folder) as base:
        yield base


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def passkey_body(private_key, algorithm: int) -> dict:
    spki = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    client_data = json.dumps(
        {
            "type": "webauthn.create",
            "challenge": b64url(secrets.token_bytes(32)),
            "origin": "http://localhost",
        }
    ).encode()
    return {
        "credential_id": b64url(secrets.token_bytes(32)),
        "public_key": b64url(spki),
        "algorithm": algorithm,
        "client_data_json": b64url(client_data),
    }


def an_assertion() -> dict:
    """A well-formed assertion (the endpoint refuses before it could check the signature)."""
    client_data = json.dumps(
        {
            "type": "webauthn.get",
            "challenge": b64url(hashlib.sha256(b"x").digest()),
            "origin": "http://localhost",
        }
    ).encode()
    return {
        "id": b64url(secrets.token_bytes(32)),
        "type": "public-key",
        "response": {
            "authenticatorData": b64url(hashlib.sha256(b"localhost").digest() + b"\x05\0\0\0\1"),
            "clientDataJSON": b64url(client_data),
            "signature": b64url(secrets.token_bytes(70)),
        },
    }


def propose_one_roof(lab: DirectusLab, folder: Path):
    """One-Roof's governance data in the lab, and its plan frozen by an engineer (BLOCKED, 210)."""
    seed_governance(lab.owner_url)
    plan = folder / "one-roof.yaml"
    plan.write_text(demo_plan_text(), encoding="utf-8")
    settings = Settings(db_url=lab.owner_url, directus_url=lab.url)
    return api.propose(settings, str(plan), actor="engineer").proposal


def agent_login(lab: DirectusLab) -> str:
    """`govgate init --roles` as the superuser, and a login in govgate_agent (as in `world`)."""
    api.init(
        Settings(db_url=lab.superuser_url, directus_url=lab.url, directus_token=lab.admin_token),
        actor="operator",
        roles=True,
    )
    password = secrets.token_hex(12)
    lab.execute(
        f"CREATE ROLE {DIRECTUS_AGENT_LOGIN} LOGIN PASSWORD '{password}' IN ROLE govgate_agent"
    )
    return (
        f"postgresql+psycopg://{DIRECTUS_AGENT_LOGIN}:{password}@127.0.0.1:{lab.env['PG_PORT']}/"
        f"{lab.env['PG_DATABASE']}"
    )


def gate_settings(lab: DirectusLab, agent: str, signers: Path | None = None, **more) -> Settings:
    """The operator's view of the lab: its database, Directus, the agent's user, the trust root."""
    return Settings(
        db_url=lab.owner_url,
        directus_url=lab.url,
        directus_agent_user=agent,
        allowed_signers=None if signers is None else str(signers),
        **more,
    )


def trust_passkeys(lab: DirectusLab, user_id: str, principal: str, path: Path, rp_id: str) -> Path:
    """The operator's step: every passkey USER_ID registered (os_passkeys), as allowed_signers
    lines for PRINCIPAL (what `passkey_line` writes), in the file PATH."""
    rows = lab.rows(
        "SELECT credential_id, public_key, algorithm FROM os_passkeys WHERE user_id::text = :u "
        "ORDER BY id",
        u=user_id,
    )
    assert rows, f"no passkey registered for {principal}"
    lines = [passkey_line(principal, key, alg, rp_id, cid) for cid, key, alg in rows]
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


@contextmanager
def lab_serve(ext: ExtLab, folder: Path, settings: Settings) -> Iterator[str]:
    """The real `govgate serve` over the lab's own database, on the port the bundle asks, with
    SETTINGS' agent (its database login and Directus user) and trust root; yields its URL.

    (support.serve's helper passes only --db, which leaves the agent's login out.)
    """
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GOVGATE_")},
        "GOVGATE_CONFIG": os.devnull,
        "GOVGATE_DIRECTUS_URL": settings.directus_url or "",
        "GOVGATE_DIRECTUS_AGENT_USER": settings.directus_agent_user or "",
        "GOVGATE_ALLOWED_SIGNERS": settings.allowed_signers or "",
    }
    env = {k: v for k, v in env.items() if v}
    command = [sys.executable, "-m", "govgate.cli", "--db", settings.db_url]
    if settings.agent_db_url:
        command += ["--agent-db", settings.agent_db_url]
    command += ["serve", "--host", "127.0.0.1", "--port", str(ext.serve_port)]
    base = f"http://127.0.0.1:{ext.serve_port}"
    with (folder / "serve.log").open("w+") as log:
        proc = subprocess.Popen(
            command,
            cwd=folder,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{base}/status.json", timeout=2, trust_env=False).is_success:
                        break
                except httpx.TransportError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    pytest.fail(f"govgate serve did not start ({proc.poll()}):\n{log.read()}")
                time.sleep(0.2)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def redated(payload: str, **delta) -> str:
    """PAYLOAD with its approved_at and not_after moved by DELTA (timedelta's arguments)."""
    predicate = json.loads(payload)["predicate"]
    for name in ("approved_at", "not_after"):
        stamp = datetime.fromisoformat(predicate[name].replace("Z", "+00:00"))
        moved = (stamp + timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")
        payload = payload.replace(f'"{name}":"{predicate[name]}"', f'"{name}":"{moved}"')
    return payload


def signed_assertion(private_key, credential_id: str, payload: str, origin: str) -> dict:
    """What a browser's navigator.credentials.get returns for PAYLOAD's challenge (UP + UV)."""
    rp_id = origin.split("://", 1)[1].split(":", 1)[0]
    client_data = json.dumps(
        {
            "type": "webauthn.get",
            "challenge": b64url(hashlib.sha256(payload.encode()).digest()),
            "origin": origin,
            "crossOrigin": False,
        }
    ).encode()
    auth_data = hashlib.sha256(rp_id.encode()).digest() + b"\x05" + (7).to_bytes(4, "big")
    signature = private_key.sign(
        auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
    )
    return {
        "id": credential_id,
        "type": "public-key",
        "response": {
            "authenticatorData": b64url(auth_data),
            "clientDataJSON": b64url(client_data),
            "signature": b64url(signature),
        },
    }


# -- loading --------------------------------------------------------------------------------------


def test_the_shipped_bundle_is_a_build_of_the_sources_as_they_are():
    """src/govgate/directus/bundle (what `govgate directus extension` installs) must be what
    extensions/directus/build.sh makes of the sources now: change them, rebuild and commit both."""
    if os.environ.get("GOVGATE_SKIP_DIRECTUS") and not os.environ.get("CI"):
        pytest.skip("GOVGATE_SKIP_DIRECTUS is set")
    dist = fresh_build()
    built = {
        "package.json": (EXT_DIR / "package.json").read_bytes(),
        "dist/app.js": (dist / "app.js").read_bytes(),
        "dist/api.js": (dist / "api.js").read_bytes(),
    }
    stale = [name for name in SHIPPED_FILES if (SHIPPED / name).read_bytes() != built[name]]
    assert stale == [], (
        f"src/govgate/directus/bundle/{{{', '.join(stale)}}} differ from a fresh build of "
        "extensions/directus: run extensions/directus/build.sh and commit what it ships"
    )


def test_govgate_directus_extension_replaces_its_bundle_and_refuses_other_folders(tmp_path):
    first = install_bundle(tmp_path)
    (tmp_path / "govgate" / "dist" / "stale.js").write_text("old")
    again = install_bundle(tmp_path)
    assert (first["replaced"], again["replaced"]) == (False, True)
    assert first["host"] == again["host"] == "^12.4.0" and first["name"] == BUNDLE_NAME
    assert sorted(p.name for p in tmp_path.iterdir()) == ["govgate"]  # no leftovers beside it
    for name in SHIPPED_FILES:
        assert (tmp_path / "govgate" / name).read_bytes() == (SHIPPED / name).read_bytes()
    assert not (tmp_path / "govgate" / "dist" / "stale.js").exists()

    foreign = tmp_path / "foreign"
    (foreign / "govgate").mkdir(parents=True)
    (foreign / "govgate" / "package.json").write_text('{"name": "someone-else"}')
    for folder in (tmp_path / "missing", tmp_path / "govgate" / "package.json", foreign):
        done = subprocess.run(
            [sys.executable, "-m", "govgate.cli", "directus", "extension", str(folder)],
            env={**os.environ, "GOVGATE_CONFIG": os.devnull},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 2 and "nothing was written" in done.stderr, done.stderr
    assert (foreign / "govgate" / "package.json").read_text() == '{"name": "someone-else"}'


def test_govgate_init_made_the_collections_the_bundle_uses(ext):
    fields = ext.lab.rows(
        "SELECT collection, field, special FROM directus_fields WHERE collection IN "
        "('os_proposal_approvals', 'os_approval_signatures', 'os_passkeys') AND special IS NOT NULL"
    )
    assert {(c, f): sp for c, f, sp in fields} == {
        ("os_proposal_approvals", "approved_by"): "user-created",
        ("os_proposal_approvals", "approved_at"): "date-created",
        ("os_approval_signatures", "created_by"): "user-created",
        ("os_approval_signatures", "created_at"): "date-created",
        ("os_passkeys", "user_id"): "user-created",
        ("os_passkeys", "created_at"): "date-created",
    }
    with ext.client() as http:
        for table in ("os_proposal_approvals", "os_approval_signatures", "os_passkeys"):
            ok(http.get(f"/collections/{table}"))
        names = {f["field"] for f in ok(http.get("/fields/os_proposal_approvals"))}
    assert "not_after" in names


def test_directus_lists_the_bundle_and_its_four_entries_enabled(ext):
    with ext.client() as http:
        listed = ok(http.get("/extensions"))
    bundle = next(e for e in listed if e["schema"] and e["schema"].get("name") == BUNDLE_NAME)
    assert bundle["schema"]["type"] == "bundle" and bundle["meta"]["enabled"] is True
    assert bundle["schema"]["local"] is True and bundle["meta"]["folder"] == "govgate"
    assert {e["name"]: e["type"] for e in bundle["schema"]["entries"]} == ENTRIES
    entries = {e["schema"]["name"]: e for e in listed if e["bundle"] == bundle["id"]}
    assert {name: e["schema"]["type"] for name, e in entries.items()} == ENTRIES
    assert all(e["meta"]["enabled"] is True for e in entries.values())
    assert "Loaded extensions: govgate-directus" in ext.log.read_text()


def test_the_app_serves_the_module_and_the_panel_from_the_bundle(ext):
    with ext.client() as http:
        response = http.get("/extensions/sources/index.js")
    assert response.status_code == 200, response.text[:500]
    source = response.text
    assert "id: 'governance'" in source and "id: 'govgate-gate'" in source
    assert "Approve with passkey" in source and "Register a passkey" in source
    assert "http://" not in source.replace(
        "http://localhost:", ""
    )  # no external asset in the app side


# -- the endpoint: the gate's word ----------------------------------------------------------------


def test_the_status_endpoint_refuses_a_request_without_a_token(ext):
    with ext.client(anonymous=True) as http:
        response = http.get("/govgate/status")
    assert response.status_code == 401
    assert error_code(response) == "GOVGATE_SIGN_IN_REQUIRED"
    assert "status" not in response.json()


def test_the_status_endpoint_answers_unknown_to_a_signed_in_user_when_no_govgate_serve_runs(ext):
    for who in (None, APPROVER):
        with ext.client(who) as http:
            started = time.monotonic()
            response = http.get("/govgate/status")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "UNKNOWN"
        assert f"127.0.0.1:{ext.serve_port}" in body["reason"] and "not reachable" in body["reason"]
        assert time.monotonic() - started < 5


def test_every_json_twin_answers_unknown_when_no_govgate_serve_runs(ext):
    with ext.client() as http:
        for twin in ("proposal", "gap", "report", "audit", "verify"):
            response = http.get(f"/govgate/{twin}")
            assert response.status_code == 200 and response.json()["status"] == "UNKNOWN", (
                twin,
                response.text,
            )


def test_the_endpoint_relays_what_the_real_govgate_serve_says(ext):
    with govgate_serve(ext) as serve:
        direct = httpx.get(f"{serve}/status.json", timeout=10, trust_env=False).json()
        with ext.client(APPROVER) as http:
            status = http.get("/govgate/status").json()
            proposal = http.get("/govgate/proposal").json()
            gap = http.get("/govgate/gap").json()
            audit = http.get("/govgate/audit", params={"limit": "1"}).json()
            report = http.get("/govgate/report")
            payload = http.get("/govgate/payload", params={"approval_id": "APR-BOOT-AUTHMODEL-1"})
    assert status == direct
    assert status["status"] == "BLOCKED" and status["gap"] == 210
    assert (
        proposal["proposal"]["id"] == status["proposal"]
        and proposal["proposal"]["sha256"] == status["proposal_sha256"]
    )
    assert len(proposal["authorities"]) == 4 and proposal["proposal"]["predicted_gap"] == 0
    assert gap["total"] == 210
    assert audit["chain"]["ok"] is True and len(audit["events"]) == 1
    assert report.status_code == 404 and "no rollout" in report.json()["error"]["message"]
    # This demo has no Directus user of the lab: govgate serve refuses the payload, and the
    # endpoint says so with its reason (409).
    assert payload.status_code == 409 and error_code(payload) == "GOVGATE_PAYLOAD_REFUSED"
    assert ext.users[APPROVER] in payload.json()["errors"][0]["message"]


# -- the hook: approvals --------------------------------------------------------------------------


def test_a_person_whose_policy_allows_it_creates_an_approval_and_directus_records_who(ext):
    response = ext.create_approval(APPROVER, "APR-EXT-HUMAN-1")
    assert response.status_code == 200, response.text
    row = ext.approval("APR-EXT-HUMAN-1")
    assert row is not None and row[3] == ext.users[APPROVER]
    activity = ext.lab.rows(
        'SELECT action, "user"::text FROM directus_activity '
        "WHERE collection = 'os_proposal_approvals' AND item = 'APR-EXT-HUMAN-1'"
    )
    assert activity == [("create", ext.users[APPROVER])]


@pytest.mark.parametrize("agent", [AGENT, AGENT_BY_ID], ids=["named-by-email", "named-by-id"])
def test_the_agent_user_cannot_create_an_approval_even_when_its_policy_allows_it(ext, agent):
    approval_id = f"APR-EXT-AGENT-{secrets.token_hex(2).upper()}"
    response = ext.create_approval(agent, approval_id)
    assert response.status_code == 403, response.text
    assert error_code(response) == "GOVGATE_APPROVAL_REFUSED"
    assert "agent" in response.json()["errors"][0]["message"]
    assert ext.approval(approval_id) is None
    assert ext.lab.rows("SELECT 1 FROM directus_activity WHERE item = :i", i=approval_id) == []


def test_an_approval_cannot_name_another_approver(ext):
    with ext.client(APPROVER) as http:
        response = http.post(
            "/items/os_proposal_approvals",
            json={
                "id": "APR-EXT-FORGED-1",
                "proposal_id": "PROP-EXT-1",
                "proposal_sha256": SHA,
                "approved_by": ext.users[AGENT],
            },
        )
    assert response.status_code == 403 and error_code(response) == "GOVGATE_APPROVAL_REFUSED"
    assert ext.approval("APR-EXT-FORGED-1") is None


def test_an_approval_cannot_be_edited_through_the_rest_api_not_even_by_the_admin(ext):
    ok(ext.create_approval(APPROVER, "APR-EXT-PATCH-1"))
    before = ext.approval("APR-EXT-PATCH-1")
    with ext.client() as http:
        one = http.patch(
            "/items/os_proposal_approvals/APR-EXT-PATCH-1", json={"proposal_sha256": "0" * 64}
        )
        many = http.patch(
            "/items/os_proposal_approvals",
            json={"keys": ["APR-EXT-PATCH-1"], "data": {"statement": "changed"}},
        )
    for response in (one, many):
        assert response.status_code == 403, response.text
        assert error_code(response) == "GOVGATE_APPROVAL_IMMUTABLE"
    assert ext.approval("APR-EXT-PATCH-1") == before


def test_an_approval_cannot_be_deleted_through_the_rest_api_not_even_by_the_admin(ext):
    ok(ext.create_approval(APPROVER, "APR-EXT-DELETE-1"))
    with ext.client() as http:
        one = http.delete("/items/os_proposal_approvals/APR-EXT-DELETE-1")
        many = http.request("DELETE", "/items/os_proposal_approvals", json=["APR-EXT-DELETE-1"])
    for response in (one, many):
        assert response.status_code == 403, response.text
        assert error_code(response) == "GOVGATE_APPROVAL_IMMUTABLE"
    assert ext.approval("APR-EXT-DELETE-1") is not None


def test_an_approval_signature_cannot_be_edited_or_deleted(ext):
    ok(ext.create_approval(APPROVER, "APR-EXT-SIGNED-1"))
    with ext.client(APPROVER) as http:
        sid = ok(
            http.post(
                "/items/os_approval_signatures",
                json={
                    "approval_id": "APR-EXT-SIGNED-1",
                    "kind": "webauthn",
                    "payload": "{}",
                    "signature": "{}",
                },
            )
        )["id"]
    with ext.client() as http:
        patched = http.patch(
            f"/items/os_approval_signatures/{sid}", json={"payload": '{"forged":true}'}
        )
        deleted = http.delete(f"/items/os_approval_signatures/{sid}")
    assert [patched.status_code, deleted.status_code] == [403, 403]
    assert {error_code(patched), error_code(deleted)} == {"GOVGATE_APPROVAL_IMMUTABLE"}
    assert ext.lab.rows("SELECT payload FROM os_approval_signatures WHERE id = :i", i=sid) == [
        ("{}",)
    ]


def test_a_signature_is_added_only_to_an_approval_its_signer_made_and_never_by_the_agent(ext):
    ok(ext.create_approval(APPROVER, "APR-EXT-OWNED-1"))
    body = {
        "approval_id": "APR-EXT-OWNED-1",
        "kind": "webauthn",
        "payload": "{}",
        "signature": "{}",
    }
    with ext.client(AGENT) as http:
        by_agent = http.post("/items/os_approval_signatures", json=body)
    with ext.client() as http:  # the admin is a person, but did not make this approval
        by_other = http.post("/items/os_approval_signatures", json=body)
        to_nothing = http.post(
            "/items/os_approval_signatures", json={**body, "approval_id": "APR-EXT-NONE-1"}
        )
    for response in (by_agent, by_other, to_nothing):
        assert response.status_code == 403, response.text
        assert error_code(response) == "GOVGATE_APPROVAL_REFUSED"
    assert "agent" in by_agent.json()["errors"][0]["message"]
    assert "you made yourself" in by_other.json()["errors"][0]["message"]
    assert (
        ext.lab.rows(
            "SELECT 1 FROM os_approval_signatures "
            "WHERE approval_id IN ('APR-EXT-OWNED-1', 'APR-EXT-NONE-1')"
        )
        == []
    )


# -- the endpoint: approving and passkeys ---------------------------------------------------------


def test_approving_through_the_endpoint_refuses_a_mistyped_approval_id_and_creates_nothing(ext):
    with ext.client(APPROVER) as http:
        response = http.post(
            "/govgate/approve",
            json={
                "approval_id": "APR-EXT-TYPED-1",
                "typed_id": "APR-EXT-TYPED-2",
                "assertion": an_assertion(),
            },
        )
    assert response.status_code == 400 and error_code(response) == "GOVGATE_TYPED_ID_MISMATCH"
    assert ext.approval("APR-EXT-TYPED-1") is None


def test_approving_through_the_endpoint_needs_govgate_serve_and_says_so(ext):
    with ext.client(APPROVER) as http:
        approve = http.post(
            "/govgate/approve",
            json={
                "approval_id": "APR-EXT-NOSERVE-1",
                "typed_id": "APR-EXT-NOSERVE-1",
                "assertion": an_assertion(),
            },
        )
        payload = http.get("/govgate/payload", params={"approval_id": "APR-EXT-NOSERVE-1"})
    for response in (approve, payload):
        assert response.status_code == 503, response.text
        assert error_code(response) == "GOVGATE_SERVE_UNAVAILABLE"
        assert "govgate serve" in response.json()["errors"][0]["message"]
    assert ext.approval("APR-EXT-NOSERVE-1") is None


def test_the_endpoint_refuses_anonymous_approvals_and_knows_the_agent_users(ext):
    body = {"approval_id": "APR-EXT-X-1", "typed_id": "APR-EXT-X-1", "assertion": an_assertion()}
    with ext.client(anonymous=True) as http:
        anonymous = http.post("/govgate/approve", json=body)
    assert anonymous.status_code == 401 and error_code(anonymous) == "GOVGATE_SIGN_IN_REQUIRED"
    for email, agent in ((AGENT, True), (AGENT_BY_ID, True), (APPROVER, False)):
        with ext.client(email) as http:
            me = http.get("/govgate/me").json()
        assert (me["email"], me["agent"], me["user"]) == (email, agent, ext.users[email])


def test_a_passkey_is_registered_for_its_own_user_and_listed_to_them_only(ext):
    es256 = passkey_body(ec.generate_private_key(ec.SECP256R1()), -7)
    eddsa = passkey_body(ed25519.Ed25519PrivateKey.generate(), -8)
    with ext.client(APPROVER) as http:
        for body in (es256, eddsa):
            registered = http.post("/govgate/passkeys", json=body)
            assert registered.status_code == 200, registered.text
            assert "allowed signers" in registered.json()["note"]
        mine = http.get("/govgate/passkeys").json()["data"]
    assert [k["credential_id"] for k in mine] == [es256["credential_id"], eddsa["credential_id"]]
    assert [k["algorithm"] for k in mine] == [-7, -8]
    with ext.client() as http:
        assert http.get("/govgate/passkeys").json()["data"] == []
    rows = ext.lab.rows(
        "SELECT user_id::text FROM os_passkeys WHERE credential_id = :c", c=es256["credential_id"]
    )
    assert rows == [(ext.users[APPROVER],)]


def test_a_passkey_with_a_key_that_does_not_match_its_algorithm_is_refused(ext):
    body = passkey_body(ed25519.Ed25519PrivateKey.generate(), -7)
    with ext.client(APPROVER) as http:
        response = http.post("/govgate/passkeys", json=body)
    assert response.status_code == 400 and error_code(response) == "GOVGATE_INVALID_INPUT"
    assert (
        ext.lab.rows("SELECT 1 FROM os_passkeys WHERE credential_id = :c", c=body["credential_id"])
        == []
    )


def test_a_passkey_cannot_be_registered_for_someone_else_through_the_rest_api(ext):
    body = passkey_body(ec.generate_private_key(ec.SECP256R1()), -7)
    with ext.client(APPROVER) as http:
        response = http.post(
            "/items/os_passkeys",
            json={
                "credential_id": body["credential_id"],
                "public_key": body["public_key"],
                "algorithm": -7,
                "user_id": ext.users[AGENT],
                "created_at": "2026-01-01T00:00:00Z",
            },
        )
    assert response.status_code == 403 and error_code(response) == "GOVGATE_PASSKEY_REFUSED"
    assert (
        ext.lab.rows("SELECT 1 FROM os_passkeys WHERE credential_id = :c", c=body["credential_id"])
        == []
    )


def test_a_passkey_approval_states_what_was_signed_and_the_gate_counts_it_once_trusted(ext):
    """The endpoint's whole path with a software passkey: the row carries the statement and the
    not_after govgate put in the payload, and the gate counts it once the operator trusts the key
    (and not before)."""
    folder = ext.tmp / "passkey-approval"
    folder.mkdir()
    proposal = propose_one_roof(ext.lab, folder)
    agent = {"agent_db_url": agent_login(ext.lab)}  # else the gate refuses: the agent could forge
    key = ec.generate_private_key(ec.SECP256R1())
    body = passkey_body(key, -7)
    with ext.client(APPROVER) as http:
        ok(http.post("/govgate/passkeys", json=body))
    signers = trust_passkeys(
        ext.lab, ext.users[APPROVER], APPROVER, folder / "allowed_signers", "localhost"
    )
    origin = f"http://localhost:{ext.lab.env['DIRECTUS_PORT']}"
    with lab_serve(ext, folder, gate_settings(ext.lab, AGENT, signers, **agent)):
        with ext.client(APPROVER) as http:
            offer = http.get("/govgate/payload", params={"approval_id": proposal.approval_id})
            assert offer.status_code == 200, offer.text
            offer = offer.json()

            def approve(payload: str) -> httpx.Response:
                assertion = signed_assertion(key, body["credential_id"], payload, origin)
                return http.post(
                    "/govgate/approve",
                    json={
                        "approval_id": proposal.approval_id,
                        "typed_id": proposal.approval_id,
                        "assertion": assertion,
                        "payload": payload,
                    },
                )

            # What the person signed must be what govgate makes for this approval, but for its
            # time, and made a moment ago: else nothing is created.
            forged = approve(offer["payload"].replace('"I ratify ', '"I do not ratify '))
            stale = approve(redated(offer["payload"], minutes=-6))
            time.sleep(1.1)  # govgate serve now dates a payload later than the one signed
            done = approve(offer["payload"])
    for refused in (forged, stale):
        assert refused.status_code == 409, refused.text
        assert error_code(refused) == "GOVGATE_PAYLOAD_REFUSED"
    assert "minutes ago" in stale.json()["errors"][0]["message"]
    assert done.status_code == 200, done.text
    predicate = json.loads(offer["payload"])["predicate"]
    assert (
        offer["not_after"] == predicate["not_after"]
        and offer["statement"] == predicate["statement"]
    )
    rows = ext.lab.rows(
        "SELECT statement, to_char(not_after AT TIME ZONE 'UTC', "
        '\'YYYY-MM-DD"T"HH24:MI:SS"Z"\'), approved_by::text '
        "FROM os_proposal_approvals WHERE id = :id",
        id=proposal.approval_id,
    )
    assert rows == [(predicate["statement"], predicate["not_after"], ext.users[APPROVER])]
    signature = ext.lab.rows(
        "SELECT kind, payload, created_by::text FROM os_approval_signatures "
        "WHERE approval_id = :id",
        id=proposal.approval_id,
    )
    assert signature == [("webauthn", offer["payload"], ext.users[APPROVER])]

    (folder / "nobody").write_text("")
    untrusted = api.status(gate_settings(ext.lab, AGENT, folder / "nobody", **agent))
    assert untrusted.status.value == "BLOCKED"
    assert any("(passkey) line lists" in str(r) for r in untrusted.reasons), untrusted.reasons
    verdict = api.status(gate_settings(ext.lab, AGENT, signers, **agent))
    assert verdict.status.value == "READY", [str(r) for r in verdict.reasons]
    assert verdict.approval_id == proposal.approval_id
