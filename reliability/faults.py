"""Faults: kill -9, a dropped connection and a database restart at every step of apply,
rollback and rehearse; every table compared row by row with the exact state before (or after).

- kill -9: a forked child runs the command and SIGKILLs itself just before the step (from a
  contained rollout's child, it has the command killed: support/killer.py).
- dropped connection: PostgreSQL `pg_terminate_backend`, MariaDB `KILL` of the session, from
  the admin's connection. SQLite has no server connection to drop, and its file handle cannot be
  closed from outside the library: there the fault is an OSError raised at the step.
- database restart: PostgreSQL `pg_ctl stop -m immediate` + start of the suite's throwaway
  cluster (PgCluster.kill/start); MariaDB kill -9 and restart of the throwaway mariadbd. SQLite
  has no server: no restart trials there.

Rehearse's own steps have no hook, so the harness wraps `_Run._timed` to fire before each
one; its `apply` and `rollback` steps fire inside the copy's transaction (at its `records`).
"""

from __future__ import annotations

import math
import mmap
import os
import select
import signal
import time
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from govgate import api
from govgate.ops import rehearse as rehearse_mod
from govgate.runbook import apply as apply_mod
from govgate.runbook import rollback as rollback_mod
from govgate.runbook.gate import Status

from .common import Figure, Servers, fork_start, fork_wait, tally
from support.killer import CommandKiller
from support.labs import audit_rows, ratify

FAMILY = "faults"
REHEARSE_STEPS = ("snapshot", "propose", "approve", "apply", "verify", "rollback", "compare")
ACTIONS = {
    "apply": apply_mod.APPLY_STEPS,
    "rollback": rollback_mod.ROLLBACK_STEPS,
    "rehearse": REHEARSE_STEPS,
}
FAULTS = {
    "sqlite": ("kill9", "raise"),
    "postgres": ("kill9", "drop", "restart"),
    "mariadb": ("kill9", "drop", "restart"),
}
NEEDS = {"apply": Status.READY, "rollback": Status.APPLIED, "rehearse": None}


def combos(backend: str) -> list[tuple[str, str, str]]:
    """(action, step, fault) for every step of every action and every fault of BACKEND."""
    return [(a, s, f) for a, steps in ACTIONS.items() for s in steps for f in FAULTS[backend]]


@contextmanager
def rehearsal_hooked(fire):
    """While the block runs, FIRE(step) is called before each of rehearse's own steps."""
    original = rehearse_mod._Run._timed

    def timed(self, name, action):
        def wrapped():
            fire(name)
            return action()

        return original(self, name, wrapped)

    rehearse_mod._Run._timed = timed
    try:
        yield
    finally:
        rehearse_mod._Run._timed = original


