"""The agent in processes and threads of its own, and its JSON events as they come.

`AgentProcess` runs `govgate agent` (or support/agent_child.py, the agent with a step hook)
and reads its stdout line by line; `launch_at_once` forks several command lines released
at the same instant; `watch_in_thread` runs the watching agent in a thread of the test.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from govgate import agent
from govgate.agent.events import Event
from govgate.config import Settings

from support.constants import NO_CONFIG, SUPPORT
from support.labs import Lab, agent_args

AGENT_CHILD = SUPPORT / "agent_child.py"


def child_env(lab: Lab) -> dict:
    """The environment of an agent process: no configuration file, reports in the lab's folder."""
    return {**os.environ, **NO_CONFIG, "GOVGATE_REPORT_DIR": lab.settings.report_dir}


class AgentProcess:
    """`govgate agent` (or a child script) in its own process; its JSON lines, as they come."""

    def __init__(self, argv: list[str], env: dict, log_dir: Path):
        self.stderr_path = log_dir / f"agent-{time.monotonic_ns()}.err"
        with open(self.stderr_path, "w") as err:
            self.proc = subprocess.Popen(
                argv, stdout=subprocess.PIPE, stderr=err, text=True, env=env
            )
        self.events: list[dict] = []
        self._queue: queue.Queue = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @classmethod
    def cli(cls, lab: Lab, *args: str, log_dir: Path) -> AgentProcess:
        """`govgate --db … --agent-db … agent ARGS`."""
        return cls(
            [sys.executable, "-m", "govgate.cli", *agent_args(lab), "agent", *args],
            child_env(lab),
            log_dir,
        )

    @classmethod
    def hooked(cls, lab: Lab, tmp_path: Path, step: str, action: str) -> tuple[AgentProcess, Path]:
        """support/agent_child.py: the agent stops at STEP to wait or sleep (see there).

        Returns the process and the FLAG file that lets a waiting child go on.
        """
        flag = tmp_path / "go-on"
        argv = [
            sys.executable,
            str(AGENT_CHILD),
            lab.url,
            lab.settings.agent_url,
            lab.settings.report_dir,
            step,
            action,
            str(flag),
        ]
        return cls(argv, child_env(lab), tmp_path), flag

    def _read(self):
        for raw in self.proc.stdout:
            parsed = json.loads(raw)
            self.events.append(parsed)
            self._queue.put(parsed)
        self._queue.put(None)

    def wait_for(self, name: str, timeout: float = 30, **match) -> dict:
        """The next event called NAME whose fields equal MATCH; fails after TIMEOUT seconds."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                ev = self._queue.get(timeout=max(0.01, remaining))
            except queue.Empty:
                ev = False
            if ev is None or ev is False or remaining <= 0:
                raise AssertionError(
                    f"no '{name}' {match} event within {timeout}s\n{self.describe()}"
                )
            if ev["event"] == name and all(ev.get(k) == v for k, v in match.items()):
                return ev

    def stop(self, sig=signal.SIGTERM, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def named(self, name: str) -> list[dict]:
        return [e for e in self.events if e["event"] == name]

    def describe(self) -> str:
        return (
            "events:\n"
            + "\n".join(json.dumps(e) for e in self.events)
            + "\nstderr:\n"
            + self.stderr_path.read_text()
        )


def launch_at_once(argv: list[str], count: int) -> list[tuple[int, str]]:
    """COUNT processes running the `govgate` entry point (cli.main) with ARGV, released together.

    They are forked from this process with everything already imported and then
    released at the same instant, so a trial measures the race between the
    agents rather than interpreter start-up. Returns (exit code, output) each.
    """
    go_read, go_write = os.pipe()
    children = []
    for _ in range(count):
        out_read, out_write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the agent process
            code = 70
            try:
                os.close(go_write)
                os.close(out_read)
                os.dup2(out_write, 1)
                os.dup2(out_write, 2)
                sys.stdout = open(1, "w", closefd=False)
                sys.stderr = open(2, "w", closefd=False)
                os.read(go_read, 1)  # blocks until the parent closes the pipe: the start signal
                from govgate.cli import main

                code = main(argv)
            except BaseException:
                import traceback

                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)  # no atexit handlers of the test process
        os.close(out_write)
        children.append((pid, out_read))
    os.close(go_read)
    os.close(go_write)  # go
    results = []
    for pid, out_read in children:
        with open(out_read, encoding="utf-8") as out:
            text = out.read()
        _, status = os.waitpid(pid, 0)
        results.append((os.waitstatus_to_exitcode(status), text))
    return results


def watch_in_thread(
    settings: Settings, **kw
) -> tuple[threading.Event, list[Event], threading.Thread]:
    """The watching agent in a thread: (the event that stops it, its events, the thread)."""
    stop = threading.Event()
    events: list[Event] = []
    thread = threading.Thread(
        target=lambda: events.extend(agent.run(settings, stop=stop, **kw)), daemon=True
    )
    thread.start()
    return stop, events, thread


def wait_until(predicate, timeout: float, what: str) -> None:
    """Poll PREDICATE every 20 ms; fail naming WHAT after TIMEOUT seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")
