"""Custody enforced by the database: journal rows change only in legal ways, whatever the grants.

Triggers on PostgreSQL, SQLite, MySQL and MariaDB (db/mysql_custody.py) keep these rules
for every role but the tables' owner:

- A rollout row is born `applied`, names an approval that exists for its proposal with
  its exact hash, and a proposal that exists with that hash; the approval was never used.
  Its use is recorded in `os_approval_uses` (approval id is the key: used once, ever).
- A rollout row changes only to finish it (post-fingerprint, report, timings, while it has
  none) or from `applied` to `rolled_back`; what it named, when and by whom never changes.
- Nobody deletes a rollout or a use, updates an approval, or deletes an approval once used.

PostgreSQL lets the owner (and superusers) through: history is theirs to repair, and the
audit trail's checkpoints outside the database show what they changed (docs/SECURITY.md).
SQLite has no roles: whoever can write the file can drop the triggers, and the notes say so.
MySQL and MariaDB have no table owner: their triggers hold for every login, and only a
login with the TRIGGER privilege (which govgate's roles lack) can drop them.

`HEAD` is govgate's own schema revision (Alembic, `db/migrations/`); the gate refuses to
run on a database whose revision is older.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import mysql_custody
from .mysql import is_mysql

HEAD = "v4"
VERSION_TABLE = "os_alembic_version"
USED_TRIGGER = "os_rollouts_custody_used"

_PG_OWNER_CHECK = """
    IF current_user = (SELECT r.rolname FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner
                       WHERE c.oid = TG_RELID)
       OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RETURN COALESCE(NEW, OLD);
    END IF;
"""

_PG = (
    """
CREATE OR REPLACE FUNCTION os_custody_rollout_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM 'applied' THEN
        RAISE EXCEPTION 'govgate custody: rollout % must be recorded as applied', NEW.id
            USING ERRCODE = 'check_violation';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM os_proposals p
                   WHERE p.id = NEW.proposal_id AND p.sha256 = NEW.proposal_sha256) THEN
        RAISE EXCEPTION 'govgate custody: rollout % names no proposal % with that hash',
            NEW.id, NEW.proposal_id USING ERRCODE = 'check_violation';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM os_proposal_approvals a
                   WHERE a.id = NEW.approval_id AND a.proposal_id = NEW.proposal_id
                     AND a.proposal_sha256 = NEW.proposal_sha256) THEN
        RAISE EXCEPTION 'govgate custody: rollout % names no approval % of that proposal '
            'with its hash', NEW.id, NEW.approval_id USING ERRCODE = 'check_violation';
    END IF;
    IF EXISTS (SELECT 1 FROM os_approval_uses u WHERE u.approval_id = NEW.approval_id) THEN
        RAISE EXCEPTION 'govgate custody: approval % was used already; an approval is used once',
            NEW.approval_id USING ERRCODE = 'check_violation';
    END IF;
    INSERT INTO os_approval_uses (approval_id, rollout_id, used_at)
        VALUES (NEW.approval_id, NEW.id, NEW.started_at);
    RETURN NEW;
END $$""",
    f"""
CREATE OR REPLACE FUNCTION os_custody_rollout_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
{_PG_OWNER_CHECK}
    IF (NEW.id, NEW.proposal_id, NEW.proposal_sha256, NEW.approval_id, NEW.pre_fingerprint,
        NEW.created_objects, NEW.records, NEW.started_at, NEW.applied_by)
       IS DISTINCT FROM
       (OLD.id, OLD.proposal_id, OLD.proposal_sha256, OLD.approval_id, OLD.pre_fingerprint,
        OLD.created_objects, OLD.records, OLD.started_at, OLD.applied_by) THEN
        RAISE EXCEPTION 'govgate custody: what rollout % named never changes', OLD.id
            USING ERRCODE = 'check_violation';
    END IF;
    IF OLD.status = 'applied' AND NEW.status = 'applied' AND OLD.finished_at IS NULL
       AND NEW.rolled_back_at IS NULL AND NEW.rolled_back_by IS NULL THEN
        RETURN NEW;
    END IF;
    IF OLD.status = 'applied' AND NEW.status = 'rolled_back' AND OLD.finished_at IS NOT NULL
       AND (NEW.post_fingerprint, NEW.finished_at, NEW.duration_ms, NEW.report)
           IS NOT DISTINCT FROM
           (OLD.post_fingerprint, OLD.finished_at, OLD.duration_ms, OLD.report) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'govgate custody: rollout % may only be finished once or rolled back once',
        OLD.id USING ERRCODE = 'check_violation';
