"""The Directus system tables govgate reads or writes, exactly as Directus 12.4.0 creates them.

Only these tables matter to govgate: collections/fields/relations (registering the
governance tables), users/roles/policies/access/permissions (who may write
approvals), activity/revisions (who really created an approval), dashboards/panels
(the Insights dashboard a rollout creates), and settings (present in every Directus).

The Table objects below match Directus 12.4.0 on PostgreSQL column for column (names,
order, types, nullability, defaults, keys); `tests/test_directus_schema.py` checks that
against the schema dumped from a real Directus (tests/directus/data/). On SQLite the
demo does not let SQLAlchemy write the DDL: `create_tables` runs Directus's own
CREATE TABLE / CREATE INDEX text (SQLITE_DDL), so the demo *is* what Directus creates.

Two column types carry Directus's storage conventions:
- `Uuid`: PostgreSQL `uuid`; SQLite `char(36)` holding the canonical text with dashes
  (SQLAlchemy's own Uuid would store 32 hex digits there, which Directus never does).
- `DateTime`: PostgreSQL `timestamptz`; on SQLite Directus stores INTEGER epoch
  milliseconds, and a column default (CURRENT_TIMESTAMP) leaves text. Writes store epoch
  milliseconds; reads accept both and return an aware UTC datetime.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

DIRECTUS_VERSION = "12.4.0"

# Directus names its constraints and indexes this way (knex): keep the PostgreSQL DDL alike.
metadata = sa.MetaData(naming_convention={
    "ix": "%(table_name)s_%(column_0_name)s_index",
    "uq": "%(table_name)s_%(column_0_name)s_unique",
    "fk": "%(table_name)s_%(column_0_name)s_foreign",
    "pk": "%(table_name)s_pkey",
})


class Uuid(sa.types.TypeDecorator):
    """A Directus uuid: `uuid` on PostgreSQL, `char(36)` text with dashes elsewhere; str in Python."""

    impl = sa.String(36)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.UUID(as_uuid=False))
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
        return dialect.type_descriptor(sa.DateTime(timezone=True))

    def process_bind_param(self, value, dialect):
        if value is None or dialect.name != "sqlite":
            return value
        if isinstance(value, datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=timezone.utc)
            return int(value.timestamp() * 1000)
        return value

    def process_result_value(self, value, dialect):
        return value if dialect.name != "sqlite" else from_directus_time(value)


def from_directus_time(value) -> datetime | None:
    """A Directus timestamp as stored anywhere (epoch ms, ISO text, datetime) as an aware datetime.

    Loose on purpose: govgate never decides anything on a timestamp, it only shows it.
    Unparseable text gives None rather than an error.
    """
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value / 1000, tz=timezone.utc)
    text = str(value).strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, tz=timezone.utc)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _uuid(name: str, *args, **kw) -> sa.Column:
    return sa.Column(name, Uuid(), *args, **kw)


def _ts(name: str, *args, **kw) -> sa.Column:
    return sa.Column(name, DateTime(), *args, **kw)


collections = sa.Table(
    "directus_collections", metadata,
    sa.Column("collection", sa.String(64), primary_key=True),
    sa.Column("icon", sa.String(64)),
    sa.Column("note", sa.Text),
    sa.Column("display_template", sa.String(255)),
    sa.Column("hidden", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("singleton", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("translations", sa.JSON),
    sa.Column("archive_field", sa.String(64)),
    sa.Column("archive_app_filter", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("archive_value", sa.String(255)),
    sa.Column("unarchive_value", sa.String(255)),
    sa.Column("sort_field", sa.String(64)),
    sa.Column("accountability", sa.String(255), server_default="all"),
    sa.Column("color", sa.String(255)),
    sa.Column("item_duplication_fields", sa.JSON),
    sa.Column("sort", sa.Integer),
    sa.Column("group", sa.String(64), sa.ForeignKey("directus_collections.collection")),
    sa.Column("collapse", sa.String(255), nullable=False, server_default="open"),
    sa.Column("preview_url", sa.String(255)),
    sa.Column("versioning", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("status", sa.String(255), nullable=False, server_default="active"),
    sa.Column("autosave_revision_interval", sa.REAL),
)

fields = sa.Table(
    "directus_fields", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("collection", sa.String(64), nullable=False),
    sa.Column("field", sa.String(64), nullable=False),
    sa.Column("special", sa.String(64)),
    sa.Column("interface", sa.String(64)),
    sa.Column("options", sa.JSON),
    sa.Column("display", sa.String(64)),
    sa.Column("display_options", sa.JSON),
    sa.Column("readonly", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("hidden", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("sort", sa.Integer),
    sa.Column("width", sa.String(30), server_default="full"),
    sa.Column("translations", sa.JSON),
    sa.Column("note", sa.Text),
    sa.Column("conditions", sa.JSON),
    sa.Column("required", sa.Boolean, server_default=sa.false()),
    sa.Column("group", sa.String(64)),
    sa.Column("validation", sa.JSON),
    sa.Column("validation_message", sa.Text),
    sa.Column("searchable", sa.Boolean, nullable=False, server_default=sa.true()),
)

users = sa.Table(
    "directus_users", metadata,
    _uuid("id", primary_key=True),
    sa.Column("first_name", sa.String(50)),
    sa.Column("last_name", sa.String(50)),
    sa.Column("email", sa.String(128), unique=True),
    sa.Column("password", sa.String(255)),
    sa.Column("location", sa.String(255)),
    sa.Column("title", sa.String(50)),
    sa.Column("description", sa.Text),
    sa.Column("tags", sa.JSON),
    _uuid("avatar"),
    sa.Column("language", sa.String(255), server_default=sa.text("NULL")),
    sa.Column("tfa_secret", sa.String(255)),
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    _uuid("role", sa.ForeignKey("directus_roles.id", ondelete="SET NULL")),
    sa.Column("token", sa.String(255), unique=True),
    _ts("last_access"),
    sa.Column("last_page", sa.String(255)),
    sa.Column("provider", sa.String(128), nullable=False, server_default="default"),
    sa.Column("external_identifier", sa.String(255), unique=True),
    sa.Column("auth_data", sa.JSON),
    sa.Column("email_notifications", sa.Boolean, server_default=sa.true()),
    sa.Column("appearance", sa.String(255)),
    sa.Column("theme_dark", sa.String(255)),
    sa.Column("theme_light", sa.String(255)),
    sa.Column("theme_light_overrides", sa.JSON),
    sa.Column("theme_dark_overrides", sa.JSON),
    sa.Column("text_direction", sa.String(255), nullable=False, server_default="auto"),
)

roles = sa.Table(
    "directus_roles", metadata,
    _uuid("id", primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("icon", sa.String(64), nullable=False, server_default="supervised_user_circle"),
    sa.Column("description", sa.Text),
    _uuid("parent", sa.ForeignKey("directus_roles.id")),
)

policies = sa.Table(
    "directus_policies", metadata,
    _uuid("id", primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("icon", sa.String(64), nullable=False, server_default="badge"),
    sa.Column("description", sa.Text),
    sa.Column("ip_access", sa.Text),
    sa.Column("enforce_tfa", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("admin_access", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("app_access", sa.Boolean, nullable=False, server_default=sa.false()),
)

access = sa.Table(
    "directus_access", metadata,
    _uuid("id", primary_key=True),
    _uuid("role", sa.ForeignKey("directus_roles.id", ondelete="CASCADE")),
    _uuid("user", sa.ForeignKey("directus_users.id", ondelete="CASCADE")),
    _uuid("policy", sa.ForeignKey("directus_policies.id", ondelete="CASCADE"), nullable=False),
    sa.Column("sort", sa.Integer),
)

permissions = sa.Table(
    "directus_permissions", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("collection", sa.String(64), nullable=False),
    sa.Column("action", sa.String(10), nullable=False),
    sa.Column("permissions", sa.JSON),
    sa.Column("validation", sa.JSON),
    sa.Column("presets", sa.JSON),
    sa.Column("fields", sa.Text),
    _uuid("policy", sa.ForeignKey("directus_policies.id", ondelete="CASCADE"), nullable=False),
)

activity = sa.Table(
    "directus_activity", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("action", sa.String(45), nullable=False),
    _uuid("user"),
    _ts("timestamp", nullable=False, server_default=sa.func.current_timestamp(), index=True),
    sa.Column("ip", sa.String(50)),
    sa.Column("user_agent", sa.Text),
    sa.Column("collection", sa.String(64), nullable=False),
    sa.Column("item", sa.String(255), nullable=False),
    sa.Column("origin", sa.String(255)),
)

revisions = sa.Table(
    "directus_revisions", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("activity", sa.Integer, sa.ForeignKey("directus_activity.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("collection", sa.String(64), nullable=False),
    sa.Column("item", sa.String(255), nullable=False),
    sa.Column("data", sa.JSON),
    sa.Column("delta", sa.JSON),
    sa.Column("parent", sa.Integer, sa.ForeignKey("directus_revisions.id"), index=True),
    _uuid("version"),
)

dashboards = sa.Table(
    "directus_dashboards", metadata,
    _uuid("id", primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("icon", sa.String(64), nullable=False, server_default="dashboard"),
    sa.Column("note", sa.Text),
    _ts("date_created", server_default=sa.func.current_timestamp()),
    _uuid("user_created", sa.ForeignKey("directus_users.id", ondelete="SET NULL")),
    sa.Column("color", sa.String(255)),
)

panels = sa.Table(
    "directus_panels", metadata,
    _uuid("id", primary_key=True),
    _uuid("dashboard", sa.ForeignKey("directus_dashboards.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(255)),
    sa.Column("icon", sa.String(64), server_default=sa.text("NULL")),
    sa.Column("color", sa.String(10)),
    sa.Column("show_header", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("note", sa.Text),
    sa.Column("type", sa.String(255), nullable=False),
    sa.Column("position_x", sa.Integer, nullable=False),
    sa.Column("position_y", sa.Integer, nullable=False),
    sa.Column("width", sa.Integer, nullable=False),
    sa.Column("height", sa.Integer, nullable=False),
    sa.Column("options", sa.JSON),
    _ts("date_created", server_default=sa.func.current_timestamp()),
    _uuid("user_created", sa.ForeignKey("directus_users.id", ondelete="SET NULL")),
)

settings = sa.Table(
    "directus_settings", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("project_name", sa.String(100), nullable=False, server_default="Directus"),
    sa.Column("project_url", sa.String(255)),
    sa.Column("project_color", sa.String(255), nullable=False, server_default="#6644FF"),
    _uuid("project_logo"),
    _uuid("public_foreground"),
    _uuid("public_background"),
    sa.Column("public_note", sa.Text),
    sa.Column("auth_login_attempts", sa.Integer, server_default="25"),
    sa.Column("auth_password_policy", sa.String(100)),
    sa.Column("storage_asset_transform", sa.String(7), server_default="all"),
    sa.Column("storage_asset_presets", sa.JSON),
    sa.Column("custom_css", sa.Text),
    _uuid("storage_default_folder"),
    sa.Column("basemaps", sa.JSON),
    sa.Column("mapbox_key", sa.String(255)),
    sa.Column("module_bar", sa.JSON),
    sa.Column("project_descriptor", sa.String(100)),
    sa.Column("default_language", sa.String(255), nullable=False, server_default="en-US"),
    sa.Column("custom_aspect_ratios", sa.JSON),
    _uuid("public_favicon"),
    sa.Column("default_appearance", sa.String(255), nullable=False, server_default="auto"),
    sa.Column("default_theme_light", sa.String(255)),
    sa.Column("theme_light_overrides", sa.JSON),
    sa.Column("default_theme_dark", sa.String(255)),
    sa.Column("theme_dark_overrides", sa.JSON),
    sa.Column("report_error_url", sa.String(255)),
    sa.Column("report_bug_url", sa.String(255)),
    sa.Column("report_feature_url", sa.String(255)),
    sa.Column("public_registration", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("public_registration_verify_email", sa.Boolean, nullable=False, server_default=sa.true()),
    _uuid("public_registration_role", sa.ForeignKey("directus_roles.id", ondelete="SET NULL")),
    sa.Column("public_registration_email_filter", sa.JSON),
    sa.Column("visual_editor_urls", sa.JSON),
    _uuid("project_id"),
    sa.Column("mcp_enabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("mcp_allow_deletes", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("mcp_prompts_collection", sa.String(255), server_default=sa.text("NULL")),
    sa.Column("mcp_system_prompt_enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("mcp_system_prompt", sa.Text),
    sa.Column("project_owner", sa.String(255)),
    sa.Column("project_usage", sa.String(255)),
    sa.Column("org_name", sa.String(255)),
    sa.Column("product_updates", sa.Boolean),
    sa.Column("project_status", sa.String(255)),
    sa.Column("ai_openai_api_key", sa.Text),
    sa.Column("ai_anthropic_api_key", sa.Text),
    sa.Column("ai_system_prompt", sa.Text),
    sa.Column("ai_google_api_key", sa.Text),
    sa.Column("ai_openai_compatible_api_key", sa.Text),
    sa.Column("ai_openai_compatible_base_url", sa.Text),
    sa.Column("ai_openai_compatible_name", sa.Text),
    sa.Column("ai_openai_compatible_models", sa.JSON),
    sa.Column("ai_openai_compatible_headers", sa.JSON),
    sa.Column("ai_openai_allowed_models", sa.JSON),
    sa.Column("ai_anthropic_allowed_models", sa.JSON),
    sa.Column("ai_google_allowed_models", sa.JSON),
    sa.Column("collaborative_editing_enabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("ai_translation_default_model", sa.Text),
    sa.Column("ai_translation_glossary", sa.JSON),
    sa.Column("ai_translation_style_guide", sa.Text),
    sa.Column("license_key", sa.String(255), server_default=sa.text("NULL")),
    sa.Column("license_token", sa.Text),
    sa.Column("mcp_oauth_enabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("mcp_oauth_dcr_enabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("mcp_oauth_cimd_enabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("default_save_action", sa.String(255), nullable=False, server_default="save-and-quit"),
)

relations = sa.Table(
    "directus_relations", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("many_collection", sa.String(64), nullable=False),
    sa.Column("many_field", sa.String(64), nullable=False),
    sa.Column("one_collection", sa.String(64)),
    sa.Column("one_field", sa.String(64)),
    sa.Column("one_collection_field", sa.String(64)),
    sa.Column("one_allowed_collections", sa.Text),
    sa.Column("junction_field", sa.String(64)),
    sa.Column("sort_field", sa.String(64)),
    sa.Column("one_deselect_action", sa.String(255), nullable=False, server_default="nullify"),
)

TABLES = tuple(metadata.tables)

# Directus 12.4.0's own DDL on SQLite (sqlite_master.sql): the CREATE TABLE first, then
# its indexes. Tables referenced by foreign keys but not listed here (directus_files,
# directus_folders, directus_versions) do not matter: SQLite checks no foreign key
# unless PRAGMA foreign_keys is on, and govgate never turns it on.
SQLITE_DDL: dict[str, tuple[str, ...]] = {
    "directus_collections": (
        'CREATE TABLE "directus_collections" (`collection` varchar(64) NOT NULL, '
        '`icon` varchar(64), `note` text, `display_template` varchar(255), '
        "`hidden` boolean NOT NULL DEFAULT '0', `singleton` boolean NOT NULL DEFAULT '0', "
        '`translations` json, `archive_field` varchar(64), '
        "`archive_app_filter` boolean NOT NULL DEFAULT '1', `archive_value` varchar(255), "
        '`unarchive_value` varchar(255), `sort_field` varchar(64), '
        "`accountability` varchar(255) DEFAULT 'all', `color` varchar(255) NULL, "
        '`item_duplication_fields` json NULL, `sort` integer, `group` varchar(64), '
        "`collapse` varchar(255) NOT NULL DEFAULT 'open', `preview_url` varchar(255) NULL, "
        "`versioning` boolean NOT NULL DEFAULT '0', "
        "`status` varchar(255) not null default 'active', "
        '`autosave_revision_interval` float null, PRIMARY KEY (`collection`), '
        'FOREIGN KEY (`group`) REFERENCES `directus_collections` (`collection`))',
    ),
    "directus_fields": (
        'CREATE TABLE "directus_fields" (`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL, '
        '`collection` varchar(64) NOT NULL, `field` varchar(64) NOT NULL, `special` varchar(64), '
        '`interface` varchar(64), `options` json, `display` varchar(64), `display_options` json, '
        "`readonly` boolean NOT NULL DEFAULT '0', `hidden` boolean NOT NULL DEFAULT '0', "
        "`sort` integer, `width` varchar(30) DEFAULT 'full', `translations` json, `note` text, "
        "`conditions` json, `required` boolean DEFAULT '0', `group` varchar(64), "
        "`validation` json, `validation_message` text, `searchable` boolean not null default '1')",
    ),
    "directus_users": (
        'CREATE TABLE "directus_users" (`id` char(36) NOT NULL, `first_name` varchar(50), '
        '`last_name` varchar(50), `email` varchar(128), `password` varchar(255), '
        '`location` varchar(255), `title` varchar(50), `description` text, `tags` json, '
        '`avatar` char(36), `language` varchar(255) DEFAULT null, `tfa_secret` varchar(255), '
        "`status` varchar(16) NOT NULL DEFAULT 'active', `role` char(36), `token` varchar(255), "
        '`last_access` datetime, `last_page` varchar(255), '
        "`provider` varchar(128) NOT NULL DEFAULT 'default', `external_identifier` varchar(255), "
        "`auth_data` json, `email_notifications` boolean DEFAULT '1', `appearance` varchar(255), "
        '`theme_dark` varchar(255), `theme_light` varchar(255), `theme_light_overrides` json, '
        "`theme_dark_overrides` json, `text_direction` varchar(255) not null default 'auto', "
        'PRIMARY KEY (`id`), '
        'FOREIGN KEY (`role`) REFERENCES `directus_roles` (`id`) ON DELETE SET NULL)',
        'CREATE UNIQUE INDEX `directus_users_email_unique` on `directus_users` (`email`)',
        'CREATE UNIQUE INDEX `directus_users_external_identifier_unique` on `directus_users` (`external_identifier`)',
        'CREATE UNIQUE INDEX `directus_users_token_unique` on `directus_users` (`token`)',
    ),
    "directus_roles": (
        'CREATE TABLE "directus_roles" (`id` char(36) NOT NULL, `name` varchar(100) NOT NULL, '
        "`icon` varchar(64) NOT NULL DEFAULT 'supervised_user_circle', `description` text, "
        '`parent` char(36), PRIMARY KEY (`id`), '
        'FOREIGN KEY (`parent`) REFERENCES `directus_roles` (`id`))',
    ),
    "directus_policies": (
        'CREATE TABLE `directus_policies` (`id` char(36), `name` varchar(100) not null, '
        "`icon` varchar(64) not null default 'badge', `description` text, `ip_access` text, "
        "`enforce_tfa` boolean not null default '0', "
        "`admin_access` boolean not null default '0', `app_access` boolean not null default '0', "
        'primary key (`id`))',
    ),
    "directus_access": (
        'CREATE TABLE `directus_access` (`id` char(36), `role` char(36) null, '
        '`user` char(36) null, `policy` char(36) not null, `sort` integer, '
        'foreign key(`role`) references `directus_roles`(`id`) on delete CASCADE, '
        'foreign key(`user`) references `directus_users`(`id`) on delete CASCADE, '
        'foreign key(`policy`) references `directus_policies`(`id`) on delete CASCADE, '
        'primary key (`id`))',
    ),
    "directus_permissions": (
        'CREATE TABLE "directus_permissions" (`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL, '
        '`collection` varchar(64) NOT NULL, `action` varchar(10) NOT NULL, `permissions` json, '
        '`validation` json, `presets` json, `fields` text, `policy` char(36) NOT NULL, '
        'FOREIGN KEY (`policy`) REFERENCES `directus_policies` (`id`) ON DELETE CASCADE)',
    ),
    "directus_activity": (
        'CREATE TABLE "directus_activity" (`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL, '
        '`action` varchar(45) NOT NULL, `user` char(36), '
        '`timestamp` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP, `ip` varchar(50), '
        '`user_agent` text, `collection` varchar(64) NOT NULL, `item` varchar(255) NOT NULL, '
        '`origin` varchar(255) NULL)',
        'CREATE INDEX `directus_activity_timestamp_index` ON `directus_activity` (`timestamp`)',
    ),
    "directus_revisions": (
        'CREATE TABLE "directus_revisions" (`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL, '
        '`activity` integer NOT NULL, `collection` varchar(64) NOT NULL, '
        '`item` varchar(255) NOT NULL, `data` json, `delta` json, `parent` integer, '
        '`version` char(36), FOREIGN KEY (`parent`) REFERENCES `directus_revisions` (`id`), '
        'FOREIGN KEY (`activity`) REFERENCES `directus_activity` (`id`) ON DELETE CASCADE, '
        'FOREIGN KEY (`version`) REFERENCES `directus_versions` (`id`) ON DELETE CASCADE)',
        'CREATE INDEX `directus_revisions_activity_index` ON `directus_revisions` (`activity`)',
        'CREATE INDEX `directus_revisions_parent_index` ON `directus_revisions` (`parent`)',
    ),
    "directus_dashboards": (
        'CREATE TABLE "directus_dashboards" (`id` char(36) NOT NULL, '
        "`name` varchar(255) NOT NULL, `icon` varchar(64) NOT NULL DEFAULT 'dashboard', "
        '`note` text, `date_created` datetime DEFAULT CURRENT_TIMESTAMP, '
        '`user_created` char(36), `color` varchar(255) NULL, '
        'FOREIGN KEY (`user_created`) REFERENCES `directus_users` (`id`) ON DELETE SET NULL, '
        'PRIMARY KEY (`id`))',
    ),
    "directus_panels": (
        'CREATE TABLE "directus_panels" (`id` char(36) NOT NULL, `dashboard` char(36) NOT NULL, '
        '`name` varchar(255), `icon` varchar(64) DEFAULT null, `color` varchar(10), '
        "`show_header` boolean NOT NULL DEFAULT '0', `note` text, `type` varchar(255) NOT NULL, "
        '`position_x` integer NOT NULL, `position_y` integer NOT NULL, `width` integer NOT NULL, '
        '`height` integer NOT NULL, `options` json, '
        '`date_created` datetime DEFAULT CURRENT_TIMESTAMP, `user_created` char(36), '
        'FOREIGN KEY (`dashboard`) REFERENCES `directus_dashboards` (`id`) ON DELETE CASCADE, '
        'FOREIGN KEY (`user_created`) REFERENCES `directus_users` (`id`) ON DELETE SET NULL, '
        'PRIMARY KEY (`id`))',
    ),
    "directus_settings": (
        'CREATE TABLE "directus_settings" (`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL, '
        "`project_name` varchar(100) NOT NULL DEFAULT 'Directus', `project_url` varchar(255), "
        "`project_color` varchar(255) NOT NULL DEFAULT '#6644FF', `project_logo` char(36), "
        '`public_foreground` char(36), `public_background` char(36), `public_note` text, '
        "`auth_login_attempts` integer DEFAULT '25', `auth_password_policy` varchar(100), "
        "`storage_asset_transform` varchar(7) DEFAULT 'all', `storage_asset_presets` json, "
        '`custom_css` text, `storage_default_folder` char(36), `basemaps` json, '
        '`mapbox_key` varchar(255), `module_bar` json, `project_descriptor` varchar(100) NULL, '
        "`default_language` varchar(255) NOT NULL DEFAULT 'en-US', `custom_aspect_ratios` json, "
        "`public_favicon` char(36), `default_appearance` varchar(255) NOT NULL DEFAULT 'auto', "
        '`default_theme_light` varchar(255), `theme_light_overrides` json, '
        '`default_theme_dark` varchar(255), `theme_dark_overrides` json, '
        '`report_error_url` varchar(255) NULL, `report_bug_url` varchar(255) NULL, '
        '`report_feature_url` varchar(255) NULL, '
        "`public_registration` boolean NOT NULL DEFAULT '0', "
        "`public_registration_verify_email` boolean NOT NULL DEFAULT '1', "
        '`public_registration_role` char(36) NULL, `public_registration_email_filter` json NULL, '
        '`visual_editor_urls` json NULL, `project_id` char(36), '
        "`mcp_enabled` boolean NOT NULL DEFAULT '0', "
        "`mcp_allow_deletes` boolean NOT NULL DEFAULT '0', "
        '`mcp_prompts_collection` varchar(255) NULL DEFAULT null, '
        "`mcp_system_prompt_enabled` boolean NOT NULL DEFAULT '1', "
        '`mcp_system_prompt` text NULL DEFAULT null, `project_owner` varchar(255), '
        '`project_usage` varchar(255), `org_name` varchar(255), `product_updates` boolean, '
        '`project_status` varchar(255), `ai_openai_api_key` text, `ai_anthropic_api_key` text, '
        '`ai_system_prompt` text, `ai_google_api_key` text, `ai_openai_compatible_api_key` text, '
        '`ai_openai_compatible_base_url` text, `ai_openai_compatible_name` text, '
        '`ai_openai_compatible_models` json, `ai_openai_compatible_headers` json, '
        '`ai_openai_allowed_models` json, `ai_anthropic_allowed_models` json, '
        '`ai_google_allowed_models` json, '
        "`collaborative_editing_enabled` boolean not null default '0', "
        '`ai_translation_default_model` text null, `ai_translation_glossary` json null, '
        '`ai_translation_style_guide` text null, `license_key` varchar(255) null default null, '
        '`license_token` text null default null, '
        "`mcp_oauth_enabled` boolean not null default '0', "
        "`mcp_oauth_dcr_enabled` boolean not null default '0', "
        "`mcp_oauth_cimd_enabled` boolean not null default '0', "
        "`default_save_action` varchar(255) not null default 'save-and-quit', "
        'FOREIGN KEY (`project_logo`) REFERENCES `directus_files` (`id`), '
        'FOREIGN KEY (`public_foreground`) REFERENCES `directus_files` (`id`), '
        'FOREIGN KEY (`public_background`) REFERENCES `directus_files` (`id`), '
        'CONSTRAINT `directus_settings_storage_default_folder_foreign` FOREIGN KEY (`storage_default_folder`) REFERENCES `directus_folders` (`id`) ON DELETE SET NULL, '
        'FOREIGN KEY (`public_favicon`) REFERENCES `directus_files` (`id`), '
        'FOREIGN KEY (`public_registration_role`) REFERENCES `directus_roles` (`id`) ON DELETE SET NULL)',
    ),
    "directus_relations": (
        'CREATE TABLE "directus_relations" (`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL, '
        '`many_collection` varchar(64) NOT NULL, `many_field` varchar(64) NOT NULL, '
        '`one_collection` varchar(64), `one_field` varchar(64), '
        '`one_collection_field` varchar(64), `one_allowed_collections` text, '
        '`junction_field` varchar(64), `sort_field` varchar(64), '
        "`one_deselect_action` varchar(255) NOT NULL DEFAULT 'nullify')",
    ),
}


def create_tables(conn: Connection, names: tuple[str, ...] | None = None) -> None:
    """Create the Directus system tables (default: all of TABLES) as Directus creates them."""
    names = tuple(names or TABLES)
    if conn.dialect.name == "sqlite":
        for name in names:
            for statement in SQLITE_DDL[name]:
                conn.exec_driver_sql(statement)
    else:
        metadata.create_all(conn, tables=[metadata.tables[n] for n in names])


def in_use(conn: Connection, settings) -> bool:
    """Directus mode: as configured (`[directus] enabled`), else detected from its tables."""
    return settings.directus if settings.directus is not None else is_directus(conn)


def is_directus(conn: Connection) -> bool:
    """True when the database holds Directus's system tables."""
    names = set(sa.inspect(conn).get_table_names())
    return {"directus_collections", "directus_activity"} <= names