class Trial:
    """One fault at one step of one action on LAB."""

    def __init__(self, servers: Servers, lab, action: str, step: str, fault: str, folder: Path):
        self.servers, self.lab, self.action, self.step, self.fault = (
            servers,
            lab,
            action,
            step,
            fault,
        )
        self.folder = folder
        # Whether the fault fired, on a page shared across forks: a contained rollout runs the
        # hook (and sets it) in a child of its own.
        self._fired = mmap.mmap(-1, 1)

    @property
    def fired(self) -> bool:
        return self._fired[0] == 1

    @fired.setter
    def fired(self, value: bool) -> None:
        self._fired[0] = int(bool(value))

    # -- the fault itself --------------------------------------------------------------

    def inject(self, conn) -> None:
        self.fired = True
        server = self.servers.server(self.lab.backend)
        if self.fault == "kill9":
            self.killer()  # the command, even from a contained rollout's child
        elif self.fault == "raise":
            raise OSError(f"injected fault before {self.step} (SQLite: no connection to drop)")
        elif self.fault == "drop":
            self._drop(conn, server)

    def _drop(self, conn, server) -> None:
        if conn is not None and self.lab.backend == "postgres":
            pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
            server.admin_execute(f"SELECT pg_terminate_backend({int(pid)}, 10000)")
        elif conn is not None:
            session = conn.execute(sa.text("SELECT CONNECTION_ID()")).scalar_one()
            server.admin_execute(f"KILL {int(session)}")
        elif self.lab.backend == "postgres":  # a rehearsal step: every session of both databases
            server.admin_execute(
                "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE pid <> "
                f"pg_backend_pid() AND (datname = '{self.lab.db_name}' OR datname LIKE "
                "'govgate\\_rehearsal\\_%')"
            )
        else:
            rows = server.admin_query(
                "SELECT id FROM information_schema.PROCESSLIST WHERE id <> CONNECTION_ID() AND "
                f"(db = '{self.lab.db_name}' OR db LIKE 'govgate\\_rehearsal\\_%')"
            )
            for (session,) in rows:
                try:
                    server.admin_execute(f"KILL {int(session)}")
                except Exception:  # it ended by itself meanwhile
                    pass

    def hook(self, name, conn) -> None:
        if name == self.step and not self.fired:
            self.inject(conn)

    def run_command(self) -> None:
        settings = self.lab.settings
        if self.action == "apply":
            api.apply(settings, hook=self.hook)
        elif self.action == "rollback":
            api.rollback(settings, hook=self.hook)
        else:
            inner = {"apply": "records", "rollback": "records"}.get(self.step)
            armed = []

            def outer(name):
                if name == self.step and inner is None and not self.fired:
                    self.inject(None)
                if name == self.step and inner:
                    armed.append(name)

            def inner_hook(name, conn):
                if armed and name == inner and not self.fired:
                    self.inject(conn)

            with rehearsal_hooked(outer):
                api.rehearse(settings, hook=inner_hook)

    def execute(self) -> str:
        """Run the command under the fault; returns how it ended ("killed", "raised", ...).

        kill -9 and restart run the command in a forked child: the first kills it, and a
        restart cannot happen inside it, as a rollout's process may start no program (the
        emission guard). There the child stops at the step and waits while this process
        restarts the server, as an outage outside govgate would happen.
        """
        if self.fault not in ("kill9", "restart"):
            try:
                self.run_command()
            except Exception as exc:
                return f"raised {type(exc).__name__}"
            return "returned"
        from_child, to_parent = os.pipe()  # (read end, write end)
        from_parent, to_child = os.pipe()

        def child() -> int:
            os.close(from_child)
            os.close(to_child)
            if self.fault == "kill9":
                self.killer = CommandKiller()
            if self.fault == "restart":

                def wait_for_restart(conn):
                    self.fired = True
                    os.write(to_parent, b"s")
                    os.read(from_parent, 1)

                self.inject = wait_for_restart
            try:
                self.run_command()
            except Exception as exc:
                print(f"raised {type(exc).__name__}: {exc}")
                return 1
            return 0

        started = time.monotonic()
        pid, out, err = fork_start(child, self.folder)
        os.close(to_parent)
        os.close(from_parent)
        if self.fault == "restart":
            ready, _, _ = select.select([from_child], [], [], 300)
            if ready and os.read(from_child, 1) == b"s":
                self.fired = True
                server = self.servers.server(self.lab.backend)
                server.kill()
                server.start()
            os.write(to_child, b"g")
        os.close(from_child)
        os.close(to_child)
        done = fork_wait(pid, out, err, 300, started)
        if self.fault == "kill9":
            self.fired = done.signal == signal.SIGKILL and not done.timed_out
        if not self.fired:
            return f"the step was never reached (exit {done.code}): {(done.out + done.err)[-300:]}"
        return "killed" if self.fault == "kill9" else (done.out.strip() or "returned")


# -- judging the state ---------------------------------------------------------------------


def bring_to(lab, status: Status | None) -> None:
    """Ratify, apply or roll back until the gate is STATUS (None: anything)."""
    for _ in range(3):
        now = api.status(lab.settings).status
        if status is None or now is status:
            return
        if now is Status.APPLIED:
            api.rollback(lab.settings)
        elif now is Status.READY:
            api.apply(lab.settings)
        else:
            ratify(lab)
    raise RuntimeError(f"the lab could not be brought to {status}")


def rehearsal_copies(servers: Servers, lab) -> set[str]:
    if lab.backend == "sqlite":
        import glob
        import tempfile

        return set(glob.glob(os.path.join(tempfile.gettempdir(), "govgate-rehearsal-*")))
    server = servers.server(lab.backend)
    if lab.backend == "postgres":
        from govgate.db.engine import make_engine

        from support.sqlhelp import sql_rows

        rows = sql_rows(
            make_engine(server.url()),
            "SELECT datname FROM pg_database WHERE datname LIKE 'govgate_rehearsal_%'",
            {},
        )
    else:
        rows = server.admin_query("SHOW DATABASES LIKE 'govgate\\_rehearsal\\_%'")
    return {r[0] for r in rows}


def remove_copies(servers: Servers, lab, names: set[str]) -> None:
    """Drop the scratch copies a killed rehearsal left (only those this trial left)."""
    import shutil

    for name in names:
        if lab.backend == "sqlite":
            shutil.rmtree(name, ignore_errors=True)
        else:
            servers.server(lab.backend).drop_database(name)


