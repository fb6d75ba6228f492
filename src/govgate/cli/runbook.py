"""The runbook's commands: demo, init, upgrade, status, gap, propose, ratify, apply, verify,
rollback, report. Each parses, calls one library function and renders."""

from __future__ import annotations

import sys

import click
from rich.markup import escape

from .. import api
from ..render import text_lines
from ..signing import signer as signer_mod
from ..text import html_safe
from .group import cli
from .output import (
    emit,
    err,
    json_option,
    operator,
    out,
    pager_configured,
    program,
    remember_json,
)


@cli.command()
@click.argument("path", required=False)
@click.option("--rows", default=5, show_default=True, help="Sample rows per app table.")
@click.pass_obj
def demo(settings, path, rows):
    """Build the One-Roof production replica (SQLite at PATH, or the --db database).

    Default PATH: oneroof-demo.db when no --db is given.
    """
    emit(api.demo(settings, path, actor=operator(), rows_per_table=rows), prog=program())


@cli.command()
@click.option(
    "--roles",
    is_flag=True,
    help="Also create the PostgreSQL roles govgate_agent and govgate_approver.",
)
@click.option(
    "--sql-registration",
    is_flag=True,
    help="On a Directus database: register the tables by writing Directus's rows with SQL, "
    "not through its REST API (then restart Directus).",
)
@click.pass_obj
def init(settings, roles, sql_registration):
    """Create the governance tables that are missing (and roles); never alters existing rows.

    On a Directus database, registers them through Directus's REST API (GOVGATE_DIRECTUS_URL and
    an admin's GOVGATE_DIRECTUS_TOKEN), or with --sql-registration.
    """
    emit(api.init(settings, actor=operator(), roles=roles, sql_registration=sql_registration))


@cli.command()
@json_option
@click.pass_obj
def upgrade(settings, as_json):
    """Migrate govgate's own tables to this version, in one transaction (once per release)."""
    emit(api.upgrade(settings, actor=operator()), as_json)


@cli.command()
@click.option("--why", is_flag=True, help="List every reason, each with what would clear it.")
@click.option("--proposal", "proposal_id", metavar="ID", help="Ask about another proposal.")
@click.option(
    "--exit-code",
    "exit_code",
    is_flag=True,
    help="Exit with the gate's word: 0 READY, 1 BLOCKED, 4 APPLIED, 5 DRIFTED (2/3 as always).",
)
@json_option
@click.pass_obj
def status(settings, why, proposal_id, exit_code, as_json):
    """Print the gate in one word: BLOCKED, READY, APPLIED or DRIFTED."""
    verdict = api.status(settings, proposal_id, liveness=why or as_json)
    emit(verdict, as_json, why=why)
    if exit_code:
        sys.exit(STATUS_EXIT[verdict.status.value])


# `status --exit-code`, for scripts and CI: one code per word, apart from 2 and 3.
STATUS_EXIT = {"READY": 0, "BLOCKED": 1, "APPLIED": 4, "DRIFTED": 5}


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
@click.option("--full", is_flag=True, help="List every collection, however long the list.")
@click.option(
    "--sign-key",
    metavar="KEY",
    help="Sign the approval with this OpenSSH private key (with --sign-agent: the .pub of the "
    "agent's key to use).",
)
@click.option(
    "--sign-agent", is_flag=True, help="Sign through ssh-agent ($SSH_AUTH_SOCK): a FIDO key too."
)
@click.option(
    "--token",
    "use_token",
    is_flag=True,
    help="On Directus: sign in with your personal token (asked without echo), not a password.",
)
@click.pass_obj
def ratify(
    settings, proposal_id, approver, approval_id, statement, full, sign_key, sign_agent, use_token
):
    """Ratify PROPOSAL as a human: shows what you approve and asks you to type its approval id.

    The totals come first; a list longer than 40 lines goes to $PAGER, or needs --full.
    On a Directus database with [directus] url set, you sign in to Directus (e-mail and
    password, one-time password when enabled, or --token) and Directus creates the approval.
    --sign-key/--sign-agent also sign it (OpenSSH SSHSIG). Refuses without an interactive
    terminal, the agent's identity, and the proposal's own author.
    """

    def confirm(request) -> str:
        paged = interactive and not full and request.is_long() and pager_configured()
        for line in text_lines(request.lines(full=full, paged=paged)):
            out.print(line, markup=False, emoji=False)
        if paged:
            click.echo_via_pager("\n".join(text_lines(request.details())))
        return click.prompt(
            "Type the approval id to approve (anything else cancels)",
            default="",
            show_default=False,
        )

    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    signer = _signer(sign_key, sign_agent) if interactive else None
    session = None
    server = api.ratify_server(settings) if interactive else None
    if server:
        session = _sign_in(server, approver, use_token)
        me = session.me()
        approver = me.get("email") or me.get("id") or approver
    try:
        emit(
            api.ratify(
                settings,
                proposal_id,
                approver=approver or operator(),
                confirm=confirm,
                interactive=interactive,
                approval_id=approval_id,
                statement=statement,
                signer=signer,
                directus=session,
            )
        )
    finally:
        if session is not None:
            session.logout()