def user_id(conn: Connection, email_or_id: str | None) -> str | None:
    """The id of the Directus user with that email or id, or None."""
    if not email_or_id:
        return None
    u = users.c
    found = conn.execute(sa.select(u.id).where(
        sa.or_(u.email == email_or_id, sa.cast(u.id, sa.String) == email_or_id))).scalar()
    return str(found) if found is not None else None


def _ids(values) -> list[str]:
    return [str(v) for v in values if v is not None]


def role_chain(conn: Connection, role: str | None) -> list[str]:
    """The role and its parents (Directus 11+ roles nest and inherit their parents' policies)."""
    chain: list[str] = []
    while role is not None and role not in chain:
        chain.append(role)
        parent = conn.execute(sa.select(roles.c.parent).where(roles.c.id == role)).scalar()
        role = str(parent) if parent is not None else None
    return chain


def policies_of(conn: Connection, user_id: str) -> list[tuple[str, bool]]:
    """(policy id, admin_access) of every policy that applies to the user.

    Directly attached to the user, through its role and the role's parents, and the
    public policy (a `directus_access` row with neither role nor user), which applies
    to everyone.
    """
    role = conn.execute(sa.select(users.c.role).where(sa.cast(users.c.id, sa.String) == user_id)).scalar()
    cond = sa.or_(access.c.user == user_id, sa.and_(access.c.role.is_(None), access.c.user.is_(None)))
    chain = role_chain(conn, str(role) if role is not None else None)
    if chain:
        cond = sa.or_(cond, access.c.role.in_(chain))
    rows = conn.execute(sa.select(policies.c.id, policies.c.admin_access)
                        .join(access, access.c.policy == policies.c.id).where(cond).distinct())
    return [(str(pid), bool(admin)) for pid, admin in rows]


