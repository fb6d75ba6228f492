"""Running govgate's own schema revisions (Alembic) on a connection the caller holds.

Alembic is imported only here, so that commands which never migrate never pay for it.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Connection

from .custody import HEAD, revision

_SCRIPTS = Path(__file__).resolve().parent / "migrations"


def _config(conn: Connection):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    config.attributes["connection"] = conn
    return config


def head() -> str:
    """The newest revision this govgate knows (equals custody.HEAD; a test keeps them equal)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config(None)).get_current_head()


def upgrade_from(conn: Connection) -> tuple[str | None, str | None]:
    """Migrate the database to HEAD inside the caller's transaction; returns (before, after).

    A database without govgate's tables is left alone: (None, None).
    """
    from alembic import command

    before = revision(conn)
    if before is None:
        return None, None
    config = _config(conn)
    if before is not None and before != HEAD and not _stamped(conn):
        command.stamp(config, before)  # a database from before stamping: its tables say v1
    command.upgrade(config, "head")
    return before, revision(conn) or HEAD


def stamp_head(conn: Connection) -> None:
    """Mark a database that `init` built at HEAD as being at HEAD."""
    from alembic import command

    command.stamp(_config(conn), "head")


def _stamped(conn: Connection) -> bool:
    import sqlalchemy as sa

    from .custody import VERSION_TABLE

    return VERSION_TABLE in sa.inspect(conn).get_table_names()
