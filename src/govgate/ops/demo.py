"""The embedded default: a One-Roof production replica.

Directus system tables (the ones govgate touches), 35 governed collections in
four domains with sample rows, protected billing/sign-off/law collections with
rows, 4 authorities, 6 duties, 0 approvals, an outbox with external emission
off, and the proposal from plans/oneroof-authmodel.yaml frozen.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..db import schema as s
from ..db.engine import Mode
from ..db.session import Database
from ..directus import tables as dx
from ..errors import BadInput
from ..runbook import proposal
from ..runbook.plan_file import parse_plan
from ..urls import mask_url
from . import demo_files
from . import init as setup

DOMAINS = {
    "transport": [
        "transport_routes",
        "transport_stops",
        "transport_vehicles",
        "transport_permits",
        "transport_schedules",
        "transport_incidents",
        "transport_roadworks",
        "transport_parking",
        "transport_licences",
    ],
    "digital": [
        "it_systems",
        "it_services",
        "it_assets",
        "it_access_requests",
        "it_incidents",
        "it_datasets",
        "it_integrations",
        "it_licences",
    ],
    "knowledge": [
        "kg_entities",
        "kg_relations",
        "kg_sources",
        "kg_taxonomies",
        "kg_glossary",
        "kg_lineage",
        "kg_schemas",
        "kg_annotations",
    ],
    "civic": [
        "svc_catalog",
        "svc_requests",
        "svc_appointments",
        "svc_locations",
        "svc_forms",
        "citizen_profiles",
        "citizen_feedback",
        "council_meetings",
        "council_decisions",
        "council_committees",
    ],
}
PROTECTED = [
    "billing_invoices",
    "billing_payments",
    "billing_accounts",
    "signoff_requests",
    "signoff_decisions",
    "law_documents",
    "law_amendments",
]
AUTHORITIES = [
    ("GOV-COUNCIL", "City Council"),
    ("GOV-KG-SYS", "Knowledge Graph Systems Board"),
    ("GOV-DOT", "Department of Transport"),
    ("GOV-MOIT", "Ministry of Information Technology"),
]
DUTIES = [
    ("ownership", "Owns the collection and answers for it"),
    ("stewardship", "Keeps the data correct and complete"),
    ("access", "Decides who may read and write it"),
    ("change", "Approves changes to its structure"),
    ("retention", "Decides how long records are kept"),
    ("incident", "Responds when something goes wrong with it"),
]
PLAN_RESOURCE = "oneroof-authmodel.yaml"

_NS = uuid.UUID("6f1e0c7a-5b8e-4c9f-9a3e-0d1c2b3a4f50")
USERS = {  # key -> (email, first name, policy)
    "admin": ("admin@oneroof.example", "Ada", "Administrator"),
    "approver": ("approver@oneroof.example", "Amal", "Approver"),
    "agent": ("agent@oneroof.example", "Govgate", "Governance agent"),
}


def demo_uuid(name: str) -> str:
    """Stable ids, so every demo build holds the same rows."""
    return str(uuid.uuid5(_NS, name))


def plan_text() -> str:
    return resources.files("govgate").joinpath(f"data/{PLAN_RESOURCE}").read_text(encoding="utf-8")


@dataclass(frozen=True)
class DemoContent:
    governed: int
    protected: int
    sample_rows: int


def build(conn: Connection, rows_per_table: int, actor: str):
    """Everything the demo holds, in the caller's transaction; returns (content, frozen
    proposal).
    """
    content = build_content(conn, rows_per_table)
    setup.create_missing(conn, actor, register_via=setup.VIA_SQL)  # no server: SQL registration
    conn.execute(s.settings.insert().values(key="demo", value="oneroof"))
    seed_governance(conn)
    grant_demo_permissions(conn)
    plan = parse_plan(plan_text(), "plans/oneroof-authmodel.yaml")
    return content, proposal.freeze(conn, plan, actor).proposal


def build_content(conn: Connection, rows_per_table: int = 5) -> DemoContent:
    """Create the replica's Directus and app tables and fill them (no governance tables)."""
    dx.create_tables(conn)  # Directus's own DDL: the replica's system tables are the real ones
    _directus_rows(conn)
    app_tables = [(t, d) for d, names in DOMAINS.items() for t in names] + [
        (t, "protected") for t in PROTECTED
    ]
    total = 0
    for name, domain in app_tables:
        total += _app_table(conn, name, domain, rows_per_table)
    return DemoContent(sum(map(len, DOMAINS.values())), len(PROTECTED), total)


