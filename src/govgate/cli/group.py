"""The `govgate` command group and its global options: database, agent URL, configuration."""

from __future__ import annotations

import click

from .. import __version__, logs
from ..config import load_settings


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
@click.option(
    "--log-format",
    type=click.Choice(logs.FORMATS),
    default="auto",
    envvar="GOVGATE_LOG_FORMAT",
    help="Log lines (agent, serve, warnings) as JSON or text; auto: text on a terminal, "
    "else JSON. Also GOVGATE_LOG_FORMAT.",
)
@click.version_option(__version__, "--version", prog_name="govgate", message="%(prog)s %(version)s")
@click.pass_context
def cli(ctx, db_url, agent_url, config_path, debug, log_format):
    """govgate: human-gated, verified, reversible governance rollouts."""
    ctx.meta[LOG_FORMAT] = log_format
    logs.install_lazily(log_format)  # warnings and errors of any command: the one pipeline
    ctx.obj = load_settings(config_path).with_db(db_url, agent_url)


LOG_FORMAT = "govgate.log_format"  # ctx.meta key: what --log-format said
