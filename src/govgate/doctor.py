"""`govgate doctor`: connectivity, schema version, and what the agent can write."""

from __future__ import annotations

import os
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.engine import Connection

from . import confine
from . import directus as dx
from . import schema as s
from .config import Settings, mask_url


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


SENSITIVE = ("os_proposal_approvals", "os_authorities", "os_governed_collections", "os_duties",
             "os_settings", "os_outbox", "directus_permissions", "directus_policies", "directus_access")


def schema_findings(conn: Connection) -> list[Finding]:
    present = set(sa.inspect(conn).get_table_names())
    missing = [t for t in s.ALL_TABLES if t not in present]
    if missing:
        return [Finding("schema", False, f"missing tables: {', '.join(missing)} — run `govgate init`")]
    version = conn.execute(sa.select(s.settings.c.value).where(s.settings.c.key == "schema_version")).scalar()
    ok = version == s.SCHEMA_VERSION
    return [Finding("schema", ok, f"governance schema version {version}"
                    + ("" if ok else f" (this govgate expects {s.SCHEMA_VERSION})"))]


def agent_findings(conn: Connection, settings: Settings, protected: tuple[str, ...]) -> list[Finding]:
    """What the agent's connection can and cannot write."""
    if conn.dialect.name != "postgresql":
        path = make_url(settings.agent_url).database
        writable = os.access(path, os.W_OK)
        return [Finding("agent privileges", True,
                        f"SQLite has no roles: any process that can write {path} "
                        f"({'writable' if writable else 'read-only'} here) can write every table; "
                        "rollouts are confined by an authorizer instead")]
    role = conn.execute(sa.text("SELECT current_user")).scalar()
    names = set(sa.inspect(conn).get_table_names())
    tables = [t for t in (*SENSITIVE, *sorted(confine.ROLLOUT_TABLES | confine.DIRECTUS_TABLES)) if t in names]
    tables += confine.protected_tables(conn, protected)
    out = []
    for table in tables:
        can = [p for p in ("INSERT", "UPDATE", "DELETE") if conn.execute(
            sa.text("SELECT has_table_privilege(current_user, :t, :p)"), {"t": table, "p": p}).scalar()]
        should = table in confine.ROLLOUT_TABLES or table in confine.DIRECTUS_TABLES
        ok = bool(can) if should else not can
        verb = ("can " + "/".join(can).lower()) if can else "cannot write"
        out.append(Finding(f"agent on {table}", ok, f"role {role} {verb} {table}"
                           + ("" if ok else (" — it must not" if can else " — the rollout needs it"))))
    return out


def directus_findings(conn: Connection, settings: Settings) -> list[Finding]:
    """Whether the configured Directus agent user could create approvals through the API."""
    if not dx.is_directus(conn):
        return [Finding("directus", True, "not a Directus database")]
    user = settings.directus_agent_user
    uid = dx.user_id(conn, user)
    if uid is None:
        return [Finding("directus agent user", True,
                        f"the agent's Directus user is {'not configured' if not user else 'unknown: ' + user}"
                        " — set [agent] directus_user in govgate.toml so its approvals are refused",
                        warning=True)]
    policies = dx.policies_of(conn, uid)
    admin = [p for p, is_admin in policies if is_admin]
    can = dx.policy_actions(conn, [p for p, _ in policies], s.approvals.name)
    bad = admin or ({"create", "update"} & can)
    detail = (f"Directus user {user} has admin access" if admin else
              f"Directus user {user} may {', '.join(sorted(can)) or 'not touch'} {s.approvals.name}")
    return [Finding("directus agent user", not bad,
                    detail + (" — it could create approvals; give it a read-only API policy" if bad else ""))]


def connection_finding(name: str, url: str, error: str | None) -> Finding:
    return Finding(name, error is None, f"{mask_url(url)}" + (f": {error}" if error else " reachable"))
