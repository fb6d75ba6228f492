"""The benchmark's databases: the One-Roof demo, grown to N governed collections.

Every size starts from `govgate demo` (Directus-shaped: 35 governed collections, 4 authorities,
6 duties, 42 app tables of 5 rows). Larger sizes add N - 35 governed collections to
os_governed_collections, named after the demo's four domain prefixes (`transport_b00035`,
`it_b00036`, ...) so that the demo's own plan patterns (`transport_*`, `it_*`, `kg_*`,
`svc_*`, ...) assign every one of them: the proposal then has N x D slots. Nothing a rollout
reads needs the app tables (db/state.py reads only the governance tables), so none is made
for the added collections.

The demo is a Directus-shaped database without a Directus server, so an approval counts only
when signed: each case has its own Ed25519 approver key (made with `cryptography`) and an
allowed_signers file trusting it, and every approval in the benchmark is signed with it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from govgate import api
from govgate.config import Settings
from govgate.db import schema as s
from govgate.db.session import session
from govgate.ops import demo as demo_mod
from govgate.signing import sshkeys
from govgate.signing.payload import NAMESPACE
from govgate.signing.signer import KeySigner

APPROVER = "approver@oneroof.example"
PROPOSER = "bench-engineer"  # freezes proposals; four eyes: never the approver
DEMO_COLLECTIONS = 35
DUTY_ORDER = ("ownership", "stewardship", "access", "change", "retention", "incident")
# the demo plan's patterns, by authority; the added collections take the first four prefixes
ASSIGN = {
    "GOV-DOT": ["transport_*"],
    "GOV-MOIT": ["it_*"],
    "GOV-KG-SYS": ["kg_*"],
    "GOV-COUNCIL": ["svc_*", "citizen_*", "council_*"],
}
PREFIXES = (
    ("transport_", "transport"),
    ("it_", "digital"),
    ("kg_", "knowledge"),
    ("svc_", "civic"),
)


@dataclass(frozen=True)
class Size:
    """N governed collections, D duties assigned to each: N x D slots."""

    collections: int
    duties: int = 6

    @property
    def slots(self) -> int:
        return self.collections * self.duties

    @property
    def label(self) -> str:
        return f"{self.collections}" + ("" if self.duties == 6 else f"x{self.duties}")

    @classmethod
    def parse(cls, text: str) -> Size:
        """`1000` (x 6 duties) or `10000x4`."""
        n, _, d = text.strip().lower().partition("x")
        size = cls(int(n), int(d) if d else 6)
        if size.collections < DEMO_COLLECTIONS or not 1 <= size.duties <= 6:
            raise ValueError(f"size {text}: at least {DEMO_COLLECTIONS} collections, 1-6 duties")
        return size


@dataclass(frozen=True)
class Case:
    """One database at one size, with what is needed to drive it in-process and as a CLI."""

    db: str  # "sqlite" or "postgresql"
    size: Size
    folder: Path
    url: str  # the owner's (PostgreSQL: the superuser's)
    agent_url: str  # the agent's own login (PostgreSQL); the same URL on SQLite
    key: Path
    signers: Path

    @property
    def settings(self) -> Settings:
        agent = None if self.agent_url == self.url else self.agent_url
        return Settings(db_url=self.url, agent_db_url=agent, allowed_signers=str(self.signers))

    def cli_args(self) -> list[str]:
        args = ["--db", self.url]
        return args + (["--agent-db", self.agent_url] if self.agent_url != self.url else [])

    def cli_env(self) -> dict[str, str]:
        # An installed govgate has its bytecode compiled (pip does it at install); a machine
        # that sets PYTHONDONTWRITEBYTECODE would make every process compile govgate again.
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("GOVGATE_") and k != "PYTHONDONTWRITEBYTECODE"
        }
        env.update(GOVGATE_CONFIG="/dev/null", GOVGATE_ALLOWED_SIGNERS=str(self.signers))
        return env


def write_key(folder: Path) -> tuple[Path, Path]:
    """An Ed25519 OpenSSH key for the approver in FOLDER, and allowed_signers trusting it."""
    path = folder / "approver"
    public = sshkeys.new_key_file(path, APPROVER)
    signers = folder / "allowed_signers"
    signers.write_text(f'{APPROVER} namespaces="{NAMESPACE}" {public}\n')
    return path, signers


def extra_collections(size: Size) -> list[dict]:
    """The governed collections beyond the demo's 35, spread over its four domain prefixes."""
    return [
        {"collection": f"{PREFIXES[i % 4][0]}b{i:05d}", "domain": PREFIXES[i % 4][1]}
        for i in range(DEMO_COLLECTIONS, size.collections)
    ]


