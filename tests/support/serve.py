"""`govgate serve` as a process of its own, for the browser and the Directus extension tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest


@contextmanager
def govgate_serve(db_url: str, port: int, folder: Path) -> Iterator[str]:
    """Run `govgate serve` for DB_URL on 127.0.0.1:PORT until the block ends; yields its URL.

    Fails the test with the server's log when it does not answer /status.json within 30 s.
    """
    env = {**os.environ, "GOVGATE_CONFIG": os.devnull}
    log = (folder / "serve.log").open("w+")
    command = [sys.executable, "-m", "govgate.cli", "--db", db_url, "serve"]
    proc = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port)],
        cwd=folder,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/status.json", timeout=2, trust_env=False).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                pytest.fail(
                    f"govgate serve did not start (exit {proc.poll()}):\n{log.read()}",
                    pytrace=False,
                )
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