END $$""",
    f"""
CREATE OR REPLACE FUNCTION os_custody_refuse() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
{_PG_OWNER_CHECK}
    IF TG_TABLE_NAME = 'os_proposal_approvals' AND TG_OP = 'DELETE'
       AND NOT EXISTS (SELECT 1 FROM os_approval_uses u WHERE u.approval_id = OLD.id) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'govgate custody: % on % is history and never changes', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'check_violation';
END $$""",
    """
CREATE OR REPLACE FUNCTION os_audit_append(
    p_seq integer, p_at text, p_kind text, p_actor text, p_proposal text, p_rollout text,
    p_detail text, p_prev text, p_hash text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    last_seq integer;
    last_hash text;
    trusted boolean;
BEGIN
    -- The tables' owner and superusers (members of every role) append any kind.
    SELECT r.rolsuper OR pg_has_role(session_user, c.relowner, 'MEMBER') INTO trusted
      FROM pg_roles r, pg_class c
     WHERE r.rolname = session_user AND c.oid = 'os_audit'::regclass;
    IF NOT trusted AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'govgate_agent')
       AND pg_has_role(session_user, 'govgate_agent', 'MEMBER')
       AND p_kind NOT IN ('rollout', 'abort', 'rollback', 'forced') THEN
        RAISE EXCEPTION 'govgate custody: the agent may not append % events to the audit trail',
            p_kind USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT trusted AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'govgate_approver')
       AND pg_has_role(session_user, 'govgate_approver', 'MEMBER')
       AND NOT (EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'govgate_agent')
                AND pg_has_role(session_user, 'govgate_agent', 'MEMBER'))
       AND p_kind <> 'ratification' THEN
        RAISE EXCEPTION 'govgate custody: an approver may append only ratifications, not %',
            p_kind USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT seq, hash INTO last_seq, last_hash FROM os_audit ORDER BY seq DESC LIMIT 1 FOR UPDATE;
    IF p_seq IS DISTINCT FROM COALESCE(last_seq, 0) + 1
       OR p_prev IS DISTINCT FROM COALESCE(last_hash, repeat('0', 64)) THEN
        RAISE EXCEPTION 'govgate custody: audit row % does not follow the last one (%)',
            p_seq, COALESCE(last_seq, 0) USING ERRCODE = 'check_violation';
    END IF;
    INSERT INTO os_audit (seq, at, kind, actor, proposal_id, rollout_id, detail, prev_hash, hash)
        VALUES (p_seq, p_at, p_kind, p_actor, p_proposal, p_rollout, p_detail, p_prev, p_hash);
