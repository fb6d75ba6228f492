"""Column types that carry Directus's storage conventions, used by every table govgate defines.

- `Uuid`: PostgreSQL `uuid`; SQLite `char(36)` holding the canonical text with dashes
  (SQLAlchemy's own Uuid would store 32 hex digits there, which Directus never does).
- `UserRef`: who approved: a name on plain SQL, a Directus user id on Directus.
- `DateTime`: PostgreSQL `timestamptz`; on SQLite Directus stores INTEGER epoch
  milliseconds, and a column default (CURRENT_TIMESTAMP) leaves text. Writes store epoch
  milliseconds; reads accept both and return an aware UTC datetime. MySQL and MariaDB
  have no time zone in DATETIME: govgate writes UTC and reads it back as UTC.
- `LongText`: TEXT, but LONGTEXT on MySQL and MariaDB, whose TEXT holds only 64 KB (a
  proposal's body or a report outgrows it).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

_MYSQL = ("mysql", "mariadb")


class Uuid(sa.types.TypeDecorator):
    """A Directus uuid: `uuid` on PostgreSQL, `char(36)` text with dashes elsewhere; str in
    Python.
    """

    impl = sa.String(36)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(sa.UUID(as_uuid=False))
        return dialect.type_descriptor(sa.CHAR(36))

    def process_bind_param(self, value, dialect):
        return None if value is None else str(value)

    def process_result_value(self, value, dialect):
        return None if value is None else str(value)


class _UnCastVarchar(sa.types.UserDefinedType):
    """VARCHAR(255) whose bound values carry no `::VARCHAR` cast (see UserRef)."""

    cache_ok = True

    def get_col_spec(self, **_kw) -> str:
        return "VARCHAR(255)"


class UserRef(sa.types.TypeDecorator):
    """Who approved: a name on plain SQL, a Directus user id on Directus; str in Python.

    The column is VARCHAR(255), except on a PostgreSQL Directus where `govgate init`
    makes it `uuid`, Directus's own type for a user-created field. SQLAlchemy's
    psycopg dialect would bind a string as `$1::VARCHAR`, which PostgreSQL refuses to
    store in a uuid column; this type binds it untyped, so PostgreSQL converts it to
    whichever type the column has. Values read back are always text.
    """

    impl = sa.String(255)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return _UnCastVarchar()
        return dialect.type_descriptor(sa.String(255))

    def process_bind_param(self, value, dialect):
        return None if value is None else str(value)

    def process_result_value(self, value, dialect):
        return None if value is None else str(value)


class DateTime(sa.types.TypeDecorator):
    """A Directus timestamp: `timestamptz` on PostgreSQL, epoch milliseconds on SQLite."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.types.NullType())
        if dialect.name in _MYSQL:
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(sa.DateTime(timezone=True))

    def process_bind_param(self, value, dialect):
        if value is None or dialect.name not in ("sqlite", *_MYSQL):
            return value
        if isinstance(value, datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=UTC)
            if dialect.name in _MYSQL:  # DATETIME keeps no zone: store UTC
                return value.astimezone(UTC).replace(tzinfo=None)
            return int(value.timestamp() * 1000)
        return value

    def process_result_value(self, value, dialect):
        if dialect.name in _MYSQL:
            return from_directus_time(value)
        return value if dialect.name != "sqlite" else from_directus_time(value)


def from_directus_time(value) -> datetime | None:
    """A Directus timestamp as stored anywhere (epoch ms, ISO text, datetime) as an aware datetime.

    Loose on purpose: govgate never decides anything on a timestamp, it only shows it.
    Unparseable text gives None rather than an error.
    """
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    text = str(value).strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class _RawDatetime(sa.types.UserDefinedType):
    """DATETIME in DDL, with no conversion either way (SQLite stores what it is given)."""

    cache_ok = True

    def get_col_spec(self, **_kw) -> str:
        return "DATETIME"


class Timestamp(DateTime):
    """A Directus timestamp in a table govgate creates: DATETIME on SQLite, where Directus
    writes epoch milliseconds into it (read back as aware datetimes either way)."""

    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(_RawDatetime())
        return super().load_dialect_impl(dialect)


LongText = sa.Text().with_variant(mysql.LONGTEXT(), *_MYSQL)
