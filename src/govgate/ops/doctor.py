"""`govgate doctor`: connectivity, schema version, and what the agent can write."""

from __future__ import annotations

import os
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..config import Settings
from ..db import custody, heartbeat
from ..db import schema as s
from ..db.engine import Mode
from ..db.privileges import privileges
from ..db.session import session
from ..directus import identity
from ..directus import tables as dx
from ..errors import GovgateError
from ..guards import confinement as confine
from ..guards import containment
from ..runbook import proposal as prop
from ..urls import mask_url, parse_url


@dataclass(frozen=True)
class Finding:
    name: str
    ok: bool
    detail: str
    warning: bool = False  # ok, but worth an operator's attention


@dataclass(frozen=True)
class DoctorResult:
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.findings)


SENSITIVE = (
    "os_proposal_approvals",
    "os_authorities",
    "os_governed_collections",
    "os_duties",
    "os_settings",
    "os_outbox",
    "directus_permissions",
    "directus_policies",
    "directus_access",
    "directus_activity",
)  # forged activity would fake an approval's provenance


def schema_findings(conn: Connection) -> list[Finding]:
    present = set(sa.inspect(conn).get_table_names())
    missing = [t for t in s.ALL_TABLES if t not in present]
    if missing:
        return [
            Finding("schema", False, f"missing tables: {', '.join(missing)} — run `govgate init`")
        ]
    version = conn.execute(
        sa.select(s.settings.c.value).where(s.settings.c.key == "schema_version")
    ).scalar()
    ok = version == s.SCHEMA_VERSION
    return [
        Finding(
            "schema",
            ok,
            f"governance schema version {version}"
            + ("" if ok else f" (this govgate expects {s.SCHEMA_VERSION})"),
        )
    ]


def agent_findings(
    conn: Connection, settings: Settings, protected: tuple[str, ...]
) -> list[Finding]:
    """What the agent's connection can and cannot write."""
    if conn.dialect.name == "sqlite":
        path = parse_url(settings.agent_url).database
        writable = os.access(path, os.W_OK)
        return [
            Finding(
                "agent privileges",
                True,
                f"SQLite has no roles: any process that can write {path} "
                f"({'writable' if writable else 'read-only'} here) can write every table; "
                "rollouts are confined by an authorizer instead",
            )
        ]
    role = conn.execute(sa.text("SELECT current_user")).scalar()
    names = set(sa.inspect(conn).get_table_names())
    tables = [
        t
        for t in (*SENSITIVE, *sorted(confine.ROLLOUT_TABLES | confine.DIRECTUS_TABLES))
        if t in names
    ]
    tables += confine.protected_tables(conn, protected)
    out = []
    through_function = custody.appends_through_function(conn)
    if through_function:
        can_append = conn.execute(
            sa.text("SELECT has_function_privilege(current_user, :f, 'EXECUTE')"),
            {"f": custody.APPEND_SIGNATURE},
        ).scalar()
        out.append(
            Finding(
                "agent on the audit trail",
                bool(can_append),
                f"role {role} {'can' if can_append else 'cannot'} append through os_audit_append"
                + ("" if can_append else " — the rollout needs it: run `govgate init --roles`"),
            )
        )
    for table in tables:
        # the bare privileges: how each is reached is the gate's to explain
        can = [p.split(" (")[0] for p in privileges(conn, table, ("INSERT", "UPDATE", "DELETE"))]
        # os_audit is written through os_audit_append alone (v2); os_approval_uses takes the
        # rollout's co-approvals, each checked by the evidence trigger (v3).
        indirect = {"os_audit"} if through_function else set()
        should = table not in indirect and (
            table in confine.ROLLOUT_TABLES or table in confine.DIRECTUS_TABLES
        )
        ok = bool(can) if should else not can
        verb = ("can " + "/".join(can).lower()) if can else "cannot write"
        out.append(
            Finding(
                f"agent on {table}",
                ok,
                f"role {role} {verb} {table}"
                + ("" if ok else (" — it must not" if can else " — the rollout needs it")),
            )
        )
    return out


# Directus system collections through which a user could give itself more rights.
_ESCALATION = (
    "directus_permissions",
    "directus_policies",
    "directus_access",
    "directus_roles",
    "directus_users",
)


