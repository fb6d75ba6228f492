"""What apply and rollback share: named steps with a hook, rollout ids, and the abort record.

Both run as a fixed sequence of named steps inside one locked transaction. A step hook
(tests use it to inject faults) is called before every step; any exception anywhere rolls
the whole transaction back, so production is left exactly as before, and the abort is
then recorded in a transaction of its own.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..config import Settings
from ..db import audit
from ..db.engine import Mode
from ..db.session import Database
from ..errors import (
    Aborted,
    CheckFailed,
    DatabaseError,
    DatabaseUnreachable,
    EmissionBlocked,
    GovgateError,
    describe,
)
from ..guards import containment

StepHook = Callable[[str, Connection], None]


class Steps:
    """Runs the hook before each named step and remembers where it was."""

    def __init__(self, conn: Connection, hook: StepHook | None):
        self.conn, self.hook, self.current = conn, hook, "start"

    def __call__(self, name: str) -> None:
        self.current = name
        if self.hook:
            self.hook(name, self.conn)


def new_rollout_id() -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return f"RO-{stamp}-{secrets.token_hex(3)}"


def count(conn: Connection, table: sa.Table) -> int:
    return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def as_abort(exc: BaseException, step: str) -> GovgateError | None:
    """The Aborted that EXC at STEP stands for, or None when EXC passes through unchanged.

    Failed checks and refused emissions abort; so does any other error once the
    transaction was open (a database error included, still recognisable as a lost
    connection through its cause). A refusal before any write (the gate is not
    READY) and errors while connecting pass through as they are.
    """
    if isinstance(exc, (CheckFailed, Aborted, EmissionBlocked)):
        failures = getattr(exc, "failures", ()) or ()
        cause = exc.message if not failures else f"{exc.message}: " + "; ".join(failures)
        return Aborted(step, cause, tuple(failures))
    if isinstance(exc, (DatabaseUnreachable, DatabaseError)) and step != "connect":
        return Aborted(step, describe(exc))
    if isinstance(exc, (GovgateError, KeyboardInterrupt)) or not isinstance(exc, Exception):
        return None
    return Aborted(step, containment.explained(exc))  # names the kernel when it refused


def record_abort(
    db: Database, settings: Settings, actor: str, step: str, exc: BaseException
) -> None:
    """Append an `abort` audit event in its own transaction, after the rollback.

    The trail keeps the abort even though the rollout left nothing behind. Best
    effort: the database may be gone.
    """
    try:
        with db.transaction(Mode.WRITE, lock=True) as conn:
            audit.append(
                conn,
                audit.Kind.ABORT,
                actor,
                detail={"step": step, "cause": containment.explained(exc)},
            )
    except Exception:
        pass


def run_steps(
    db: Database,
    settings: Settings,
    actor: str,
    body,
    *,
    hook: StepHook | None = None,
    dry_run: bool = False,
):
    """Run BODY(conn, steps) inside one locked transaction; translate and record any failure.

    Raises what `as_abort` makes of a failure, recorded in the audit trail (unless
    DRY_RUN) like an interruption (Ctrl-C, a stop signal); else the failure itself.
    """
    mode = Mode.DRY_RUN if dry_run else Mode.WRITE
    where = ["connect"]
    try:
        with db.transaction(mode, lock=True) as conn:
            steps = Steps(conn, hook)
            try:
                return body(conn, steps)
            finally:
                where[0] = steps.current
    except BaseException as exc:
        aborted = as_abort(exc, where[0])
        interrupted = not isinstance(exc, Exception)
        if (aborted is not None or interrupted) and not dry_run:
            record_abort(db, settings, actor, where[0], exc)
        if aborted is not None:
            raise aborted from exc
        raise