def plan_text(proposal_id: str, duties: int) -> str:
    """The demo's assignments under PROPOSAL_ID; with fewer than 6 duties, the first DUTIES."""
    lines = [
        f"proposal: {proposal_id}",
        f"approval: APR-{proposal_id.removeprefix('PROP-')}",
        f"title: Benchmark rollout {proposal_id}",
        "protected: [billing_*, signoff_*, law_*]",
        "assign:",
    ]
    for authority, patterns in ASSIGN.items():
        if duties == 6:
            lines.append(f"  {authority}: [{', '.join(patterns)}]")
        else:
            lines.append(f"  {authority}:")
            lines.append(f"    collections: [{', '.join(patterns)}]")
            lines.append(f"    duties: [{', '.join(DUTY_ORDER[:duties])}]")
    return "\n".join(lines) + "\n"


def write_plan(case: Case, proposal_id: str) -> str:
    path = case.folder / f"{proposal_id}.yaml"
    path.write_text(plan_text(proposal_id, case.size.duties), encoding="utf-8")
    return str(path)


def _grow(url: str, size: Size) -> None:
    rows = extra_collections(size)
    with session(url) as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(s.governed_collections.insert(), rows[start : start + 5000])


def sqlite_case(root: Path, size: Size) -> Case:
    """The demo as an SQLite file in a folder of its own, grown to SIZE."""
    folder = root / f"sqlite-{size.label}"
    folder.mkdir()
    path = folder / "bench.db"
    api.demo(Settings(), str(path), actor=PROPOSER)
    url = f"sqlite:///{path}"
    _grow(url, size)
    key, signers = write_key(folder)
    return Case("sqlite", size, folder, url, url, key, signers)


def postgres_case(root: Path, cluster, size: Size) -> Case:
    """The demo in a fresh database of CLUSTER, grown to SIZE, with the agent's own login."""
    from support.pgcluster import fresh_database_name

    folder = root / f"postgresql-{size.label}"
    folder.mkdir()
    name = fresh_database_name("bench")
    url = cluster.create_database(name)
    settings = Settings(db_url=url)
    api.demo(settings, actor=PROPOSER)
    api.init(settings, actor=PROPOSER, roles=True, sql_registration=True)
    login = f"bench_agent_{name[-6:]}"
    cluster.admin_execute(f"CREATE ROLE {login} LOGIN IN ROLE govgate_agent")
    _grow(url, size)
    key, signers = write_key(folder)
    return Case("postgresql", size, folder, url, cluster.url(name, user=login), key, signers)


def approve(case: Case) -> str:
    """The approver ratifies the current proposal, signed, as if typing its approval id."""
    settings = case.settings
    pid = api.status(settings).proposal_id
    api.ratify(
        settings,
        pid,
        approver=APPROVER,
        confirm=lambda r: r.approval_id,
        interactive=True,
        signer=KeySigner(str(case.key)),
    )
    return pid


def expected_rows(size: Size) -> list[tuple[str, str, str]]:
    """(collection, duty, authority) of every slot the plan assigns at SIZE, sorted: the rows
    every baseline writes (each round checks that the proposal has exactly these)."""
    authority = {p.rstrip("*"): a for a, patterns in ASSIGN.items() for p in patterns}
    collections = [c for names in demo_mod.DOMAINS.values() for c in names]
    collections += [x["collection"] for x in extra_collections(size)]
    duties = DUTY_ORDER[: size.duties]
    rows = []
    for c in collections:
        owner = next(a for prefix, a in authority.items() if c.startswith(prefix))
        rows += [(c, d, owner) for d in duties]
    return sorted(rows)
