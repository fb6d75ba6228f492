"""The command line: parse, call one library function, render. Nothing else.

Errors are translated into a message and an exit code at one place, `main` (the table is
`errors.EXIT_*`): 0 done, 1 refused or a check failed, 2 bad input, 3 environment error,
130 Ctrl-C, 141 a closed pipe. Under `--json` (and `report --format json`) a failure is also
a JSON document on standard output, with the same exit code (docs/JSON.md):
`{"format_version": 1, "error": {"kind", "message", "hint"}}`. The commands live in
`runbook` and `operations`; `output` shows results.
"""

from __future__ import annotations

import os
import sys
import traceback

import click
from rich.markup import escape

from .. import logs
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
from . import collector, operations, runbook  # noqa: F401  (operations, runbook: the commands)
from .group import cli
from .output import emit_error, err, forget_json, json_wanted

__all__ = ["cli", "main"]


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and translate errors into exit codes."""
    with collector.one_command():
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    debug = "--debug" in args
    forget_json()
    try:
        cli.main(args=argv, prog_name="govgate", standalone_mode=False)
    except GovgateError as exc:
        return _fail(exc, debug, json_wanted(args))
    except click.exceptions.Abort as exc:
        code = EXIT_SIGINT if isinstance(exc.__context__, KeyboardInterrupt) else EXIT_REFUSED
        return _stopped(code, json_wanted(args))
    except KeyboardInterrupt:  # outside click's own handling: as Unix tools do
        return _stopped(EXIT_SIGINT, json_wanted(args))
    except BrokenPipeError:
        return _closed_pipe()
    except click.ClickException as exc:
        exc.show()
        if json_wanted(args):
            emit_error(kind=type(exc).__name__, message=exc.format_message(), hint=_usage(exc))
        return 2
    except SystemExit as exc:  # sys.exit inside a command
        return int(exc.code or 0)
    except Exception as exc:  # a bug: still no traceback unless asked for
        if debug:
            err.print(escape("".join(traceback.format_exception(exc))))
        err.print(f"[red]error:[/] unexpected {escape(shown(describe(exc)))}")
        err.print("  → run again with --debug for the traceback, and report it")
        if json_wanted(args):
            emit_error(
                kind="InternalError",
                message=f"unexpected {describe(exc)}",
                hint="run again with --debug for the traceback, and report it",
            )
        return EXIT_ENVIRONMENT
    finally:
        logs.reset()  # the command's log pipeline ends with it (the next may differ)
    return 0


def _stopped(code: int, as_json: bool) -> int:
    err.print("aborted; nothing was changed")
    if as_json:
        kind = "Interrupted" if code == EXIT_SIGINT else "Cancelled"
        emit_error(kind=kind, message="aborted; nothing was changed")
    return code


def _usage(exc: click.ClickException) -> str | None:
    ctx = getattr(exc, "ctx", None)
    return f"`{ctx.command_path} --help` lists what it takes" if ctx is not None else None


def _closed_pipe() -> int:
    # The reader went away (`govgate gap | head -1`): say nothing more, exit as Unix tools
    # do, and keep Python from complaining when it flushes stdout at exit.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
    return EXIT_SIGPIPE


def _fail(exc: GovgateError, debug: bool, as_json: bool) -> int:
    if as_json:
        emit_error(exc)
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
