"""The command line: parse, call one library function, render. Nothing else.

Errors are translated into a message and an exit code at one place, `main`:
0 done, 1 refused or a check failed, 2 bad input, 3 environment error.
"""

from __future__ import annotations

import getpass
import os
import sys
import traceback

import click
from rich.console import Console
from rich.markup import escape

from . import api
from .config import load_settings
from .errors import EXIT_ENVIRONMENT, GovgateError, PlanError, describe
from .render import text_lines, to_json

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


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
            out.print(line, markup=False)
    if exit_unless_ok and not value.ok:
        sys.exit(1)


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    "db_url",
    metavar="URL",
    help="Database URL (SQLAlchemy form); default from "
    "GOVGATE_DB or govgate.toml, else sqlite:///oneroof-demo.db.",
)
@click.option(
    "--agent-db",
    "agent_url",
    metavar="URL",
    help="The agent's own database URL (default: GOVGATE_AGENT_DB, [agent] db, else the main URL).",
)
@click.option(
    "--config", "config_path", metavar="FILE", help="Configuration file (default govgate.toml)."
)
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.pass_context
def cli(ctx, db_url, agent_url, config_path, debug):
    """govgate: human-gated, verified, reversible governance rollouts."""
    ctx.obj = load_settings(config_path).with_db(db_url, agent_url)


@cli.command()
@click.argument("path", required=False)
@click.option("--rows", default=5, show_default=True, help="Sample rows per app table.")
@click.pass_obj
def demo(settings, path, rows):
    """Build the One-Roof production replica (SQLite at PATH, or the --db database).

    Default PATH: oneroof-demo.db when no --db is given.
    """
    emit(api.demo(settings, path, actor=operator(), rows_per_table=rows))


@cli.command()
@click.option(
    "--roles",
    is_flag=True,
    help="Also create the PostgreSQL roles govgate_agent and govgate_approver.",
)
@click.pass_obj
def init(settings, roles):
    """Create the governance tables that are missing (and roles); never alters existing rows."""
    emit(api.init(settings, actor=operator(), roles=roles))


@cli.command()
@click.option("--why", is_flag=True, help="List every reason, each with what would clear it.")
@click.option("--proposal", "proposal_id", metavar="ID", help="Ask about another proposal.")
@json_option
@click.pass_obj
def status(settings, why, proposal_id, as_json):
    """Print the gate in one word: BLOCKED, READY or APPLIED."""
    emit(api.status(settings, proposal_id), as_json, why=why)


@cli.command()
@json_option
@click.pass_obj
def gap(settings, as_json):
    """Show the ownership gap by authority, domain and collection."""
    emit(api.gap(settings), as_json)


@cli.command()
@click.argument("plan", type=click.Path(dir_okay=False))
@json_option
@click.pass_obj
def propose(settings, plan, as_json):
    """Validate PLAN and freeze it as a proposal; print its summary and hash."""
    emit(api.propose(settings, plan, actor=operator()), as_json)


@cli.group(invoke_without_command=True)
@click.option("--limit", type=int, help="Only the newest N events.")
@json_option
@click.pass_context
def audit(ctx, limit, as_json):
    """Show the audit trail (`audit verify` checks its hash chain)."""
    if ctx.invoked_subcommand is None:
        emit(api.audit_trail(ctx.obj, limit), as_json)


@audit.command("verify")
@json_option
@click.pass_obj
def audit_verify(settings, as_json):
    """Check the audit hash chain; exit 1 when it is broken."""
    emit(api.audit_verify(settings), as_json, exit_unless_ok=True)


@cli.command()
@click.argument("proposal_id", metavar="PROPOSAL")
@click.option(
    "--as",
    "approver",
    metavar="NAME",
    help="Who you are (on Directus: your e-mail). Default: GOVGATE_USER, else your login name.",
)
@click.option(
    "--approval-id",
    metavar="ID",
    help="The approval's id (default: the plan's, or the next free one).",
)
@click.option(
    "--statement", help="What you state by approving (default: a sentence naming the hash)."
)
@click.pass_obj
def ratify(settings, proposal_id, approver, approval_id, statement):
    """Ratify PROPOSAL as a human: shows what you approve and asks you to type its approval id.

    Refuses without an interactive terminal and refuses the agent's identity.
    """

    def confirm(request) -> str:
        for line in request.lines():
            out.print(line, markup=False)
        return click.prompt(
            "Type the approval id to approve (anything else cancels)",
            default="",
            show_default=False,
        )

    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    emit(
        api.ratify(
            settings,
            proposal_id,
            approver=approver or operator(),
            confirm=confirm,
            interactive=interactive,
            approval_id=approval_id,
            statement=statement,
        )
    )


@cli.command()
@click.option(
    "--dry-run", is_flag=True, help="Do everything inside a transaction that is then rolled back."
)
@json_option
@click.pass_obj
def apply(settings, dry_run, as_json):
    """Run the ratified rollout: one verified transaction, only when the gate is READY."""
    emit(api.apply(settings, dry_run=dry_run), as_json)


