"""A child process for the kill -9 tests: runs apply, rollback or a rehearsal (whose inner
apply and rollback pass the hook their steps) and SIGKILLs itself at one step.

    python faults_child.py apply|rollback|rehearse STEP DB_URL AGENT_URL

The hook kills the process (SIGKILL: no cleanup, no exception handler, no
atexit) just before STEP runs, in the middle of the rollout's transaction; a contained
rollout's hook has the command killed, its child with it (support/killer.py).
Exit status 0 means the step was never reached, which the test treats as a failure.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/: `support`

from govgate import api
from govgate.config import Settings

from support.killer import CommandKiller


def main(argv: list[str]) -> int:
    action, step, db_url, agent_url = argv
    settings = Settings(
        db_url=db_url,
        agent_db_url=agent_url,
        allowed_signers=os.environ.get("GOVGATE_ALLOWED_SIGNERS"),
    )

    kill = CommandKiller()

    def hook(name, conn):
        if name == step:
            kill()

    if action == "apply":
        api.apply(settings, hook=hook)
    elif action == "rollback":
        api.rollback(settings, hook=hook)
    elif action == "rehearse":
        api.rehearse(settings, hook=hook)
    else:
        raise SystemExit(f"unknown action {action}")
    print(f"step {step} was never reached", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
