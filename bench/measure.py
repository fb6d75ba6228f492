"""Timing govgate's runbook on one case, in-process (`api.*`) and as CLI processes.

One round, repeated --repeat times:

1. in-process: propose (a fresh proposal id), approve (signed, untimed), status (READY),
   apply (its verification included), status again (`status-applied`: APPLIED, the state a
   database stays in after its rollout), verify, rollback;
2. as processes: `govgate --version` (start-up and imports alone), `govgate propose`, approve
   (untimed), `govgate status`, `apply`, `status`, `verify`, `rollback`, each a fresh
   `.venv/bin/govgate` with GOVGATE_CONFIG=/dev/null;
3. rehearse, in-process and as a process;
4. each baseline (the floor, Sqitch) once, so that every figure of a round sees the same load.

Every rollback returns the database to the gap, so each round starts from the same state.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import subprocess
import sys
import time
import warnings
from pathlib import Path

from data import Case, approve, expected_rows, write_plan
from govgate import api
from govgate.web.app import create_app

with warnings.catch_warnings():  # starlette's test client warns about httpx's version
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

GOVGATE = str(Path(sys.executable).parent / "govgate")
OPERATIONS = ("propose", "status", "apply", "status-applied", "verify", "rollback", "rehearse")


def timed(fn) -> float:
    """Milliseconds FN takes."""
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def cli(case: Case, *args: str, code: int = 0) -> float:
    """Milliseconds of `govgate ARGS` as a process; RuntimeError with its output unless it
    exits with CODE."""
    command = [GOVGATE, *case.cli_args(), *args]
    start = time.perf_counter()
    done = subprocess.run(
        command, cwd=case.folder, env=case.cli_env(), capture_output=True, text=True, check=False
    )
    elapsed = (time.perf_counter() - start) * 1000
    if done.returncode != code:
        raise RuntimeError(
            f"{' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}"
        )
    return elapsed


def _check(what: str, got, want) -> None:
    if got != want:
        raise RuntimeError(f"{what}: expected {want}, got {got}")


def in_process_round(case: Case, tag: str, out: dict[str, list[float]]) -> None:
    """One in-process round; appends milliseconds to OUT[op]."""
    settings = case.settings
    plan = write_plan(case, f"PROP-BENCH-{tag}-IP")
    result = None

    def propose() -> None:
        nonlocal result
        result = api.propose(settings, plan, actor="bench-engineer")

    out["propose"].append(timed(propose))
    slots = sorted((x.collection, x.duty, x.authority) for x in result.proposal.slots)
    _check("proposal slots (the rows every baseline writes)", slots, expected_rows(case.size))
    approve(case)
    verdict = None

    def status() -> None:
        nonlocal verdict
        verdict = api.status(settings)

    out["status"].append(timed(status))
    _check("status before apply", verdict.status.value, "READY")
    out["poll"].append(page_poll(case))
    rollout = None

    def apply() -> None:
        nonlocal rollout
        rollout = api.apply(settings)

    out["apply"].append(timed(apply))
    _check("records applied", rollout.records, case.size.slots)
    out["status-applied"].append(timed(status))
    _check("status after apply", verdict.status.value, "APPLIED")
    out["verify"].append(timed(lambda: api.verify(settings)))
    out["rollback"].append(timed(lambda: api.rollback(settings)))


def page_poll(case: Case, polls: int = 20) -> float:
    """Median milliseconds of the page's `/status.json` when nothing changed since the last
    poll (the first, which computes the verdict, is not counted): what each open tab costs
    every few seconds while the state stands still."""
    with TestClient(create_app(case.settings)) as client:
        client.get("/status.json").raise_for_status()
        times = sorted(
            timed(lambda: client.get("/status.json").raise_for_status()) for _ in range(polls)
        )
    return times[len(times) // 2]


def cli_round(case: Case, tag: str, out: dict[str, list[float]]) -> None:
    """One round of CLI processes; appends milliseconds to OUT[op]."""
    out["startup"].append(cli(case, "--version"))  # the process and its imports, nothing else
    out["propose"].append(cli(case, "propose", write_plan(case, f"PROP-BENCH-{tag}-CLI")))
    approve(case)
    out["status"].append(cli(case, "status", "--exit-code"))  # exit 0: READY
    out["apply"].append(cli(case, "apply"))
    out["status-applied"].append(cli(case, "status", "--exit-code", code=4))  # 4: APPLIED
    out["verify"].append(cli(case, "verify"))
    out["rollback"].append(cli(case, "rollback", "--yes"))


def measure(case: Case, repeat: int, baselines=(), say=print, warm_up: bool = False) -> dict:
    """Samples in milliseconds, {measure: [ms]}: `ip:OP` in-process, `cli:OP` as processes, and
    whatever the BASELINES ((name, function appending to the samples) pairs) add. Each round
    runs govgate and then every baseline once, so that all of them see the same machine load.

    With WARM_UP, one untimed in-process round first: the first case of a database pays for
    importing and compiling what later cases find ready, which is not the rollout's cost.
    """
    inproc: dict[str, list[float]] = {op: [] for op in (*OPERATIONS, "poll")}
    procs: dict[str, list[float]] = {op: [] for op in (*OPERATIONS, "startup")}
    others: dict[str, list[float]] = {}
    if warm_up:
        say("  warm-up round (untimed)")
        in_process_round(case, "WARMUP", {op: [] for op in (*OPERATIONS, "poll")})
        api.rehearse(case.settings)
    for n in range(1, repeat + 1):
        say(f"  round {n}/{repeat}: in-process")
        in_process_round(case, f"{n}", inproc)
        say(f"  round {n}/{repeat}: CLI")
        cli_round(case, f"{n}", procs)
        say(f"  round {n}/{repeat}: rehearse")
        inproc["rehearse"].append(timed(lambda: api.rehearse(case.settings)))
        procs["rehearse"].append(cli(case, "rehearse"))
        for name, one_round in baselines:
            say(f"  round {n}/{repeat}: {name}")
            one_round(others)
    return {
        **{f"ip:{k}": v for k, v in inproc.items()},
        **{f"cli:{k}": v for k, v in procs.items()},
        **others,
    }


def _tidy(text: str) -> str:
    """pstats' text without blank lines, paths relative to the repository or site-packages."""
    root = str(Path(__file__).resolve().parent.parent) + "/"
    site = next((p for p in sys.path if p.endswith("site-packages")), None)
    for prefix in filter(None, (site and site + "/", root)):
        text = text.replace(prefix, "")
    return "\n".join(line for line in text.splitlines() if line.strip())