def directus_findings(conn: Connection, settings: Settings) -> list[Finding]:
    """Whether the configured Directus agent user could create approvals through the API.

    Looks at every policy that applies to the user: its own, its role's and the role's
    parents', and the public policy. It must have no admin access, no create/update on
    os_proposal_approvals, and no create/update on the collections that hand out rights.
    Also checks that Directus records activity on the approvals collection, without
    which no approval can ever be proven to come from a person.
    """
    if not identity.is_directus(conn):
        return [Finding("directus", True, "not a Directus database")]
    out = _registration_findings(conn)
    user = settings.directus_agent_user
    uid = identity.user_id(conn, user)
    if uid is None:
        return out + [
            Finding(
                "directus agent user",
                True,
                "the agent's Directus user is "
                + ("not configured" if not user else f"unknown: {user}")
                + " — set [agent] directus_user in govgate.toml so its approvals are refused",
                warning=True,
            )
        ]
    policies = identity.policies_of(conn, uid)
    ids = [p for p, _ in policies]
    admin = [p for p, is_admin in policies if is_admin]
    can = identity.policy_actions(conn, ids, s.approvals.name)
    escalate = sorted(
        f"{a} {c}"
        for c in _ESCALATION
        for a in identity.policy_actions(conn, ids, c) & {"create", "update"}
    )
    if admin:
        out.append(
            Finding(
                "directus agent user",
                False,
                f"Directus user {user} has admin access — it could "
                "create approvals; give it an API-only policy that only reads them",
            )
        )
    else:
        bad = {"create", "update"} & can
        detail = (
            f"Directus user {user} may {', '.join(sorted(can)) or 'not touch'} {s.approvals.name}"
        )
        out.append(
            Finding(
                "directus agent user",
                not bad,
                detail
                + (
                    " — it could create approvals; give it a policy that only reads them"
                    if bad
                    else ": it cannot create approvals"
                ),
            )
        )
        if escalate:
            out.append(
                Finding(
                    "directus agent rights",
                    False,
                    f"Directus user {user} may {', '.join(escalate)} — it could give itself the "
                    f"right "
                    "to create approvals; remove those permissions from its policies",
                )
            )
    if identity.app_access(conn, ids):
        out.append(
            Finding(
                "directus agent app access",
                True,
                f"Directus user {user} can open the Directus app "
                "(and takes a licence seat); the agent only needs the API: set app_access off",
                warning=True,
            )
        )
    return out


def _readable(conn: Connection, table: str) -> bool:
    if conn.dialect.name == "sqlite":
        return True
    return bool(privileges(conn, table, ("SELECT",)))


def _registration_findings(conn: Connection) -> list[Finding]:
    if not _readable(conn, "directus_collections"):
        return []
    c, f = dx.collections.c, dx.fields.c
    row = conn.execute(sa.select(c.accountability).where(c.collection == s.approvals.name)).first()
    if row is None:
        return [
            Finding(
                "directus approvals collection",
                False,
                f"{s.approvals.name} is not registered in "
                "Directus — run `govgate init` (it registers the governance tables)",
            )
        ]
    if row.accountability is None:
        return [
            Finding(
                "directus approvals collection",
                False,
                f"Directus does not record activity on "
                f"{s.approvals.name} (accountability is off), so no approval can be proven to "
                "come from a person — set the collection's Activity & Versioning to track activity",
            )
        ]
    if not _readable(conn, "directus_fields"):
        return [
            Finding(
                "directus approvals collection",
                True,
                f"{s.approvals.name} is registered and Directus "
                "records who creates each approval (activity)",
            )
        ]
    specials = dict(
        conn.execute(
            sa.select(f.field, f.special).where(
                f.collection == s.approvals.name, f.field.in_(("approved_by", "approved_at"))
            )
        ).all()
    )
    missing = [
        name
        for name, want in (("approved_by", "user-created"), ("approved_at", "date-created"))
        if want not in (specials.get(name) or "").split(",")
    ]
    if missing:
        return [
            Finding(
                "directus approvals collection",
                True,
                f"{', '.join(missing)} of {s.approvals.name} "
                "are not filled by Directus (user-created / date-created) — the gate relies on "
                "Directus's activity, but the app will not show who approved",
                warning=True,
            )
        ]
    return [
        Finding(
            "directus approvals collection",
            True,
            f"{s.approvals.name} is registered; Directus records "
            "who creates each approval (activity) and fills approved_by/approved_at",
        )
    ]


def connection_finding(name: str, url: str, error: str | None) -> Finding:
    return Finding(
        name, error is None, f"{mask_url(url)}" + (f": {error}" if error else " reachable")
    )


def run(settings: Settings) -> DoctorResult:
    """Every finding, for the main connection and the agent's; an unreachable one is a finding."""
    findings: list[Finding] = []
    for name, url, agent in (
        ("database", settings.db_url, False),
        ("agent connection", settings.agent_url, True),
    ):
        try:
            with session(url, Mode.READ) as conn:
                conn.execute(sa.text("SELECT 1"))
                findings.append(connection_finding(name, url, None))
                if agent:
                    findings += _agent_side(conn, settings)
        except GovgateError as exc:
            findings.append(connection_finding(name, url, exc.message))
    return DoctorResult((*findings, containment_finding(settings)))


def containment_finding(settings: Settings) -> Finding:
    """Whether the kernel contains a rollout here: a failure where `required` keeps the agent
    from running one, a warning where rollouts run without it."""
    found = containment.decide(settings)
    quiet = found.contained or found.refuses  # contained: fine; refusing: a failure, not a warning
    return Finding("kernel containment", not found.refuses, found.detail, warning=not quiet)


def _agent_side(conn: Connection, settings: Settings) -> list[Finding]:
    pid = prop.current_id(conn) if "os_proposals" in sa.inspect(conn).get_table_names() else None
    protected = prop.load(conn, pid).protected if pid else ()
    return [
        *schema_findings(conn),
        *agent_findings(conn, settings, protected),
        *directus_findings(conn, settings),
        liveness_finding(conn, settings),
    ]


def liveness_finding(conn: Connection, settings: Settings) -> Finding:
    """Whether an agent was seen lately: a warning when not, never a failure (doctor runs
    before the agent is started, too)."""
    seen = heartbeat.liveness(heartbeat.sightings(conn), settings.agent_stale_after)
    return Finding("agent process", True, seen.words, warning=not seen.alive)
