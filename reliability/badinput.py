"""Bad input: every input of the corpus (corpus.py, corpus_more.py, reliability/corpus/) through
the real command line, and bad query strings against `govgate serve` running as a process.

Each command runs in a forked child (govgate imported already) under a 2 GB address-space
limit and a time limit, so that an input that eats memory or never ends is a measured
failure, not a lost run. Figures: the right exit code (or HTTP status), a message naming the
file, line or key, no traceback (the command's output and the web server's log), and the
database unchanged, row by row.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from .common import TRACEBACK, Figure, Servers, cli_main, forked, tally
from .corpus import LINE, Case, _plans, generated_files
from .corpus_more import WEB, WEB_GOOD
from .corpus_more import cases as more_cases

FAMILY = "bad input"
TIMEOUT = 30
MEMORY_MB = 2048


def all_cases(folder: Path) -> list[Case]:
    return _plans() + more_cases() + generated_files(folder)


def prepare(lab, folder: Path) -> None:
    """The files some cases name: a text file and an empty file posing as databases, a valid
    plan, a checkpoint that is a JSON list, an unreadable config, an immutable database."""
    (folder / "text.db").write_text("this is not a database\n")
    (folder / "empty.db").write_bytes(b"")
    (folder / "list.json").write_text("[1, 2, 3]\n")
    from support.constants import ONE_ROOF_PLAN

    (folder / "valid.yaml").write_text(
        ONE_ROOF_PLAN.read_text().replace("PROP-AUTHMODEL-1", "PROP-READONLY-1")
    )
    readonly = folder / "readonly.db"
    shutil.copyfile(lab.url.removeprefix("sqlite:///"), readonly)
    readonly.chmod(0o444)
    if os.geteuid() == 0:  # root writes through file modes: make it immutable instead
        subprocess.run(["chattr", "+i", str(readonly)], check=False, capture_output=True)


def release(folder: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(
            ["chattr", "-i", str(folder / "readonly.db")], check=False, capture_output=True
        )


def fill(text: str, lab, folder: Path, file: str) -> str:
    return text.replace("{db}", lab.url).replace("{dir}", str(folder)).replace("{file}", file)


def input_file(case: Case, folder: Path) -> str:
    if case.path:
        return case.path.replace("{dir}", str(folder))
    path = folder / f"{case.id}.{case.ext}"
    if case.content is not None:
        path.write_bytes(case.content)
    return str(path)


def named(case: Case, text: str, file: str, lab, folder: Path) -> bool:
    """The message names what each `where` of CASE asks for."""
    base = os.path.basename(file.rstrip("/")) or file
    for token in case.where:
        if token == LINE:
            if not re.search(re.escape(base) + r":\d+", text):
                return False
        elif token == "{file}":
            if base not in text:
                return False
        elif fill(token, lab, folder, file) not in text:
            return False
    return True


def run_cli(servers: Servers, folder: Path, sample: int | None = None) -> list[Figure]:
    lab = servers.lab("sqlite")
    prepare(lab, folder)
    code_ok, where_ok, no_trace, unchanged, no_bug = [], [], [], [], []
    try:
        todo = all_cases(folder)
        if sample:
            todo = todo[::sample]
        for case in todo:
            file = input_file(case, folder)
            argv = [fill(a, lab, folder, file) for a in case.argv]
            env = {k: fill(v, lab, folder, file) for k, v in case.env.items()}
            before = lab.snapshot()
            done = forked(cli_main(argv, env), folder, TIMEOUT, MEMORY_MB)
            text = done.out + done.err
            what = f"{case.group} {case.id}"
            ended = (
                "timed out"
                if done.timed_out
                else f"signal {done.signal}"
                if done.signal
                else f"exit {done.code}"
            )
            short = text.strip().replace("\n", " ")[:200]
            code_ok.append(
                (done.code == case.code, f"{what}: {ended}, expected {case.code}: {short}")
            )
            where_ok.append(
                (
                    named(case, text, file, lab, folder),
                    f"{what}: does not name {case.where}: {short}",
                )
            )
            no_trace.append((TRACEBACK not in text, f"{what}: a traceback: {short}"))
            # cli.main's last resort for an exception nobody expected: no traceback, but a bug.
            no_bug.append(
                (
                    not text.startswith("error: unexpected") and "\nerror: unexpected" not in text,
                    f"{what}: {short}",
                )
            )
            unchanged.append((lab.snapshot() == before, f"{what}: the database changed"))
    finally:
        release(folder)
        servers.drop(lab)
    return [code_ok, where_ok, no_trace, unchanged, no_bug]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_web(servers: Servers, folder: Path) -> list[list]:
    """`govgate serve` as a process; each bad query string, then its log scanned."""
    import httpx

    lab = servers.lab("sqlite")
    port, log = _free_port(), folder / "serve.log"
    env = {**os.environ, "GOVGATE_CONFIG": os.devnull}
    code_ok, where_ok, no_trace, unchanged, no_bug = [], [], [], [], []
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "govgate.cli",
                "--db",
                lab.url,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=folder,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=30, trust_env=False) as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    client.get("/status.json")
                    break
                except httpx.TransportError as exc:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(
                            "govgate serve did not start: " + log.read_text()
                        ) from exc
                    time.sleep(0.2)
            before = lab.snapshot()
            for query, status, where in [(q, 200, "") for q in WEB_GOOD] + WEB:
                seen = log.stat().st_size
                try:
                    answer = client.get(query)
                    got, body = answer.status_code, answer.text
                except httpx.HTTPError as exc:
                    got, body = None, str(exc)
                time.sleep(0.05)  # the server writes its log after the answer
                with open(log, "rb") as f:
                    f.seek(seen)
                    logged = f.read().decode("utf-8", "replace")
                what = f"web {query[:60]}"
                code_ok.append((got == status, f"{what}: HTTP {got}, expected {status}"))
                where_ok.append((where in body, f"{what}: the answer does not name {where!r}"))
                no_trace.append(
                    (
                        TRACEBACK not in logged and TRACEBACK not in body,
                        f"{what}: a traceback in the server's log",
                    )
                )
                no_bug.append((got != 500, f"{what}: HTTP 500"))
            unchanged.append((lab.snapshot() == before, "web: the database changed"))
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        servers.drop(lab)
    return [code_ok, where_ok, no_trace, unchanged, no_bug]


def run(servers: Servers, folder: Path, sample: int | None = None) -> list[Figure]:
    cli = run_cli(servers, folder, sample)
    web = run_web(servers, folder)
    total = len(cli[0]) + len(web[0])
    names = (
        "right exit code (HTTP status on the web)",
        "message naming file, line or key",
        "no traceback (output and the web server's log)",
        "database unchanged",
        "no 'unexpected error' (CLI) or HTTP 500 (web): a bug's last-resort path",
    )
    figures = [tally(FAMILY, name, a + b) for name, a, b in zip(names, cli, web, strict=True)]
    figures.append(
        Figure(
            FAMILY,
            "inputs in the corpus (at least 200)",
            total,
            total,
            minimum=0 if sample else 200,
        )
    )
    return figures