def profile(case: Case, top: int = 15) -> dict[str, str]:
    """cProfile of in-process `status` (READY) and `apply`: the TOP cumulative entries of each."""
    settings = case.settings
    api.propose(settings, write_plan(case, "PROP-BENCH-PROFILE"), actor="bench-engineer")
    approve(case)
    texts = {}
    for name, fn in (
        ("status", lambda: api.status(settings)),
        ("apply", lambda: api.apply(settings)),
    ):
        prof = cProfile.Profile()
        prof.enable()
        fn()
        prof.disable()
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(top)
        texts[name] = _tidy(buf.getvalue())
    api.rollback(settings)
    return texts


def import_profile(top: int = 15) -> str:
    """`python -X importtime -c "import govgate.cli"` in a fresh process: the TOP imports by
    cumulative and by own microseconds (what every CLI process pays before it does anything)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import govgate.cli"],
        capture_output=True,
        text=True,
        check=True,
    )
    entries = []
    for line in done.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            entries.append((int(parts[1]), int(parts[0]), parts[2].rstrip()))
    lines = [f"by cumulative time:\n{'cumulative µs':>14} {'self µs':>9}  module"]
    lines += [f"{c:>14,} {s:>9,}  {name}" for c, s, name in sorted(entries, reverse=True)[:top]]
    lines.append(f"by own time:\n{'cumulative µs':>14} {'self µs':>9}  module")
    by_self = sorted(entries, key=lambda e: e[1], reverse=True)[:top]
    lines += [f"{c:>14,} {s:>9,}  {name.strip()}" for c, s, name in by_self]
    return "\n".join(lines)