def _app_table(conn: Connection, name: str, domain: str, rows: int) -> int:
    table = sa.Table(
        name,
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("notes", sa.Text),
    )
    table.create(conn)
    batch = [
        {
            "id": i,
            "name": f"{name} #{i}",
            "status": ("active", "draft", "archived")[i % 3],
            "notes": f"sample {domain} record",
        }
        for i in range(1, rows + 1)
    ]
    for start in range(0, len(batch), 5000):
        conn.execute(table.insert(), batch[start : start + 5000])
    conn.execute(
        dx.collections.insert().values(
            collection=name, icon="folder", note=f"{domain} data", accountability="all"
        )
    )
    return rows


def _directus_rows(conn: Connection) -> None:
    for key, (email, first, policy) in USERS.items():
        pid, rid = demo_uuid(f"policy:{key}"), demo_uuid(f"role:{key}")
        admin = key == "admin"
        conn.execute(
            dx.policies.insert().values(
                id=pid,
                name=policy,
                icon="badge",
                admin_access=admin,
                app_access=key != "agent",
                enforce_tfa=False,
            )
        )
        conn.execute(dx.roles.insert().values(id=rid, name=policy, icon="supervised_user_circle"))
        conn.execute(
            dx.access.insert().values(id=demo_uuid(f"access:{key}"), role=rid, policy=pid, sort=1)
        )
        conn.execute(
            dx.users.insert().values(
                id=demo_uuid(f"user:{key}"),
                first_name=first,
                last_name="(demo)",
                email=email,
                status="active",
                role=rid,
            )
        )


def seed_governance(conn: Connection) -> None:
    """Authorities, duties and governed collections of One-Roof (tables must exist)."""
    conn.execute(
        s.authorities.insert(), [{"code": c, "name": n, "active": True} for c, n in AUTHORITIES]
    )
    conn.execute(s.duties.insert(), [{"code": c, "title": t} for c, t in DUTIES])
    conn.execute(
        s.governed_collections.insert(),
        [{"collection": t, "domain": d} for d, names in DOMAINS.items() for t in names],
    )


def grant_demo_permissions(conn: Connection) -> None:
    """The approver may create approvals; the agent may only read them."""
    approver, agent = demo_uuid("policy:approver"), demo_uuid("policy:agent")
    rows = [
        (approver, "os_proposal_approvals", "create"),
        (approver, "os_proposal_approvals", "read"),
        (approver, "os_proposals", "read"),
        (agent, "os_proposal_approvals", "read"),
    ]
    conn.execute(
        dx.permissions.insert(),
        [
            {
                "policy": p,
                "collection": c,
                "action": a,
                "fields": "*",
                "permissions": None,
                "validation": None,
                "presets": None,
            }
            for p, c, a in rows
        ],
    )


@dataclass(frozen=True)
class DemoResult:
    url: str
    governed: int
    protected: int
    sample_rows: int
    proposal: proposal.Proposal
    files: tuple[str, ...] = ()  # the approver's key, allowed_signers, govgate.toml (SQLite)
    kept: tuple[str, ...] = ()  # files of those names that exist and were left alone


def create(url: str, *, actor: str, rows_per_table: int = 5) -> DemoResult:
    """Build the One-Roof replica at URL in one transaction.

    An existing SQLite demo file is rebuilt; any other existing file, or a server
    database that already holds tables, is refused (BadInput). A failed build leaves
    no SQLite file behind.
    """
    if rows_per_table < 1:
        raise BadInput("--rows must be at least 1")
    with Database(url, create=True) as db:
        sqlite = db.engine.dialect.name == "sqlite"
        path = db.engine.url.database
        _clear_sqlite_demo(db, path) if sqlite else _require_empty(db, url)
        try:
            with db.transaction() as conn:
                content, frozen = build(conn, rows_per_table, actor)
        except BaseException:
            if sqlite:  # the transaction rolled back; leave no empty file behind either
                db.close()
                Path(path).unlink(missing_ok=True)
            raise
    files, kept = demo_files.write(Path(path).parent, Path(path)) if sqlite else ((), ())
    return DemoResult(
        mask_url(url),
        content.governed,
        content.protected,
        content.sample_rows,
        frozen,
        files,
        kept,
    )


def _clear_sqlite_demo(db: Database, path: str) -> None:
    if not Path(path).exists():
        return
    with db.transaction(Mode.READ) as conn:
        names = set(sa.inspect(conn).get_table_names())
        is_demo = (
            "os_settings" in names
            and conn.execute(
                sa.select(s.settings.c.value).where(s.settings.c.key == "demo")
            ).scalar()
            == "oneroof"
        )
    db.engine.dispose()
    if not is_demo and names:
        raise BadInput(
            f"{path} exists and is not a govgate demo",
            hint="choose another path; govgate only rebuilds its own demo files",
        )
    os.remove(path)


def _require_empty(db: Database, url: str) -> None:
    with db.transaction(Mode.READ) as conn:
        names = sa.inspect(conn).get_table_names()
    if names:
        raise BadInput(
            f"the database at {mask_url(url)} already holds {len(names)} tables",
            hint="build the demo into an empty database",
        )
