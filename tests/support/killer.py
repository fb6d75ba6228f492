"""kill -9 of the whole command from a step hook, wherever the hook runs.

Contained (guards.containment), a rollout's hook runs in a child that the kernel keeps from
signalling the command (Landlock scopes signals to the child's own domain). So the hook asks
through a pipe, and a thread of the command kills the command; the child, waiting in the
hook with its transaction open, then dies of its parent-death signal, as it would if the
command were killed from outside. Uncontained, the hook kills its own process at once.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time


class CommandKiller:
    """Made in the command's process, before it runs the command; called in the hook."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self._read, self._write = os.pipe()
        threading.Thread(target=self._wait, name="kill-9", daemon=True).start()

    def _wait(self) -> None:
        if os.read(self._read, 1):
            os.kill(self.pid, signal.SIGKILL)

    def __call__(self) -> None:
        sys.stdout.flush()
        if os.getpid() == self.pid:
            os.kill(self.pid, signal.SIGKILL)
        os.write(self._write, b"k")
        time.sleep(300)  # until the command's death ends this child too