END $$""",
    "REVOKE ALL ON FUNCTION os_audit_append(integer, text, text, text, text, text, text, text, "
    "text) FROM PUBLIC",
    "DROP TRIGGER IF EXISTS os_custody_insert ON os_rollouts",
    "CREATE TRIGGER os_custody_insert BEFORE INSERT ON os_rollouts "
    "FOR EACH ROW EXECUTE FUNCTION os_custody_rollout_insert()",
    "DROP TRIGGER IF EXISTS os_custody_update ON os_rollouts",
    "CREATE TRIGGER os_custody_update BEFORE UPDATE ON os_rollouts "
    "FOR EACH ROW EXECUTE FUNCTION os_custody_rollout_update()",
    "DROP TRIGGER IF EXISTS os_custody_delete ON os_rollouts",
    "CREATE TRIGGER os_custody_delete BEFORE DELETE ON os_rollouts "
    "FOR EACH ROW EXECUTE FUNCTION os_custody_refuse()",
    "DROP TRIGGER IF EXISTS os_custody_change ON os_approval_uses",
    "CREATE TRIGGER os_custody_change BEFORE UPDATE OR DELETE ON os_approval_uses "
    "FOR EACH ROW EXECUTE FUNCTION os_custody_refuse()",
    "DROP TRIGGER IF EXISTS os_custody_change ON os_proposal_approvals",
    "CREATE TRIGGER os_custody_change BEFORE UPDATE OR DELETE ON os_proposal_approvals "
    "FOR EACH ROW EXECUTE FUNCTION os_custody_refuse()",
)

_SQLITE = (
    """CREATE TRIGGER IF NOT EXISTS os_rollouts_custody_insert BEFORE INSERT ON os_rollouts
BEGIN
    SELECT RAISE(ABORT, 'govgate custody: a rollout must be recorded as applied')
        WHERE NEW.status IS NOT 'applied';
    SELECT RAISE(ABORT, 'govgate custody: the rollout names no proposal with that hash')
        WHERE NOT EXISTS (SELECT 1 FROM os_proposals p
                          WHERE p.id = NEW.proposal_id AND p.sha256 = NEW.proposal_sha256);
    SELECT RAISE(ABORT, 'govgate custody: the rollout names no approval with its hash')
        WHERE NOT EXISTS (SELECT 1 FROM os_proposal_approvals a
                          WHERE a.id = NEW.approval_id AND a.proposal_id = NEW.proposal_id
                            AND a.proposal_sha256 = NEW.proposal_sha256);
    SELECT RAISE(ABORT, 'govgate custody: that approval was used already, and is used once')
        WHERE EXISTS (SELECT 1 FROM os_approval_uses u WHERE u.approval_id = NEW.approval_id);
END""",
    f"""CREATE TRIGGER IF NOT EXISTS {USED_TRIGGER} AFTER INSERT ON os_rollouts
BEGIN
    INSERT INTO os_approval_uses (approval_id, rollout_id, used_at)
        VALUES (NEW.approval_id, NEW.id, NEW.started_at);
END""",
    """CREATE TRIGGER IF NOT EXISTS os_rollouts_custody_update BEFORE UPDATE ON os_rollouts
BEGIN
    SELECT RAISE(ABORT, 'govgate custody: what a rollout named never changes')
        WHERE NEW.id IS NOT OLD.id OR NEW.proposal_id IS NOT OLD.proposal_id
           OR NEW.proposal_sha256 IS NOT OLD.proposal_sha256
           OR NEW.approval_id IS NOT OLD.approval_id
           OR NEW.pre_fingerprint IS NOT OLD.pre_fingerprint
           OR NEW.created_objects IS NOT OLD.created_objects OR NEW.records IS NOT OLD.records
           OR NEW.started_at IS NOT OLD.started_at OR NEW.applied_by IS NOT OLD.applied_by;
    SELECT RAISE(ABORT, 'govgate custody: a rollout may only be finished once or rolled back once')
        WHERE NOT (
            (OLD.status = 'applied' AND NEW.status = 'applied' AND OLD.finished_at IS NULL
             AND NEW.rolled_back_at IS NULL AND NEW.rolled_back_by IS NULL)
            OR (OLD.status = 'applied' AND NEW.status = 'rolled_back'
                AND OLD.finished_at IS NOT NULL
                AND NEW.post_fingerprint IS OLD.post_fingerprint
                AND NEW.finished_at IS OLD.finished_at AND NEW.duration_ms IS OLD.duration_ms
                AND NEW.report IS OLD.report));
END""",
    """CREATE TRIGGER IF NOT EXISTS os_rollouts_custody_delete BEFORE DELETE ON os_rollouts
BEGIN
    SELECT RAISE(ABORT, 'govgate custody: a rollout is history and is never deleted');
