"""Custody of the evidence behind approvals (govgate's schema revision v3).

Triggers on PostgreSQL, SQLite, MySQL and MariaDB, for every role but the tables' owner
(as in `custody`):

- A signature (`os_approval_signatures`) is added only to an approval that exists and was
  never used, and is never changed; it is deleted only with an approval that was never used.
- A use of an approval (`os_approval_uses`) is recorded only for a rollout being recorded
  (status `applied`, not finished yet) and an approval of that rollout's proposal with its
  exact hash: the co-approvals of a quorum are recorded by the rollout that used them.
- This database's id (`os_settings.database_id`, written once by `init`) never changes:
  a signed approval names it, so one signed for another database never counts here.

`database_id` reads the id; `ensure_database_id` writes it once.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import mysql_custody
from . import schema as s
from .custody import _PG_OWNER_CHECK, run_ddl

_PG = (
    f"""
CREATE OR REPLACE FUNCTION os_custody_evidence() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
{_PG_OWNER_CHECK}
    IF TG_TABLE_NAME = 'os_approval_signatures' THEN
        IF TG_OP = 'INSERT' AND EXISTS (
               SELECT 1 FROM os_proposal_approvals a WHERE a.id = NEW.approval_id)
           AND NOT EXISTS (SELECT 1 FROM os_approval_uses u WHERE u.approval_id = NEW.approval_id)
        THEN
            RETURN NEW;
        END IF;
        IF TG_OP = 'DELETE' AND NOT EXISTS (
               SELECT 1 FROM os_approval_uses u WHERE u.approval_id = OLD.approval_id) THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'govgate custody: a signature is added once to an unused approval '
            'and never changed' USING ERRCODE = 'check_violation';
    END IF;
    IF TG_TABLE_NAME = 'os_approval_uses' AND TG_OP = 'INSERT' THEN
        IF EXISTS (SELECT 1 FROM os_rollouts r JOIN os_proposal_approvals a
                     ON a.proposal_id = r.proposal_id AND a.proposal_sha256 = r.proposal_sha256
                   WHERE r.id = NEW.rollout_id AND a.id = NEW.approval_id
                     AND r.status = 'applied' AND r.finished_at IS NULL) THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'govgate custody: approval % is used only by a rollout of its proposal, '
            'while it is recorded', NEW.approval_id USING ERRCODE = 'check_violation';
    END IF;
    IF TG_TABLE_NAME = 'os_settings' AND COALESCE(OLD.key, '') <> 'database_id' THEN
        RETURN COALESCE(NEW, OLD);
    END IF;
    RAISE EXCEPTION 'govgate custody: this database''s id never changes (% on %)',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'check_violation';
END $$""",
    "DROP TRIGGER IF EXISTS os_custody_evidence ON os_approval_signatures",
    "CREATE TRIGGER os_custody_evidence BEFORE INSERT OR UPDATE OR DELETE "
    "ON os_approval_signatures FOR EACH ROW EXECUTE FUNCTION os_custody_evidence()",
    "DROP TRIGGER IF EXISTS os_custody_evidence ON os_approval_uses",
    "CREATE TRIGGER os_custody_evidence BEFORE INSERT ON os_approval_uses "
    "FOR EACH ROW EXECUTE FUNCTION os_custody_evidence()",
    "DROP TRIGGER IF EXISTS os_custody_evidence ON os_settings",
    "CREATE TRIGGER os_custody_evidence BEFORE UPDATE OR DELETE ON os_settings "
    "FOR EACH ROW EXECUTE FUNCTION os_custody_evidence()",
)

_SQLITE = (
    """CREATE TRIGGER IF NOT EXISTS os_signatures_custody_insert
BEFORE INSERT ON os_approval_signatures
BEGIN
    SELECT RAISE(ABORT, 'govgate custody: a signature is added once to an unused approval')
        WHERE NOT EXISTS (SELECT 1 FROM os_proposal_approvals a WHERE a.id = NEW.approval_id)
           OR EXISTS (SELECT 1 FROM os_approval_uses u WHERE u.approval_id = NEW.approval_id);
END""",
    """CREATE TRIGGER IF NOT EXISTS os_signatures_custody_update
BEFORE UPDATE ON os_approval_signatures
BEGIN
    SELECT RAISE(ABORT, 'govgate custody: a signature never changes');
END""",
    """CREATE TRIGGER IF NOT EXISTS os_signatures_custody_delete
BEFORE DELETE ON os_approval_signatures
BEGIN
    SELECT RAISE(ABORT, 'govgate custody: the signature of a used approval is history')
        WHERE EXISTS (SELECT 1 FROM os_approval_uses u WHERE u.approval_id = OLD.approval_id);
