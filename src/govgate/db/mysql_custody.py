"""Custody triggers on MySQL and MariaDB: the rules of db/custody.py and db/evidence.py.

The same rules as the SQLite triggers, written in MySQL's trigger language (one trigger per
table, time and event; `<=>` is NULL-safe equality). Unlike PostgreSQL's, they hold for
every login, the tables' owner included: MySQL has no table owner to let through. Whoever
holds the TRIGGER privilege on a table (or DROP on the database) can drop them; the roles
`govgate init --roles` makes hold neither (docs/SECURITY.md).

`TRIGGER_WRITES` is what the triggers write beside the statement that fired them: the
rollout's guard counts those rows when it proves that the session wrote exactly what the
rollout meant to (guards/statement_guard.py).

`os_audit` has no PostgreSQL-style append function here: the roles insert its rows directly
(INSERT only, never UPDATE or DELETE), and a trigger refuses a row that does not follow the
last one.
"""

from __future__ import annotations


def _refuse(message: str) -> str:
    return f"SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'govgate custody: {message}'"


def _trigger(name: str, when: str, table: str, body: str) -> tuple[str, str]:
    # DROP + CREATE rather than CREATE TRIGGER IF NOT EXISTS: MySQL 8.0 has it only from 8.0.29,
    # and a trigger of an older govgate must be replaced, as CREATE OR REPLACE does elsewhere.
    return (
        f"DROP TRIGGER IF EXISTS {name}",
        f"CREATE TRIGGER {name} {when} ON {table} FOR EACH ROW\nBEGIN\n{body}\nEND",
    )


# Rows written by a trigger for each row inserted into a table: the custody trigger records
# the use of the approval a rollout names (one os_approval_uses row per os_rollouts row).
TRIGGER_WRITES = {"os_rollouts": 1}

USED_TRIGGER = "os_rollouts_custody_used"

CUSTODY = (
    *_trigger(
        "os_rollouts_custody_insert",
        "BEFORE INSERT",
        "os_rollouts",
        f"""    IF NOT (NEW.status <=> 'applied') THEN
        {_refuse("a rollout must be recorded as applied")};
    END IF;
    IF NOT EXISTS (SELECT 1 FROM os_proposals p
                   WHERE p.id = NEW.proposal_id AND p.sha256 = NEW.proposal_sha256) THEN
        {_refuse("the rollout names no proposal with that hash")};
    END IF;
    IF NOT EXISTS (SELECT 1 FROM os_proposal_approvals a
                   WHERE a.id = NEW.approval_id AND a.proposal_id = NEW.proposal_id
                     AND a.proposal_sha256 = NEW.proposal_sha256) THEN
        {_refuse("the rollout names no approval with its hash")};
    END IF;
    IF EXISTS (SELECT 1 FROM os_approval_uses u WHERE u.approval_id = NEW.approval_id) THEN
        {_refuse("that approval was used already, and is used once")};
    END IF;""",
    ),
    *_trigger(
        USED_TRIGGER,
        "AFTER INSERT",
        "os_rollouts",
        """    INSERT INTO os_approval_uses (approval_id, rollout_id, used_at)
        VALUES (NEW.approval_id, NEW.id, NEW.started_at);""",
    ),
    *_trigger(
        "os_rollouts_custody_update",
        "BEFORE UPDATE",
        "os_rollouts",
        f"""    IF NOT (NEW.id <=> OLD.id AND NEW.proposal_id <=> OLD.proposal_id
            AND NEW.proposal_sha256 <=> OLD.proposal_sha256
            AND NEW.approval_id <=> OLD.approval_id
            AND NEW.pre_fingerprint <=> OLD.pre_fingerprint
            AND NEW.created_objects <=> OLD.created_objects AND NEW.records <=> OLD.records
            AND NEW.started_at <=> OLD.started_at AND NEW.applied_by <=> OLD.applied_by) THEN
        {_refuse("what a rollout named never changes")};
    END IF;
    IF NOT ((OLD.status = 'applied' AND NEW.status = 'applied' AND OLD.finished_at IS NULL
             AND NEW.rolled_back_at IS NULL AND NEW.rolled_back_by IS NULL)
            OR (OLD.status = 'applied' AND NEW.status = 'rolled_back'
                AND OLD.finished_at IS NOT NULL
                AND NEW.post_fingerprint <=> OLD.post_fingerprint
                AND NEW.finished_at <=> OLD.finished_at AND NEW.duration_ms <=> OLD.duration_ms
                AND NEW.report <=> OLD.report)) THEN
        {_refuse("a rollout may only be finished once or rolled back once")};
    END IF;""",
    ),
    *_trigger(
        "os_rollouts_custody_delete",
        "BEFORE DELETE",
        "os_rollouts",
        f"    {_refuse('a rollout is history and is never deleted')};",
    ),
    *_trigger(
        "os_approval_uses_custody_update",
        "BEFORE UPDATE",
        "os_approval_uses",
        f"    {_refuse('the use of an approval is history')};",
    ),
    *_trigger(
        "os_approval_uses_custody_delete",
        "BEFORE DELETE",
        "os_approval_uses",
        f"    {_refuse('the use of an approval is history')};",
    ),
    *_trigger(
        "os_approvals_custody_update",
        "BEFORE UPDATE",
        "os_proposal_approvals",
        f"    {_refuse('an approval is made once and never changed')};",
    ),
    *_trigger(
        "os_approvals_custody_delete",
        "BEFORE DELETE",
        "os_proposal_approvals",
        f"""    IF EXISTS (SELECT 1 FROM os_approval_uses u WHERE u.approval_id = OLD.id) THEN
        {_refuse("an approval that was used is never deleted")};
    END IF;""",
    ),
    *_trigger(
        "os_audit_custody_append",
        "BEFORE INSERT",
        "os_audit",
        f"""    IF NOT (NEW.seq <=> COALESCE((SELECT MAX(seq) FROM os_audit), 0) + 1
            AND NEW.prev_hash <=> COALESCE(
                (SELECT hash FROM os_audit ORDER BY seq DESC LIMIT 1), REPEAT('0', 64))) THEN
        {_refuse("an audit row must follow the last one")};
    END IF;""",
    ),
)

