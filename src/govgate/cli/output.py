"""How the command line shows things: the consoles, the one `emit`, who the operator is."""

from __future__ import annotations

import getpass
import os
import shlex
import shutil
import sys

import click
from rich.console import Console

from ..render import text_lines, to_json


class _Console(Console):
    """Rich's console, letting a closed pipe reach the one exit-code boundary (`cli.main`)."""

    def on_broken_pipe(self) -> None:  # Rich's own would exit 1
        raise BrokenPipeError


out = _Console(highlight=False, soft_wrap=True)
err = _Console(stderr=True, highlight=False, soft_wrap=True)


def operator() -> str:
    """The human running a command, for journals and the audit trail."""
    return os.environ.get("GOVGATE_USER") or getpass.getuser()


def emit(value, as_json: bool = False, *, exit_unless_ok: bool = False, **opts) -> None:
    """The one way a command shows its result; with EXIT_UNLESS_OK a result that is not ok exits
    1.
    """
    if as_json:
        click.echo(to_json(value))
    else:
        for line in text_lines(value, **opts):
            out.print(line, markup=False, emoji=False)
    if exit_unless_ok and not value.ok:
        sys.exit(1)


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")


def pager_configured() -> bool:
    """True when $PAGER names a program (without one, click would print the whole list)."""
    try:
        argv = shlex.split(os.environ.get("PAGER", ""))
    except ValueError:
        return False
    return bool(argv) and shutil.which(argv[0]) is not None


def progress_bar():
    """A progress callback that draws on a terminal and stays quiet otherwise."""
    if not err.is_terminal:
        return None
    from rich.progress import Progress

    bar = Progress(console=err, transient=True)
    tasks: dict[str, int] = {}

    def update(what: str, done: int, total: int) -> None:
        if what not in tasks:
            bar.start()
            tasks[what] = bar.add_task(what, total=total)
        bar.update(tasks[what], completed=done, total=total)
        if done >= total:
            bar.stop()

    return update