END""",
    """CREATE TRIGGER IF NOT EXISTS os_approval_uses_custody_insert
BEFORE INSERT ON os_approval_uses
BEGIN
    SELECT RAISE(ABORT, 'govgate custody: an approval is used only by a rollout of its proposal')
        WHERE NOT EXISTS (
            SELECT 1 FROM os_rollouts r JOIN os_proposal_approvals a
              ON a.proposal_id = r.proposal_id AND a.proposal_sha256 = r.proposal_sha256
            WHERE r.id = NEW.rollout_id AND a.id = NEW.approval_id
              AND r.status = 'applied' AND r.finished_at IS NULL);
END""",
    """CREATE TRIGGER IF NOT EXISTS os_settings_custody_update BEFORE UPDATE ON os_settings
BEGIN
    SELECT RAISE(ABORT, 'govgate custody: this database''s id never changes')
        WHERE OLD.key = 'database_id';
END""",
    """CREATE TRIGGER IF NOT EXISTS os_settings_custody_delete BEFORE DELETE ON os_settings
BEGIN
    SELECT RAISE(ABORT, 'govgate custody: this database''s id never changes')
        WHERE OLD.key = 'database_id';
END""",
)


def install(conn: Connection) -> None:
    """Create or replace the evidence triggers (idempotent; no rows touched)."""
    run_ddl(conn, _PG, _SQLITE, mysql_custody.EVIDENCE)


def database_id(conn: Connection) -> str | None:
    """This database's id, written once by `init` (None on a database from before v3)."""
    return conn.execute(
        sa.select(s.settings.c.value).where(s.settings.c.key == s.DATABASE_ID)
    ).scalar()


def ensure_database_id(conn: Connection) -> str | None:
    """Write this database's id when it has none; returns the id it wrote, else None."""
    if database_id(conn) is not None:
        return None
    new = str(uuid.uuid4())
    conn.execute(s.settings.insert().values(key=s.DATABASE_ID, value=new))
    return new


def grant(conn: Connection, agent: str, approver: str) -> None:
    """PostgreSQL: the approver adds signatures and no longer touches Directus's own records;
    the agent records the co-approvals a rollout used. Roles that do not exist are skipped."""
    statements = {
        agent: "GRANT SELECT ON os_approval_signatures TO {r}; "
        "GRANT INSERT ON os_approval_uses TO {r}",
        approver: "GRANT SELECT, INSERT ON os_approval_signatures TO {r}; "
        "GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {r}; "
        "REVOKE ALL ON directus_activity, directus_revisions FROM {r}",
    }
    names = set(sa.inspect(conn).get_table_names())
    for role, sql in statements.items():
        if "directus_activity" not in names:
            sql = sql.replace("; REVOKE ALL ON directus_activity, directus_revisions FROM {r}", "")
        conn.exec_driver_sql(
            f"DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN "
            f"{sql.format(r=role)}; END IF; END $$"
        )


SIGNERS_FILE = "allowed_signers"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")


def export_files(conn: Connection, allowed_signers: str | None) -> dict[str, str]:
    """The files an audit export adds so that anyone with OpenSSH can check each signed
    approval: `<approval-id>.json` (the payload, byte for byte), `<approval-id>.sig` (the
    SSHSIG signature) and `allowed_signers` (a copy of the trust root, when configured).

    Passkey signatures are left out: ssh-keygen cannot check them. An approval id that is
    not a plain file name is written under `approval-<sha256 of the id, 16 hex>`.
    Raises OSError when the trust root cannot be read.
    """
    if s.approval_signatures.name not in sa.inspect(conn).get_table_names():
        return {}
    t = s.approval_signatures.c
    rows = conn.execute(
        sa.select(t.approval_id, t.payload, t.signature)
        .where(t.kind == "sshsig")
        .order_by(t.approval_id)
    )
    files: dict[str, str] = {}
    for approval_id, payload, signature in rows:
        stem = (
            approval_id
            if _SAFE_NAME.match(approval_id)
            else ("approval-" + hashlib.sha256(approval_id.encode()).hexdigest()[:16])
        )
        files[f"{stem}.json"] = payload
        files[f"{stem}.sig"] = signature
    if files and allowed_signers:
        files[SIGNERS_FILE] = Path(allowed_signers).read_text(encoding="utf-8")
    return files


def is_export_file(name: str) -> bool:
    """Whether NAME is a file `export_files` may write."""
    return name == SIGNERS_FILE or (
        name.endswith((".json", ".sig")) and bool(_SAFE_NAME.match(name.rsplit(".", 1)[0]))
    )
