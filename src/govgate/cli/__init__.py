"""The command line: parse, call one library function, render. Nothing else.

Errors are translated into a message and an exit code at one place, `main` (the table is
`errors.EXIT_*`): 0 done, 1 refused or a check failed, 2 bad input, 3 environment error,
130 Ctrl-C. The commands live in `runbook` and `operations`; `output` shows results.
"""

from __future__ import annotations

import gc
import os
import sys
import traceback

import click
from rich.markup import escape

from ..errors import (
    EXIT_ENVIRONMENT,
    EXIT_REFUSED,
    EXIT_SIGINT,
    EXIT_SIGPIPE,
    GovgateError,
    PlanError,
    describe,
)
from ..text import escape as shown
from . import operations, runbook  # noqa: F401  (registers the commands on the group)
from .group import cli
from .output import err

__all__ = ["cli", "main"]


def _tune_garbage_collector() -> None:
    # A rollout builds hundreds of thousands of small tuples that live until it ends; with the
    # default thresholds the cyclic collector rescans them over and over (half of a 60,000-slot
    # apply). Nothing govgate builds is cyclic garbage worth that: collect far less often, and
    # leave what was imported at start-up out of every scan.
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and translate errors into exit codes."""
    _tune_garbage_collector()
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="govgate", standalone_mode=False)
    except GovgateError as exc:
        return _fail(exc, debug)
    except click.exceptions.Abort as exc:
        err.print("aborted; nothing was changed")
        return EXIT_SIGINT if isinstance(exc.__context__, KeyboardInterrupt) else EXIT_REFUSED
    except KeyboardInterrupt:  # outside click's own handling: as Unix tools do
        err.print("aborted; nothing was changed")
        return EXIT_SIGINT
    except BrokenPipeError:
        return _closed_pipe()
    except click.ClickException as exc:
        exc.show()
        return 2
    except SystemExit as exc:  # sys.exit inside a command
        return int(exc.code or 0)
    except Exception as exc:  # a bug: still no traceback unless asked for
        if debug:
            err.print(escape("".join(traceback.format_exception(exc))))
        err.print(f"[red]error:[/] unexpected {escape(shown(describe(exc)))}")
        err.print("  → run again with --debug for the traceback, and report it")
        return EXIT_ENVIRONMENT
    return 0


def _closed_pipe() -> int:
    # The reader went away (`govgate gap | head -1`): say nothing more, exit as Unix tools
    # do, and keep Python from complaining when it flushes stdout at exit.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
    return EXIT_SIGPIPE


def _fail(exc: GovgateError, debug: bool) -> int:
    if debug:
        err.print(escape("".join(traceback.format_exception(exc))))
    problems = exc.problems if isinstance(exc, PlanError) else ()
    if len(problems) > 1:
        err.print(f"[red]error:[/] {len(problems)} problems in the plan; nothing was changed")
        for p in problems:
            err.print(f"  • {escape(shown(p))}")
    else:
        err.print(f"[red]error:[/] {escape(shown(exc.message))}")
        if exc.hint:
            err.print(f"  → {escape(shown(exc.hint))}")
    return exc.exit_code