EVIDENCE = (
    *_trigger(
        "os_signatures_custody_insert",
        "BEFORE INSERT",
        "os_approval_signatures",
        f"""    IF NOT EXISTS (SELECT 1 FROM os_proposal_approvals a WHERE a.id = NEW.approval_id)
       OR EXISTS (SELECT 1 FROM os_approval_uses u WHERE u.approval_id = NEW.approval_id) THEN
        {_refuse("a signature is added once to an unused approval")};
    END IF;""",
    ),
    *_trigger(
        "os_signatures_custody_update",
        "BEFORE UPDATE",
        "os_approval_signatures",
        f"    {_refuse('a signature never changes')};",
    ),
    *_trigger(
        "os_signatures_custody_delete",
        "BEFORE DELETE",
        "os_approval_signatures",
        f"""    IF EXISTS (SELECT 1 FROM os_approval_uses u
               WHERE u.approval_id = OLD.approval_id) THEN
        {_refuse("the signature of a used approval is history")};
    END IF;""",
    ),
    *_trigger(
        "os_approval_uses_custody_insert",
        "BEFORE INSERT",
        "os_approval_uses",
        f"""    IF NOT EXISTS (
            SELECT 1 FROM os_rollouts r JOIN os_proposal_approvals a
              ON a.proposal_id = r.proposal_id AND a.proposal_sha256 = r.proposal_sha256
            WHERE r.id = NEW.rollout_id AND a.id = NEW.approval_id
              AND r.status = 'applied' AND r.finished_at IS NULL) THEN
        {_refuse("an approval is used only by a rollout of its proposal")};
    END IF;""",
    ),
    *_trigger(
        "os_settings_custody_update",
        "BEFORE UPDATE",
        "os_settings",
        f"""    IF OLD.`key` = 'database_id' THEN
        {_refuse("this database''s id never changes")};
    END IF;""",
    ),
    *_trigger(
        "os_settings_custody_delete",
        "BEFORE DELETE",
        "os_settings",
        f"""    IF OLD.`key` = 'database_id' THEN
        {_refuse("this database''s id never changes")};
    END IF;""",
    ),
)
