"""How the command line shows things: the consoles, the one `emit`, who the operator is."""

from __future__ import annotations

import getpass
import os
import shlex
import shutil
import sys

import click
from rich.console import Console

from ..render import dumps, error_document, text_lines, to_json


class _Console(Console):
    """Rich's console, letting a closed pipe reach the one exit-code boundary (`cli.main`)."""

    def on_broken_pipe(self) -> None:  # Rich's own would exit 1
        raise BrokenPipeError


out = _Console(highlight=False, soft_wrap=True)
err = _Console(stderr=True, highlight=False, soft_wrap=True)


def operator() -> str:
    """The human running a command, for journals and the audit trail."""
    return os.environ.get("GOVGATE_USER") or getpass.getuser()


def program() -> str:
    """How to run govgate again from here, for commands a person is told to type next:
    `govgate` when that is what runs, else the path this process was started by."""
    started = sys.argv[0] if sys.argv else ""
    if os.path.basename(started) != "govgate":
        return "govgate"  # `python -m govgate`, a test: the installed command's name
    on_path = shutil.which("govgate")
    if on_path and os.path.realpath(on_path) == os.path.realpath(started):
        return "govgate"
    return shlex.quote(started)


def emit(
    value,
    as_json: bool = False,
    *,
    exit_unless_ok: bool = False,
    list_key: str | None = None,
    **opts,
) -> None:
    """The one way a command shows its result; with EXIT_UNLESS_OK a result that is not ok exits
    1. As JSON, a list result is the value of LIST_KEY in the document (`render.document`).
    """
    if as_json:
        click.echo(to_json(value, list_key))
    else:
        lines = text_lines(value, **opts)
        if lines and all(type(line) is str for line in lines):
            # One call for plain lines, the same bytes: a call per line was 40 µs each, most of
            # a `propose` that lists 10,000 collections.
            out.print("\n".join(lines), markup=False, emoji=False)
        else:  # Rich Text keeps its styles line by line
            for line in lines:
                out.print(line, markup=False, emoji=False)
    if exit_unless_ok and not value.ok:
        sys.exit(1)


class _JsonWanted:
    """Whether the running command prints JSON (`--json`, `--format json`): then its errors
    are a JSON document on standard output too (`cli.main`, `render.error_document`)."""

    on = False

    @classmethod
    def remember(cls, _ctx, _param, value):
        if value is True or value == "json":
            cls.on = True
        return value


def json_wanted(argv: list[str]) -> bool:
    """True when the command asked for JSON; ARGV decides when parsing failed before that."""
    return _JsonWanted.on or "--json" in argv


def forget_json() -> None:
    _JsonWanted.on = False


def emit_error(exc: BaseException | None = None, **fields) -> None:
    """A failure as the JSON document scripts read (`render.error_document`), on stdout."""
    click.echo(dumps(error_document(exc, **fields)))


remember_json = _JsonWanted.remember
json_option = click.option(
    "--json",
    "as_json",
    is_flag=True,
    callback=remember_json,
    help="Print JSON instead of text (docs/JSON.md); errors too, on standard output.",
)


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