END""",
    """CREATE TRIGGER IF NOT EXISTS os_approval_uses_custody_update
BEFORE UPDATE ON os_approval_uses
BEGIN
    SELECT RAISE(ABORT, 'govgate custody: the use of an approval is history');
END""",
    """CREATE TRIGGER IF NOT EXISTS os_approval_uses_custody_delete
BEFORE DELETE ON os_approval_uses
BEGIN
    SELECT RAISE(ABORT, 'govgate custody: the use of an approval is history');
END""",
    """CREATE TRIGGER IF NOT EXISTS os_approvals_custody_update
BEFORE UPDATE ON os_proposal_approvals
BEGIN
    SELECT RAISE(ABORT, 'govgate custody: an approval is made once and never changed');
END""",
    """CREATE TRIGGER IF NOT EXISTS os_approvals_custody_delete
BEFORE DELETE ON os_proposal_approvals
BEGIN
    SELECT RAISE(ABORT, 'govgate custody: an approval that was used is never deleted')
        WHERE EXISTS (SELECT 1 FROM os_approval_uses u WHERE u.approval_id = OLD.id);
END""",
)


APPEND_SIGNATURE = "os_audit_append(integer, text, text, text, text, text, text, text, text)"
APPEND_CALL = sa.text(
    "SELECT os_audit_append(:seq, :at, :kind, :actor, :proposal_id, :rollout_id, :detail, "
    ":prev_hash, :hash)"
)


def appends_through_function(conn: Connection) -> bool:
    """Whether audit rows go through `os_audit_append` (PostgreSQL at revision v2)."""
    if conn.dialect.name != "postgresql":
        return False
    return conn.execute(
        sa.text("SELECT to_regprocedure(:f) IS NOT NULL"), {"f": APPEND_SIGNATURE}
    ).scalar()


def grant_append(conn: Connection, roles: tuple[str, ...]) -> None:
    """Let ROLES append audit rows only through the function, never insert them directly."""
    for role in roles:
        conn.exec_driver_sql(
            f"DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN "
            f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON os_audit FROM {role}; "
            f"GRANT EXECUTE ON FUNCTION {APPEND_SIGNATURE} TO {role}; END IF; END $$"
        )


def install(conn: Connection) -> None:
    """Create or replace the custody functions and triggers (idempotent; no rows touched).

    On MySQL and MariaDB each statement commits implicitly (DDL): call it outside any
    transaction that holds data changes, as `init` and `upgrade` do.
    """
    run_ddl(conn, _PG, _SQLITE, mysql_custody.CUSTODY)


def run_ddl(
    conn: Connection,
    postgresql: tuple[str, ...],
    sqlite: tuple[str, ...],
    mysql: tuple[str, ...] = (),
) -> None:
    """Run the trigger DDL written for the connection's dialect."""
    if conn.dialect.name == "postgresql":
        for statement in postgresql:  # plpgsql's % is the driver's placeholder sign: double it
            conn.exec_driver_sql(statement.replace("%", "%%"))
    elif is_mysql(conn):
        for statement in mysql:
            conn.exec_driver_sql(statement.replace("%", "%%"))
    else:
        for statement in sqlite:
            conn.exec_driver_sql(statement)


def backfill_uses(conn: Connection) -> int:
    """Record the use of every approval a rollout already named (for databases before v2)."""
    return conn.execute(
        sa.text(
            "INSERT INTO os_approval_uses (approval_id, rollout_id, used_at) "
            "SELECT r.approval_id, r.id, r.started_at FROM os_rollouts r "
            "WHERE NOT EXISTS "
            "(SELECT 1 FROM os_approval_uses u WHERE u.approval_id = r.approval_id)"
        )
    ).rowcount


def revision(conn: Connection) -> str | None:
    """govgate's schema revision of this database: None without journal tables, v1 unstamped."""
    names = set(sa.inspect(conn).get_table_names())
    if VERSION_TABLE in names:
        return conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
    return "v1" if "os_rollouts" in names else None