def judge(lab, action: str, before: dict, audit_before: list) -> str:
    """ "before", "after" or "partial": every table but the audit trail equal to the state
    before, the trail the same plus at most one abort row; or the command's complete effect."""
    after, audit_after = lab.snapshot(exclude=("os_audit",)), audit_rows(lab)
    new = audit_after[len(audit_before) :]
    if (
        after == before
        and audit_after[: len(audit_before)] == audit_before
        and len(new) <= 1
        and all(row[1] == "abort" for row in new)
    ):
        return "before"
    status = api.status(lab.settings).status
    if action == "apply" and status is Status.APPLIED and api.verify(lab.settings).ok:
        return "after"
    if action == "rollback" and status is not Status.APPLIED:
        if lab.scalar("SELECT COUNT(*) FROM os_accountability") == 0:
            return "after"
    return "partial"


def run(
    servers: Servers,
    backends: tuple[str, ...],
    trials: int,
    folder: Path,
    sample: int | None = None,
) -> list[Figure]:
    """At least TRIALS trials (whole rounds over every combination); SAMPLE: only every
    SAMPLE-th combination, once (the quick slice)."""
    per_round = sum(len(combos(b)) for b in backends)
    rounds = max(1, math.ceil(trials / per_round)) if sample is None else 1
    partial, reached, recovered, chain, leftovers, swept = [], [], [], [], [], []
    per_backend: dict[str, list] = {b: [] for b in backends}
    for backend in backends:
        lab = servers.lab(backend)
        todo = combos(backend) * rounds
        if sample:
            todo = todo[::sample]
        for action, step, fault in todo:
            what = f"{backend} {action} {step} {fault}"
            bring_to(lab, NEEDS[action])
            expected = api.status(lab.settings).status
            before, audit_before = lab.snapshot(exclude=("os_audit",)), audit_rows(lab)
            copies = rehearsal_copies(servers, lab) if action == "rehearse" else set()
            trial = Trial(servers, lab, action, step, fault, folder)
            ended = trial.execute()
            reached.append((trial.fired, f"{what}: {ended}"))
            state = judge(lab, action, before, audit_before)
            good = state != "partial"
            partial.append((good, f"{what}: partial state ({ended})"))
            per_backend[backend].append(good)
            chain.append((api.audit_verify(lab.settings).ok, f"{what}: audit chain broken"))
            if action == "rehearse":
                left = rehearsal_copies(servers, lab) - copies
                leftovers.append((not left, f"{what}: {len(left)} scratch copies left"))
                swept.append(_next_rehearsal_sweeps(servers, lab, copies, what))
            elif state == "before":
                recovered.append(_again(lab, action, expected, what))
            if not good:  # a damaged lab would spoil every later trial: start a fresh one
                servers.drop(lab)
                lab = servers.lab(backend)
        servers.drop(lab)
    figures = [
        tally(
            FAMILY,
            "partial states after a fault",
            partial,
            bar="zero",
            minimum=0 if sample else 500,
        ),
        tally(FAMILY, "faults that reached their step", reached),
        tally(FAMILY, "commands that succeed when run again after the fault", recovered),
        tally(FAMILY, "audit chain intact after the fault", chain),
    ]
    for backend, goods in per_backend.items():
        figures.append(
            Figure(
                FAMILY,
                f"partial states on {backend}",
                sum(goods),
                len(goods),
                bar="zero",
                info=True,
            )
        )
    figures.append(
        tally(
            FAMILY,
            "rehearsals leaving no scratch copy behind (kill -9 cannot clean up)",
            leftovers,
            info=True,
        )
    )
    figures.append(
        tally(FAMILY, "copies a killed rehearsal left, dropped by the next rehearsal", swept)
    )
    return figures


def _next_rehearsal_sweeps(servers: Servers, lab, copies: set[str], what: str):
    """Run the next rehearsal: it must pass and leave none of this trial's copies behind."""
    again = api.rehearse(lab.settings)
    still = rehearsal_copies(servers, lab) - copies
    remove_copies(servers, lab, still)
    return (again.ok and not still, f"{what}: next rehearsal ok={again.ok}, {len(still)} left")


def _again(lab, action: str, expected: Status, what: str) -> tuple[bool, str]:
    try:
        if api.status(lab.settings).status is not expected:
            return False, f"{what}: the gate is not back at {expected.value}"
        (api.apply if action == "apply" else api.rollback)(lab.settings)
        return True, what
    except Exception as exc:
        return False, f"{what}: run again: {type(exc).__name__}: {exc}"
