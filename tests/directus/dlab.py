"""Helpers of the Directus suite: the lab, the operator's set-up, REST calls (see conftest.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import shutil
import struct
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from govgate import api
from govgate.config import Settings
from govgate.directus import rest
from govgate.ops import demo as demo_mod

from support.constants import ROOT
from support.sqlhelp import sql_execute, sql_rows

LAB_SCRIPT = ROOT / "scripts" / "directus-lab"
SUITE_DIR = Path(__file__).resolve().parent
INSTALL_TIMEOUT_S = 1200
APPROVER_EMAIL = "approver@example.com"
AGENT_EMAIL = "agent@example.com"
ROGUE_EMAIL = "rogue-agent@example.com"
DIRECTUS_AGENT_LOGIN = "gg_directus_agent"
TIMINGS: dict[str, float] = {}


@dataclass
class DirectusLab:
    """A running Directus 12.4.0 lab (PostgreSQL, MariaDB or SQLite) and what lab.env says."""

    dir: Path
    env: dict[str, str]

    @property
    def url(self) -> str:
        return self.env["DIRECTUS_URL"]

    @property
    def admin_token(self) -> str:
        return self.env["DIRECTUS_ADMIN_TOKEN"]

    @property
    def owner_url(self) -> str:
        """Directus's own database role (owner of its tables)."""
        return self.env["GOVGATE_DB"]

    @property
    def superuser_url(self) -> str:
        """postgres on PostgreSQL; the lab's all-privileges login on MariaDB."""
        return self.env.get("DB_SUPERUSER_URL") or self.env["PG_SUPERUSER_URL"]

    @property
    def db_client(self) -> str:
        """Directus's DB_CLIENT: pg, mysql or sqlite3."""
        return self.env["DB_CLIENT"]

    def client(self, token: str | None = None) -> httpx.Client:
        """A REST client on the lab (127.0.0.1 only), as the admin unless TOKEN is given."""
        assert self.url.startswith("http://127.0.0.1:"), self.url
        return httpx.Client(
            base_url=self.url,
            timeout=30,
            trust_env=False,
            headers={"Authorization": f"Bearer {token or self.admin_token}"},
        )

    def rows(self, sql: str, url: str | None = None, **params) -> list[tuple]:
        return sql_rows(sa.create_engine(url or self.superuser_url), sql, params)

    def scalar(self, sql: str, **params):
        return self.rows(sql, **params)[0][0]

    def execute(self, sql: str, url: str | None = None, **params) -> None:
        sql_execute(sa.create_engine(url or self.superuser_url), sql, params)


