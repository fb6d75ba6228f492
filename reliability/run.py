"""`make reliability`: every family at full size; one line per figure; docs/RELIABILITY.md.

    python -m reliability.run [--backends sqlite,postgres,mariadb] [--families …] [--no-record]

Exit 0 when every figure meets its bar, 1 otherwise (the record is written either way).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time

from .common import BACKENDS, Figure, Servers, scratch_folder

FAMILIES = ("faults", "concurrency", "badinput", "forgery", "properties")


def measure(
    servers: Servers,
    backends: tuple[str, ...],
    families: tuple[str, ...],
    folder,
    sizes: dict[str, int],
    sample: int | None = None,
    report=print,
) -> list[Figure]:
    """Run FAMILIES; REPORT each figure's line as soon as its family ends."""
    from . import badinput, concurrency, faults, forgery, properties

    figures: list[Figure] = []
    for family in families:
        if family == "faults":
            found = faults.run(servers, backends, sizes["faults"], folder, sample=sample)
        elif family == "concurrency":
            found = concurrency.run(servers, backends, sizes["concurrency"], folder)
        elif family == "badinput":
            found = badinput.run(servers, folder, sample=sample)
        elif family == "forgery":
            found = forgery.run(servers, backends, folder, sample=sample)
        else:
            found = properties.run(servers, sizes["properties"], folder)
        for figure in found:
            report(figure.line())
        figures += found
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reliability.run", description=__doc__)
    parser.add_argument(
        "--backends",
        default=",".join(BACKENDS),
        help="comma-separated: sqlite, postgres, mariadb (default: all three)",
    )
    parser.add_argument(
        "--families", default=",".join(FAMILIES), help=f"comma-separated, of {', '.join(FAMILIES)}"
    )
    parser.add_argument("--fault-trials", type=int, default=500)
    parser.add_argument("--concurrency-trials", type=int, default=51)
    parser.add_argument("--examples", type=int, default=200, help="hypothesis examples")
    parser.add_argument("--no-record", action="store_true", help="do not write docs/RELIABILITY.md")
    args = parser.parse_args(argv)
    backends = tuple(b for b in args.backends.split(",") if b)
    families = tuple(f for f in args.families.split(",") if f)
    unknown = set(backends) - set(BACKENDS) | set(families) - set(FAMILIES)
    if unknown:
        parser.error(f"unknown: {', '.join(sorted(unknown))}")
    sizes = {
        "faults": args.fault_trials,
        "concurrency": args.concurrency_trials,
        "properties": args.examples,
    }
    folder = scratch_folder("govgate-reliability-")
    started = time.monotonic()
    try:
        with Servers(backends, folder) as servers:
            from . import record

            facts = record.machine(servers)
            print("machine: " + ", ".join(f"{k} {v}" for k, v in facts.items()), flush=True)
            figures = measure(
                servers,
                backends,
                families,
                folder,
                sizes,
                report=lambda line: print(line, flush=True),
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    seconds = time.monotonic() - started
    if not args.no_record:
        command = "make reliability" + (f" RELIABILITY_ARGS='{' '.join(argv)}'" if argv else "")
        record.write(figures, facts, command, seconds)
        print(f"recorded in {record.DOC.relative_to(record.ROOT)}", flush=True)
    failed = [f for f in figures if not f.ok]
    for figure in failed:  # what missed, so a run with --no-record still says what to fix
        print(f"missed: {figure.family}: {figure.name}", flush=True)
        for line in figure.failures[:20]:
            print(f"  - {line}", flush=True)
    print(
        f"{len(figures) - len(failed)} of {len(figures)} figures meet their bar "
        f"({seconds / 60:.1f} minutes)"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
