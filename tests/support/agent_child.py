"""A child that runs the agent with a step hook (hooks cannot cross a process boundary).

    python agent_child.py DB AGENT_DB REPORT_DIR STEP ACTION FLAG

ACTION "wait": at STEP print {"event": "hook"} and block until the file FLAG exists.
ACTION "sleep": at STEP print {"event": "hook"} and sleep (a SIGTERM interrupts it).
Every agent event is printed as one JSON line; the exit status is the agent's.
"""

from __future__ import annotations

import json
import os
import sys
import time

from govgate import agent
from govgate.agent.events import line
from govgate.config import Settings


def main(argv: list[str]) -> int:
    db, agent_db, report_dir, step, action, flag = argv
    fired = []

    def hook(name, conn):
        if name != step or fired:
            return
        fired.append(name)
        print(json.dumps({"event": "hook", "step": name}), flush=True)
        if action == "sleep":
            time.sleep(120)
        while not os.path.exists(flag):
            time.sleep(0.05)

    settings = Settings(
        db_url=db,
        agent_db_url=agent_db,
        report_dir=report_dir,
        allowed_signers=os.environ.get("GOVGATE_ALLOWED_SIGNERS"),
    )
    code = 0
    for ev in agent.run(settings, interval=30, hook=hook):
        print(line(ev), flush=True)
        code = ev.get("exit_code", code)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:7]))