def read_env(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            out[key] = value
    return out


def read_lab_env(lab: DirectusLab) -> None:
    """Read LAB's lab.env again (after a restart of the lab, ports may have changed)."""
    lab.env.clear()
    lab.env.update(read_env(lab.dir / "lab.env"))


def run_lab(*args: str, timeout: float, log: Path) -> float:
    started = time.monotonic()
    with log.open("ab") as out:
        done = subprocess.run(
            [str(LAB_SCRIPT), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
            check=False,
        )
    if done.returncode != 0:
        tail = "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-40:])
        pytest.fail(
            f"scripts/directus-lab {' '.join(args)} failed (exit {done.returncode}):\n{tail}",
            pytrace=False,
        )
    return time.monotonic() - started


@contextmanager
def running_lab(db: str) -> Iterator[DirectusLab]:
    """`scripts/directus-lab install`, then `start --db DB` in a fresh folder under /tmp; stop at
    the end.

    The folder is under /tmp and made by mkdtemp: the lab script opens it (o+x) to the
    database's OS user (postgres; mysql or nobody for MariaDB), which must reach its socket and
    data folder.
    """
    if os.environ.get("GOVGATE_SKIP_DIRECTUS") and not os.environ.get("CI"):  # CI always runs it
        pytest.skip("GOVGATE_SKIP_DIRECTUS is set")
    folder = Path(tempfile.mkdtemp(prefix=f"gg-directus-{db}-", dir="/tmp"))
    log = folder / "lab-script.log"
    try:
        TIMINGS.setdefault("install", run_lab("install", timeout=INSTALL_TIMEOUT_S, log=log))
        TIMINGS[f"start ({db})"] = run_lab(
            "start", "--dir", str(folder), "--db", db, timeout=300, log=log
        )
        yield DirectusLab(folder, read_env(folder / "lab.env"))
    finally:
        subprocess.run(
            [str(LAB_SCRIPT), "stop", "--dir", str(folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=120,
            check=False,
        )
        if not os.environ.get("GOVGATE_KEEP_LAB"):
            shutil.rmtree(folder, ignore_errors=True)


# -- the operator's one-time set-up --------------------------------------------------------


@dataclass
class World:
    """The lab after the operator's set-up: settings, users, tokens, the starting fingerprint."""

    lab: DirectusLab
    settings: Settings  # main URL: Directus's role; agent URL: the govgate_agent login
    init_result: object
    users: dict[str, str]  # email -> Directus user id
    tokens: dict[str, str]  # email -> static token
    policies: dict[str, str]  # name -> policy id
    start_fingerprint: str
    plans_dir: Path
    proposals: list[str] = field(default_factory=list)

    def client(self, email: str | None = None) -> httpx.Client:
        return self.lab.client(self.tokens[email] if email else None)

    def as_agent(self, email: str) -> Settings:
        """The same settings with another Directus user configured as the agent's."""
        return replace(self.settings, directus_agent_user=email)

    def propose(self, tag: str):
        """Freeze the One-Roof plan under a fresh proposal id; it becomes the current proposal."""
        pid = f"PROP-{tag}-{uuid.uuid4().hex[:6]}".upper()
        text = demo_mod.plan_text()
        text = text.replace("proposal: PROP-AUTHMODEL-1", f"proposal: {pid}")
        text = text.replace("approval: APR-BOOT-AUTHMODEL-1", f"approval: APR-{pid[5:]}")
        path = self.plans_dir / f"{pid}.yaml"
        path.write_text(text, encoding="utf-8")
        result = api.propose(self.settings, str(path), actor="engineer")
        self.proposals.append(pid)
        return result.proposal

    def approve(
        self, email: str, proposal, approval_id: str | None = None, **extra
    ) -> httpx.Response:
        """POST /items/os_proposal_approvals as the user with EMAIL (their static token)."""
        body = {
            "id": approval_id or proposal.approval_id,
            "proposal_id": proposal.id,
            "proposal_sha256": proposal.sha256,
            "statement": f"I ratify {proposal.id} with hash {proposal.sha256}.",
            **extra,
        }
        with self.client(email) as http:
            return http.post("/items/os_proposal_approvals", json=body)


def ok(response: httpx.Response) -> dict:
    assert response.status_code in (200, 204), (
        f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
    )
    return response.json().get("data") if response.content else {}


def seed_governance(owner_url: str) -> None:
    """One-Roof's governance data, and its app tables made with SQL (not registered in Directus)."""
    engine = sa.create_engine(owner_url)
    try:
        with engine.begin() as conn:
            quote = conn.dialect.identifier_preparer.quote_identifier  # "t" or `t` (MariaDB)
            names = [t for d in demo_mod.DOMAINS.values() for t in d] + demo_mod.PROTECTED
            for name in names:
                conn.execute(
                    sa.text(
                        f"CREATE TABLE {quote(name)} (id integer PRIMARY KEY, name varchar(200) "
                        "NOT NULL, status varchar(20) NOT NULL, notes text)"
                    )
                )
                conn.execute(
                    sa.text(f"INSERT INTO {quote(name)} VALUES (1, :n, 'active', NULL)"),
                    {"n": f"{name} #1"},
                )
            demo_mod.seed_governance(conn)
    finally:
        engine.dispose()


def agent_login(lab: DirectusLab) -> str:
    """A database login for the agent in the govgate_agent role (made by `init --roles`), made
    as the superuser as an operator would; returns its URL."""
    password = secrets.token_hex(12)
    if lab.db_client == "mysql":
        account = f"'{DIRECTUS_AGENT_LOGIN}'@'%'"
        for sql in (
            f"CREATE USER {account} IDENTIFIED BY '{password}'",
            f"GRANT govgate_agent TO {account}",
            f"SET DEFAULT ROLE govgate_agent FOR {account}",
        ):
            lab.execute(sql)
        port, database = lab.env["MARIADB_PORT"], lab.env["MARIADB_DATABASE"]
        scheme, query = "mysql+pymysql", "?charset=utf8mb4"
    else:
        lab.execute(
            f"CREATE ROLE {DIRECTUS_AGENT_LOGIN} LOGIN PASSWORD '{password}' IN ROLE govgate_agent"
        )
        port, database = lab.env["PG_PORT"], lab.env["PG_DATABASE"]
        scheme, query = "postgresql+psycopg", ""
    return f"{scheme}://{DIRECTUS_AGENT_LOGIN}:{password}@127.0.0.1:{port}/{database}{query}"


def build_world(lab: DirectusLab, plans: Path, reports: Path) -> World:
    """What an operator does once on a lab with database roles (PostgreSQL, MariaDB): init through
    Directus's REST API as Directus's login, init --roles as the superuser, the agent's login,
    the governance data, and through the REST API the approver's and the agent's users."""
    started = time.monotonic()
    operator = Settings(db_url=lab.owner_url, directus_url=lab.url, directus_token=lab.admin_token)
    init_result = api.init(operator, actor="operator")  # through Directus's REST API
    superuser = Settings(
        db_url=lab.superuser_url, directus_url=lab.url, directus_token=lab.admin_token
    )
    api.init(superuser, actor="operator", roles=True)
    agent_url = agent_login(lab)
    seed_governance(lab.owner_url)
    users, tokens, policies = create_directus_users(lab)
    settings = Settings(
        db_url=lab.owner_url,
        agent_db_url=agent_url,
        directus_agent_user=AGENT_EMAIL,
        directus_url=lab.url,
        report_dir=str(reports),
    )
    start = api.status(settings).fingerprint
    TIMINGS[f"operator set-up ({lab.db_client})"] = time.monotonic() - started
    return World(lab, settings, init_result, users, tokens, policies, start, plans)


def create_directus_users(lab: DirectusLab) -> tuple[dict, dict, dict]:
    """Through the REST API, as the operator would: two API-only policies, three users."""
    users, tokens, policies = {}, {}, {}
    with lab.client() as http:

        def policy(name: str, rights: list[tuple[str, str]]) -> str:
            pid = ok(
                http.post(
                    "/policies",
                    json={
                        "name": name,
                        "icon": "badge",
                        "admin_access": False,
                        "app_access": False,
                        "description": "govgate test policy",
                    },
                )
            )["id"]
            for collection, action in rights:
                ok(
                    http.post(
                        "/permissions",
                        json={
                            "policy": pid,
                            "collection": collection,
                            "action": action,
                            "fields": ["*"],
                        },
                    )
                )
            policies[name] = pid
            return pid

        approver = policy(
            "Governance approver",
            [
                ("os_proposal_approvals", "create"),
                ("os_proposal_approvals", "read"),
                ("os_proposals", "read"),
            ],
        )
        agent = policy(
            "Governance agent",
            [
                ("os_proposal_approvals", "read"),
                ("os_proposals", "read"),
                ("os_accountability", "read"),
                ("os_rollouts", "read"),
            ],
        )

        def user(email: str, role_name: str, policy_id: str) -> None:
            role = ok(http.post("/roles", json={"name": role_name}))["id"]
            ok(http.post("/access", json={"role": role, "policy": policy_id}))
            token = f"gg-{secrets.token_hex(16)}"
            created = ok(
                http.post(
                    "/users",
                    json={
                        "email": email,
                        "password": secrets.token_hex(12),
                        "first_name": role_name,
                        "role": role,
                        "token": token,
                    },
                )
            )
            users[email], tokens[email] = created["id"], token

        user(APPROVER_EMAIL, "Governance approvers", approver)
        user(AGENT_EMAIL, "Governance agents", agent)
        # An agent-like user that was (wrongly) given the approver's rights: tests configure it as
        # the agent's user and expect its approvals to be refused.
        user(ROGUE_EMAIL, "Rogue agents", approver)
    return users, tokens, policies


# -- people signing in ----------------------------------------------------------------

# Directus's appRecommendedPermissions for directus_users/update (@directus/system-data).
OWN_PROFILE = [
    *("first_name", "last_name", "email", "password", "location", "title", "description"),
    *("avatar", "language", "appearance", "theme_light", "theme_dark"),
    *("theme_light_overrides", "theme_dark_overrides", "tfa_secret"),
]


def totp(secret: str, at: float | None = None) -> str:
    """RFC 6238: HMAC-SHA1 over the 30-second step, 6 digits, base32 secret."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{code % 1_000_000:06d}"


def fresh_totp(secret: str) -> str:
    """A code with a few seconds of its 30-second step left (Directus accepts the current step)."""
    if time.time() % 30 > 26:
        time.sleep(30 - time.time() % 30 + 0.5)
    return totp(secret)


def set_password(world, email: str) -> str:
    """Give the user with EMAIL a known password (as the admin); returns it."""
    password = f"pw-{secrets.token_hex(10)}"
    with world.client() as http:
        ok(http.patch(f"/users/{world.users[email]}", json={"password": password}))
    return password


def two_factor_user(world, *policies: str) -> tuple[str, str, str, dict]:
    """A fresh user with two-factor authentication on, and POLICIES (names in world.policies):
    (email, password, TOTP secret, user)."""
    email, password = f"tfa-{secrets.token_hex(4)}@example.com", secrets.token_hex(12)
    with world.client() as http:
        # Enabling TFA updates one's own tfa_secret, a permission like any other: the lab's
        # API-only policies lack it. The licence refuses custom permission rules
        # (RESOURCE_RESTRICTED) except Directus's "recommended app permission", exactly:
        # update of one's own profile fields.
        policy = ok(http.post("/policies", json={"name": f"TFA {email}", "app_access": False}))
        ok(
            http.post(
                "/permissions",
                json={
                    "policy": policy["id"],
                    "collection": "directus_users",
                    "action": "update",
                    "fields": OWN_PROFILE,
                    "permissions": {"id": {"_eq": "$CURRENT_USER"}},
                },
            )
        )
        user = ok(http.post("/users", json={"email": email, "password": password}))
        for pid in (policy["id"], *(world.policies[name] for name in policies)):
            ok(http.post("/access", json={"user": user["id"], "policy": pid}))
    first = rest.login(world.lab.url, email, password)
    with world.lab.client(first.token) as http:
        secret = ok(http.post("/users/me/tfa/generate", json={"password": password}))["secret"]
        ok(http.post("/users/me/tfa/enable", json={"secret": secret, "otp": fresh_totp(secret)}))
    first.logout()
    world.users[email] = user["id"]
    return email, password, secret, user
