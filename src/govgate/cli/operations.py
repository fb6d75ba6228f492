"""The commands around the runbook: audit, doctor, rehearse, serve, agent, directus."""

from __future__ import annotations

import sys

import click

from .. import api, logs
from ..config import MIN_INTERVAL
from ..text import escape
from . import collector
from .group import LOG_FORMAT, cli
from .output import emit, json_option, out, progress_bar
from .params import Count, Seconds


@cli.group(invoke_without_command=True)
@click.option("--limit", type=Count(1_000_000), metavar="N", help="Only the newest N events.")
@json_option
@click.pass_context
def audit(ctx, limit, as_json):
    """Show the audit trail (`audit verify` checks its hash chain, `audit export` saves it)."""
    if ctx.invoked_subcommand is None:
        emit(api.audit_trail(ctx.obj, limit), as_json, list_key="events")


@audit.command("verify")
@click.option("--checkpoint", metavar="FILE", help="A head.json of `audit export`, or a report.")
@json_option
@click.pass_obj
def audit_verify(settings, checkpoint, as_json):
    """Check the audit hash chain (and that FILE's row keeps its hash); exit 1 when broken."""
    emit(api.audit_verify(settings, checkpoint), as_json, exit_unless_ok=True)


@audit.command("export")
@click.argument("folder", metavar="DIR")
@json_option
@click.pass_obj
def audit_export(settings, folder, as_json):
    """Write the trail to DIR (new, empty or a previous export): audit.jsonl, head.json."""
    emit(api.audit_export(settings, folder), as_json)


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

    from ..web.app import create_app, loopback_hosts

    api.status(settings)  # fail fast (exit 3) when the database cannot be read
    collector.long_running()
    logs.configure(click.get_current_context().meta.get(LOG_FORMAT), sys.stderr)
    logs.emit({"event": "serving", "url": f"http://{host}:{port}/", "note": "Ctrl-C stops it"})
    uvicorn.run(  # its access and error logs go through the same pipeline (log_config=None)
        create_app(settings, allowed_hosts=loopback_hosts(host)),
        host=host,
        port=port,
        log_config=None,
        log_level="info",
        access_log=True,
        server_header=False,
    )


@cli.group()
def directus():
    """govgate inside the Directus app (`directus extension DIR` installs its extension)."""


@directus.command("extension")
@click.argument("folder", metavar="DIR")
@json_option
@click.pass_obj
def directus_extension(settings, folder, as_json):
    """Install govgate's Directus extension bundle into DIR, Directus's EXTENSIONS_PATH.

    Writes DIR/govgate/ (package.json, dist/), replacing a previous govgate bundle there whole.
    Restart Directus to load it. Exit 2 when DIR is not an existing folder.
    """
    result = api.directus_extension(folder)
    if as_json:
        emit(result, as_json)
        return
    for line in result.lines():
        out.print(escape(line), markup=False, emoji=False)


@cli.command()
@click.option("--once", is_flag=True, help="Check the gate once, act if READY, and exit.")
@click.option(
    "--interval",
    type=Seconds(MIN_INTERVAL),
    metavar="S",
    help="Seconds between polls (default: [agent] interval in govgate.toml, else 2). "
    "On PostgreSQL a new approval wakes the agent at once (LISTEN/NOTIFY).",
)
@click.pass_obj
def agent(settings, once, interval):
    """Watch the gate; run, verify and report the rollout once READY; keep watching.

    Logs one line per event on standard output: a JSON object (ts, level, event, fields), or
    text on a terminal (--log-format).
    Exit codes: 0 applied or already APPLIED; 1 BLOCKED, refused or aborted
    (rolled back); 3 environment error (--once; watching, outages are waited out
    with backoff); 143/130 stopped by SIGTERM/SIGINT (a rollout in progress is
    rolled back).
    """
    from ..agent import run

    collector.long_running()
    logs.configure(click.get_current_context().meta.get(LOG_FORMAT), sys.stdout)
    code = 0
    for event in run(settings, once=once, interval=interval):
        logs.emit(event.to_dict())
        code = event.get("exit_code", code)
    sys.exit(code)
