"""govgate's Directus extension bundle (extensions/directus) in a real Directus 12.4.0.

The module starts its own lab: `scripts/directus-lab start --db pg` (PostgreSQL and a bootstrapped
Directus), then restarts that Directus with the lab's exact environment (read from
/proc/<pid>/environ) plus what the bundle needs: EXTENSIONS_PATH at a folder holding only the
built bundle (package.json + dist/), EXTENSIONS_MUST_LOAD=true (Directus exits if the bundle does
not load), GOVGATE_AGENT_USER (one agent by e-mail, one by id) and GOVGATE_SERVE_URL on a free
loopback port where `govgate serve` runs only when a test starts it.

The governance collections are made with plain SQL as Directus's database role and registered
through the REST API (`PATCH /collections/<t> {meta}`, `approved_by`/`approved_at` as
`user-created`/`date-created`, then `POST /utils/cache/clear?system`). Users are API-only (no seat).

The bundle is built with extensions/directus/build.sh when dist/ is missing or older than its
sources (npm ci under the lab's Node 22; the npm registry is needed once).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from .dlab import ROOT, TIMINGS, DirectusLab, ok, running_lab
from support.serve import govgate_serve as serve_process

EXT_DIR = ROOT / "extensions" / "directus"
BUILD_SCRIPT = EXT_DIR / "build.sh"
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

# What `govgate init` will create for the bundle, as plain PostgreSQL (owned by Directus's role).
DDL = [
    "CREATE TABLE os_proposal_approvals (id varchar(100) PRIMARY KEY, "
    "proposal_id varchar(100) NOT NULL, proposal_sha256 varchar(64) NOT NULL, approved_by uuid, "
    "approved_at timestamptz, statement text)",
    "CREATE TABLE os_approval_signatures (id serial PRIMARY KEY, "
    "approval_id varchar(100) NOT NULL, kind varchar(20) NOT NULL, payload text NOT NULL, "
    "signature text NOT NULL, created_by uuid, created_at timestamptz)",
    "CREATE TABLE os_passkeys (id serial PRIMARY KEY, credential_id varchar(1400) NOT NULL UNIQUE, "
    "public_key text NOT NULL, algorithm integer NOT NULL, user_id uuid NOT NULL, "
    "created_at timestamptz NOT NULL)",
]
SPECIALS = {
    ("os_proposal_approvals", "approved_by"): "user-created",
    ("os_proposal_approvals", "approved_at"): "date-created",
    ("os_approval_signatures", "created_by"): "user-created",
    ("os_approval_signatures", "created_at"): "date-created",
}


# -- the bundle -----------------------------------------------------------------------------------


def built_bundle() -> Path:
    """extensions/directus/dist, (re)built by build.sh when missing or older than the sources."""
    dist = EXT_DIR / "dist"
    sources = [
        EXT_DIR / "package.json",
        EXT_DIR / "package-lock.json",
        *(p for p in (EXT_DIR / "src").rglob("*") if p.is_file()),
    ]
    newest = max(p.stat().st_mtime for p in sources)
    outputs = [dist / "app.js", dist / "api.js"]
    if all(p.is_file() and p.stat().st_mtime >= newest for p in outputs):
        return dist
    installed = EXT_DIR / "node_modules" / ".package-lock.json"
    fresh = (
        installed.is_file()
        and installed.stat().st_mtime >= (EXT_DIR / "package-lock.json").stat().st_mtime
    )
    started = time.monotonic()
    done = subprocess.run(
        [str(BUILD_SCRIPT), *(["--no-ci"] if fresh else [])],
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
    return dist


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
    for statement in DDL:
        lab.execute(statement, url=lab.owner_url)
    with lab.client() as http:
        for table in ("os_proposal_approvals", "os_approval_signatures", "os_passkeys"):
            ok(
                http.patch(
                    f"/collections/{table}",
                    json={"meta": {"icon": "verified", "note": "govgate test"}},
                )
            )
        for (table, field), special in SPECIALS.items():
            ok(
                http.patch(
                    f"/fields/{table}/{field}",
                    json={"meta": {"special": [special], "readonly": True}},
                )
            )
        ok(http.post("/utils/cache/clear", params={"system": ""}))


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
def directus_with_bundle(
    lab: DirectusLab, dist: Path, extra_env: dict[str, str], tmp: Path
) -> Iterator[Path]:
    """Restart the lab's Directus with its own environment plus the bundle; yields its log path."""
    pid = int((lab.dir / "directus.pid").read_text().strip())
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    env = dict(item.decode().split("=", 1) for item in environ if b"=" in item)
    argv = [
        part.decode() for part in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if part
    ]
    assert argv[-1] == "start" and env["HOST"] == "127.0.0.1", (argv, env.get("HOST"))

    extensions = tmp / "extensions"
    (extensions / "govgate").mkdir(parents=True)
    shutil.copy2(EXT_DIR / "package.json", extensions / "govgate" / "package.json")
    shutil.copytree(dist, extensions / "govgate" / "dist")

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
    dist = built_bundle()
    tmp = tmp_path_factory.mktemp("directus-bundle")
    with running_lab("pg") as lab:
        set_up_collections(lab)
        users, tokens = create_users(lab)
        serve_port = free_port()
        extra = {
            "GOVGATE_AGENT_USER": f"{AGENT}, {users[AGENT_BY_ID]}",
            "GOVGATE_SERVE_URL": f"http://127.0.0.1:{serve_port}",
        }
        with directus_with_bundle(lab, dist, extra, tmp) as log:
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


# -- loading --------------------------------------------------------------------------------------


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
    assert report.status_code == 404 and "no rollout" in report.json()["message"]
    # This govgate serve has no /approval-payload.json yet: the endpoint says so (503).
    assert payload.status_code == 503 and error_code(payload) == "GOVGATE_SERVE_UNAVAILABLE"
    assert "approval-payload.json" in payload.json()["errors"][0]["message"]


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
