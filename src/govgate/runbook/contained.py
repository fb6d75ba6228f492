"""The rollout where `[agent] containment` puts it: in a child the kernel contains, or here.

Contained (guards.containment), the child opens its own engine and connection on the agent's
URL after the fork and runs `apply.apply` with the caller's step hook; its result, its error
and the attempts the emission guards refused come back whole. A child can also end without
sending anything: a stop signal (the agent's SIGTERM is forwarded to it, Ctrl-C stops it), or
a kill from outside. Then this process does not guess: it reads the journal under govgate's
lock (so a commit the child had sent has settled) and reports what happened — the rollout
the child committed, as a result; or nothing committed, recorded as an abort at the step the
child had reached (the child had no chance to record it), and the stop raised on.
"""

from __future__ import annotations

import json
import mmap
import signal

import sqlalchemy as sa

from ..config import Settings
from ..db import audit
from ..db import schema as s
from ..db.engine import Mode, make_engine
from ..db.session import Database, session
from ..errors import Aborted, GovgateError, Refused
from ..guards import containment
from .apply import RolloutResult, StepHook
from .apply import apply as run_apply
from .steps import record_abort


def apply(
    settings: Settings,
    *,
    dry_run: bool = False,
    hook: StepHook | None = None,
    actor: str | None = None,
) -> RolloutResult:
    """Run the ratified rollout through the agent's connection (see runbook.apply), contained
    by the kernel where `settings.containment` and the kernel allow.

    Refused (nothing changed) when containment is `required` and unavailable, or the kernel
    could not apply the policy. HOOK runs in the child when contained. A child that ended
    without a result: its committed rollout is returned; else Aborted at the step it had
    reached (ContainedError), or the interruption (KeyboardInterrupt, the agent's Terminated)
    re-raised, the abort recorded either way.
    """
    found = containment.decide(settings)
    if found.refuses:
        raise containment.refusal(found)
    if not found.contained:
        with Database(settings.agent_url) as db:
            return run_apply(db, settings, dry_run=dry_run, hook=hook, actor=actor)
    # Here, not in the child: importing the driver may look for its library with a helper
    # program (ctypes.util.find_library), and a bad URL or a missing file should fail unforked.
    make_engine(settings.agent_url).dispose()
    policy = containment.policy(settings, settings.agent_url)
    since, progress = audit.now_iso(), _Progress()
    try:
        outcome = containment.run(_child, settings, dry_run, hook, actor, progress, policy=policy)
    except BaseException as exc:
        return _without_result(settings, exc, since, progress.step(), actor, dry_run)
    finally:
        progress.close()
    return outcome.result()


def _child(
    settings: Settings, dry_run: bool, hook: StepHook | None, actor: str | None, progress
) -> RolloutResult:
    def step(name, conn) -> None:
        progress.begin(name)
        if hook is not None:
            hook(name, conn)
        if name == "commit":  # past the point of no return: a stop now waits for the commit
            signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM])

    with Database(settings.agent_url) as db:
        if db.engine.dialect.name == "sqlite":
            sa.event.listen(db.engine, "connect", _temp_files_in_memory)
        return run_apply(db, settings, dry_run=dry_run, hook=step, actor=actor)


def _temp_files_in_memory(dbapi_conn, _record) -> None:
    # SQLite spills statement journals and large sorts into files in a temporary directory,
    # which the kernel keeps this child from writing ("unable to open database file" at a
    # 6,000-slot rollout's report): in memory they need no write outside the database's folder.
    dbapi_conn.execute("PRAGMA temp_store = MEMORY")


def _without_result(
    settings: Settings,
    exc: BaseException,
    since: str,
    step: str,
    actor: str | None,
    dry_run: bool,
) -> RolloutResult:
    """What to make of a child that sent no result (EXC says why): see the module."""
    if containment.is_unavailable(exc):
        raise Refused(
            f"kernel containment could not be applied: {exc}; nothing ran, nothing was changed",
            hint="`govgate doctor` says what the kernel supports; [agent] containment = "
            '"off" runs the rollout without it (for debugging only)',
        ) from exc
    if not dry_run:
        try:
            committed = _committed_since(settings, since)
        except GovgateError as unread:  # the database cannot tell: say so, claim nothing
            exc.add_note(f"whether the rollout committed could not be read back: {unread}")
            raise exc from unread  # an outage stays visible as its cause
        if committed is not None:  # it committed before it was stopped: that is what happened
            return committed
        with Database(settings.agent_url) as db:
            record_abort(db, settings, actor or settings.agent_identity, step, exc)
    if isinstance(exc, Exception) and not isinstance(exc, GovgateError):
        raise Aborted(step, f"the rollout's contained process ended early: {exc}") from exc
    raise exc


def _committed_since(settings: Settings, since: str) -> RolloutResult | None:
    """A rollout applied since SINCE, read under govgate's lock: none while a writer holds it."""
    columns = s.rollouts.c
    with session(settings.agent_url, Mode.DRY_RUN, lock=True) as conn:
        rows = conn.execute(
            sa.select(s.rollouts).where(columns.status == "applied").order_by(columns.started_at)
        ).all()
    row = next((r for r in rows if r.started_at >= since), None)
    if row is None:
        return None
    report = json.loads(row.report or "{}")
    return RolloutResult(
        row.id,
        row.proposal_id,
        row.approval_id,
        False,
        len(json.loads(row.records)),
        tuple(json.loads(row.created_objects)),
        report.get("gap_before", 0),
        report.get("gap_after", 0),
        row.pre_fingerprint,
        row.post_fingerprint or "",
        row.duration_ms or 0,
        report,
    )


class _Progress:
    """The step the child began last, on a page it shares with this process (an anonymous
    shared mapping survives the fork): where to record an abort the child could not."""

    SIZE = 64

    def __init__(self) -> None:
        self.page = mmap.mmap(-1, self.SIZE)

    def begin(self, name: str) -> None:
        self.page[:] = name.encode()[: self.SIZE].ljust(self.SIZE, b"\0")

    def step(self) -> str:
        return self.page[:].rstrip(b"\0").decode(errors="replace") or "connect"

    def close(self) -> None:
        self.page.close()