@cli.command()
@json_option
@click.pass_obj
def verify(settings, as_json):
    """Re-run the rollout's post-conditions: all green, or each failure (exit 1)."""
    result = api.verify(settings)
    emit(result, as_json, exit_unless_ok=bool(result.checks))


@cli.command()
@click.option(
    "--force", is_flag=True, help="Remove the rollout's rows even if they were edited (audited)."
)
@json_option
@click.pass_obj
def rollback(settings, force, as_json):
    """Undo the rollout in one command and prove the state is back where it started."""
    emit(api.rollback(settings, force=force), as_json)


@cli.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "html"]),
    default="text",
    show_default=True,
)
@click.option("--rollout", "rollout_id", metavar="ID", help="Another rollout than the last one.")
@json_option
@click.pass_obj
def report(settings, fmt, rollout_id, as_json):
    """The last rollout's report, in words a non-technical owner reads."""
    result = api.report(settings, rollout_id)
    if fmt == "html":
        from .web.pages import render_report_page

        click.echo(render_report_page(result.data))
    else:
        emit(result, as_json or fmt == "json")


@cli.command()
@json_option
@click.pass_obj
def doctor(settings, as_json):
    """Check connectivity, the schema version, and what the agent's credentials can write."""
    emit(api.doctor(settings), as_json, exit_unless_ok=True)


@cli.command()
@click.argument("plan", required=False, type=click.Path(dir_okay=False))
@json_option
@click.pass_obj
def rehearse(settings, plan, as_json):
    """Rehearse the whole runbook on a fresh copy of production; production is only read.

    Copies production, then on the copy alone: propose (PLAN, or the frozen proposal), a
    rehearsal-only approval, apply, verify, rollback, and a row-by-row comparison with the start.
    Exit 1 when any step fails.
    """
    emit(
        api.rehearse(settings, plan, progress=None if as_json else progress_bar()),
        as_json,
        exit_unless_ok=True,
    )


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


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8765,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on.",
)
@click.pass_obj
def serve(settings, host, port):
    """The read-only web dashboard: the gate, the gap, what approving changes, the report, the
    audit trail.

    GET and HEAD only, on read-only database connections. Ctrl-C stops it.
    """
    import uvicorn

    from .web.app import create_app, loopback_hosts

    api.status(settings)  # fail fast (exit 3) when the database cannot be read
    out.print(
        f"govgate dashboard (read-only) on http://{host}:{port}/ — Ctrl-C stops it", markup=False
    )
    uvicorn.run(
        create_app(settings, allowed_hosts=loopback_hosts(host)),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        server_header=False,
    )


@cli.command()
@click.option("--once", is_flag=True, help="Check the gate once, act if READY, and exit.")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.05),
    metavar="S",
    help="Seconds between polls (default: [agent] interval in govgate.toml, else 2). "
    "On PostgreSQL a new approval wakes the agent at once (LISTEN/NOTIFY).",
)
@click.pass_obj
def agent(settings, once, interval):
    """Watch the gate; run, verify and report the rollout once READY; keep watching.

    Logs one JSON object a line (ts, level, event, fields) on standard output.
    Exit codes: 0 applied or already APPLIED; 1 BLOCKED, refused or aborted
    (rolled back); 3 environment error (--once; watching, outages are waited out
    with backoff); 143/130 stopped by SIGTERM/SIGINT (a rollout in progress is
    rolled back).
    """
    from .agent import run
    from .agent.events import line

    code = 0
    for event in run(settings, once=once, interval=interval):
        click.echo(line(event))
        code = event.get("exit_code", code)
    sys.exit(code)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and translate errors into exit codes."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="govgate", standalone_mode=False)
    except GovgateError as exc:
        return _fail(exc, debug)
    except click.exceptions.Abort:
        err.print("aborted")
        return 1
    except click.ClickException as exc:
        exc.show()
        return 2
    except SystemExit as exc:  # sys.exit inside a command
        return int(exc.code or 0)
    except Exception as exc:  # a bug: still no traceback unless asked for
        if debug:
            err.print(escape("".join(traceback.format_exception(exc))))
        err.print(f"[red]error:[/] unexpected {escape(describe(exc))}")
        err.print("  → run again with --debug for the traceback, and report it")
        return EXIT_ENVIRONMENT
    return 0


def _fail(exc: GovgateError, debug: bool) -> int:
    if debug:
        err.print(escape("".join(traceback.format_exception(exc))))
    problems = exc.problems if isinstance(exc, PlanError) else ()
    if len(problems) > 1:
        err.print(f"[red]error:[/] {len(problems)} problems in the plan; nothing was changed")
        for p in problems:
            err.print(f"  • {escape(str(p))}")
    else:
        err.print(f"[red]error:[/] {escape(exc.message)}")
        if exc.hint:
            err.print(f"  → {escape(exc.hint)}")
    return exc.exit_code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
