"""Concurrency: 8 agents plus `apply`, `rollback` and `status` callers released at one instant
on a READY gate; exactly one rollout, no deadlock, and no error but a clear refusal.

Each caller is a forked child with govgate already imported (as support/agentproc.py's
`launch_at_once` does, which takes one command line only: here the callers differ), waiting on
one pipe; closing it releases them together, so a trial measures the race, not start-up.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from govgate import api
from govgate.runbook.gate import Status

from .common import TRACEBACK, Figure, Servers, cli_main, fork_start, fork_wait, tally
from support.labs import agent_args, ratify

FAMILY = "concurrency"
AGENTS = 8
DEADLINE = 90  # seconds: a caller still running then is counted as deadlocked
# The refusals a caller that lost the race may give (exit 1): the gate is no longer READY, or
# there was nothing (yet) to undo; an agent says "not READY" as a JSON `status` event naming the
# word it found. Anything else at exit 1, and every exit 2 or 3, is an error.
CLEAR = re.compile(
    r"already running|not READY|already applied|no rollout in effect|nothing to roll back"
    r'|"event":"status","status":"(BLOCKED|APPLIED)"',
    re.IGNORECASE,
)


def callers(lab) -> list[tuple[str, list[str]]]:
    db = list(agent_args(lab))
    agent = [(f"agent-{i}", [*db, "agent", "--once"]) for i in range(AGENTS)]
    return agent + [
        ("apply", [*db, "apply"]),
        ("rollback", [*db, "rollback", "--yes"]),
        ("status-1", [*db, "status"]),
        ("status-2", [*db, "status", "--why"]),
    ]


def release_together(lab, folder: Path) -> list[tuple[str, object]]:
    go_read, go_write = os.pipe()
    env = {"GOVGATE_REPORT_DIR": lab.settings.report_dir}
    started, children = time.monotonic(), []
    for name, argv in callers(lab):
        body = cli_main(argv, env)

        def wait_then_run(body=body) -> int:
            os.close(go_write)
            os.read(go_read, 1)  # returns when the parent closes its end: the start signal
            return body()

        children.append((name, fork_start(wait_then_run, folder)))
    os.close(go_read)
    os.close(go_write)
    return [(name, fork_wait(*child, DEADLINE, started)) for name, child in children]


def judge_caller(name: str, done) -> tuple[bool, str]:
    text = done.out + done.err
    if done.timed_out:
        return False, f"{name}: still running after {DEADLINE} s (deadlock?)"
    if TRACEBACK in text or "unexpected" in text:
        return False, f"{name}: traceback or unexpected error: {text[-300:]}"
    if done.code == 0:
        return True, name
    if done.code == 1 and CLEAR.search(text):
        return True, name
    return False, f"{name}: exit {done.code}: {text.strip()[-300:]}"


def run(servers: Servers, backends: tuple[str, ...], trials: int, folder: Path) -> list[Figure]:
    one, deadlock, clean, consistent = [], [], [], []
    for i in range(trials):
        backend = backends[i % len(backends)]
        lab = servers.lab(backend)
        try:
            ratify(lab)
            assert api.status(lab.settings).status is Status.READY
            results = release_together(lab, folder)
            what = f"{backend} trial {i + 1}"
            rollouts = lab.rows("SELECT id, status FROM os_rollouts")
            one.append((len(rollouts) == 1, f"{what}: {len(rollouts)} rollouts {rollouts}"))
            stuck = [n for n, d in results if d.timed_out]
            deadlock.append((not stuck, f"{what}: {stuck} did not finish"))
            for name, done in results:
                good, why = judge_caller(name, done)
                clean.append((good, f"{what}: {why}"))
            status = api.status(lab.settings).status
            chain = api.audit_verify(lab.settings).ok
            state_ok = chain and (
                (status is Status.APPLIED and api.verify(lab.settings).ok)
                or (rollouts and rollouts[0][1] == "rolled_back" and status is Status.BLOCKED)
            )
            consistent.append((bool(state_ok), f"{what}: gate {status.value}, chain ok {chain}"))
        finally:
            servers.drop(lab)
    return [
        tally(FAMILY, "trials with exactly one rollout", one, minimum=50 if trials >= 50 else 0),
        tally(FAMILY, "trials without a deadlock", deadlock),
        tally(FAMILY, "callers that succeeded or gave a clear refusal", clean),
        tally(FAMILY, "trials ending APPLIED (or rolled back) with a green chain", consistent),
    ]