def policy_actions(conn: Connection, policy_ids: list[str], collection: str) -> set[str]:
    """The actions these policies permit on COLLECTION."""
    if not policy_ids:
        return set()
    rows = conn.execute(sa.select(permissions.c.action).where(
        permissions.c.policy.in_(policy_ids), permissions.c.collection == collection))
    return {action for (action,) in rows}


def app_access(conn: Connection, policy_ids: list[str]) -> bool:
    """Whether any of these policies opens the Directus app (and so takes a licence seat)."""
    if not policy_ids:
        return False
    return bool(conn.execute(sa.select(sa.func.count()).select_from(policies).where(
        policies.c.id.in_(policy_ids), policies.c.app_access.is_(True))).scalar())


@dataclass(frozen=True)
class Provenance:
    """What directus_activity says about one item since it last came into being."""

    creators: tuple[str | None, ...]   # users of its `create` activity (None: no user)
    editors: tuple[str | None, ...]    # users of `update` activity after that create


def provenance(conn: Connection, collection: str, item: str) -> Provenance:
    """The `create` and later `update` activity of ITEM, ignoring whatever preceded its last delete.

    An item deleted and made again with SQL under the same key must not inherit the
    provenance of the row that was deleted: only activity after the last `delete`
    counts. Timestamps are not used (SQLite stores them as epoch ms, PostgreSQL as
    timestamptz); the activity id orders the events.
    """
    act = activity.c
    rows = conn.execute(sa.select(act.id, act.action, act.user).where(
        act.collection == collection, act.item == str(item)).order_by(act.id)).all()
    last_delete = max((i for i, (_id, action, _u) in enumerate(rows) if action == "delete"), default=-1)
    events = rows[last_delete + 1:]
    creators = tuple(str(u) if u is not None else None for _id, action, u in events if action == "create")
    first_create = next((n for n, (_id, action, _u) in enumerate(events) if action == "create"), None)
    editors: tuple[str | None, ...] = ()
    if first_create is not None:
        editors = tuple(str(u) if u is not None else None
                        for _id, action, u in events[first_create + 1:] if action == "update")
    return Provenance(creators, editors)