def _signer(sign_key: str | None, sign_agent: bool):
    """The signer the options name; asks for the key's passphrase without echo."""
    if sign_agent:
        return signer_mod.AgentSigner(key=sign_key)
    if not sign_key:
        return None
    passphrase = None
    if signer_mod.needs_passphrase(sign_key):
        passphrase = click.prompt(f"Passphrase for {sign_key}", hide_input=True).encode()
    return signer_mod.KeySigner(sign_key, passphrase)


def _sign_in(server: str, email: str | None, use_token: bool):
    """A Directus session for the person at the terminal; nothing they type is stored."""
    from ..directus import rest  # here: no other command needs Directus's REST client

    out.print(f"Approvals here are made through Directus at {server}: sign in.", markup=False)
    if use_token:
        return rest.with_token(server, click.prompt("Directus token", hide_input=True))
    email = email or click.prompt("Directus e-mail")
    password = click.prompt("Password", hide_input=True)
    try:
        return rest.login(server, email, password)
    except rest.DirectusRefused as exc:
        if exc.code != "INVALID_OTP":
            raise
    return rest.login(server, email, password, click.prompt("One-time password"))


@cli.command()
@click.option(
    "--dry-run", is_flag=True, help="Do everything inside a transaction that is then rolled back."
)
@json_option
@click.pass_obj
def apply(settings, dry_run, as_json):
    """Run the ratified rollout: one verified transaction, only when the gate is READY."""
    from ..guards import containment

    found = containment.decide(settings)
    if not found.contained and not found.refuses:  # `required` refuses with its own words
        err.print(f"note: {escape(found.words)}")
    emit(api.apply(settings, dry_run=dry_run, actor=operator()), as_json)


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
@click.option("--rollout", "rollout_id", metavar="ID", help="Undo this rollout in effect.")
@click.option(
    "--proposal", "proposal_id", metavar="ID", help="Undo the rollout in effect of this proposal."
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Show what would be removed and prove the fingerprint it would return to, in a "
    "transaction that is then rolled back.",
)
@click.option(
    "--yes", "-y", is_flag=True, help="Do not ask; without a terminal (scripts, CI) it is needed."
)
@json_option
@click.pass_obj
def rollback(settings, force, rollout_id, proposal_id, dry_run, yes, as_json):
    """Undo a rollout in one command and prove the state is back where it started.

    Default: the latest rollout in effect, whatever proposal is newest. At a terminal it first
    shows what it will remove (a dry run) and asks; --yes does not ask, and without a terminal
    it refuses (exit 1, nothing changed) unless given --yes.
    """

    def confirm(preview) -> bool:
        shown_on = err if as_json else out  # under --json, stdout holds only the document
        for line in text_lines(preview, asking=True):
            shown_on.print(line, markup=False, emoji=False)
        return click.confirm("Remove them now?", default=False, err=as_json)

    result = api.rollback(
        settings,
        actor=operator(),
        force=force,
        rollout_id=rollout_id,
        proposal_id=proposal_id,
        dry_run=dry_run,
        confirm=None if yes else confirm,
        interactive=sys.stdin.isatty() and sys.stdout.isatty(),
    )
    emit(result, as_json)


@cli.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "html"]),
    default="text",
    show_default=True,
    callback=remember_json,
)
@click.option("--rollout", "rollout_id", metavar="ID", help="Another rollout than the last one.")
@json_option
@click.pass_obj
def report(settings, fmt, rollout_id, as_json):
    """The last rollout's report, in words a non-technical owner reads."""
    result = api.report(settings, rollout_id)
    if fmt == "html":
        from ..web.pages import render_report_page

        click.echo(html_safe(render_report_page(result.data)))
    else:
        emit(result, as_json or fmt == "json")


@cli.command()
@click.option(
    "--rp-id",
    metavar="HOST",
    help="The host people open the Directus app at (default: the host of [directus] url).",
)
@json_option
@click.pass_obj
def passkeys(settings, rp_id, as_json):
    """List the passkeys registered in the Directus app, each with its allowed_signers line.

    A passkey counts only once an operator, having checked it is the person's, copies its
    line into the allowed_signers file ([approvals] allowed_signers).
    """
    emit(api.passkeys(settings, rp_id), as_json)
