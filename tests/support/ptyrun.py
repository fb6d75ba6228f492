"""Drive a command through a real pseudo-terminal, as a person at a keyboard would."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from dataclasses import dataclass


@dataclass
class PtyRun:
    code: int
    output: str


def run_in_pty(
    argv: list[str], answers: list[tuple[str, str]], env: dict | None = None, timeout: float = 60.0
) -> PtyRun:
    """Run ARGV on a pty; when the output shows each prompt in ANSWERS, type its answer."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        argv,
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env={**os.environ, **(env or {}), "COLUMNS": "200"},
        close_fds=True,
    )
    os.close(follower)
    output, pending, deadline = b"", list(answers), time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                output += chunk
            if pending and pending[0][0].encode() in output:
                os.write(leader, pending.pop(0)[1].encode() + b"\r")
            if proc.poll() is not None and not ready:
                break
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        os.close(leader)
        if proc.poll() is None:
            proc.kill()
    return PtyRun(code, output.decode(errors="replace").replace("\r\n", "\n"))
