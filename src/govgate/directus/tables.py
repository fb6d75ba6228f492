"""The Directus system tables govgate reads or writes, exactly as Directus 12.4.0 creates them.

Only these tables matter to govgate: collections/fields/relations (registering the
governance tables), users/roles/policies/access/permissions (who may write
approvals), activity/revisions (who really created an approval), dashboards/panels
(the Insights dashboard a rollout creates), and settings (present in every Directus).

The Table objects below match Directus 12.4.0 on PostgreSQL column for column (names,
order, types, nullability, defaults, keys); `tests/test_directus_schema.py` checks that
against the schema dumped from a real Directus (tests/directus/data/). On SQLite the
demo does not let SQLAlchemy write the DDL: `create_tables` runs Directus's own
CREATE TABLE / CREATE INDEX text (`sqlite_ddl.SQLITE_DDL`), so the demo *is* what
Directus creates.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..db.types import DateTime, Uuid
from .sqlite_ddl import SQLITE_DDL

DIRECTUS_VERSION = "12.4.0"

# Directus names its constraints and indexes this way (knex): keep the PostgreSQL DDL alike.
metadata = sa.MetaData(
    naming_convention={
        "ix": "%(table_name)s_%(column_0_name)s_index",
        "uq": "%(table_name)s_%(column_0_name)s_unique",
        "fk": "%(table_name)s_%(column_0_name)s_foreign",
        "pk": "%(table_name)s_pkey",
    }
)


def _uuid(name: str, *args, **kw) -> sa.Column:
    return sa.Column(name, Uuid(), *args, **kw)


def _ts(name: str, *args, **kw) -> sa.Column:
    return sa.Column(name, DateTime(), *args, **kw)


collections = sa.Table(
    "directus_collections",
    metadata,
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
    "directus_fields",
    metadata,
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
    "directus_users",
    metadata,
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
    "directus_roles",
    metadata,
    _uuid("id", primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("icon", sa.String(64), nullable=False, server_default="supervised_user_circle"),
    sa.Column("description", sa.Text),
    _uuid("parent", sa.ForeignKey("directus_roles.id")),
)

policies = sa.Table(
    "directus_policies",
    metadata,
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
    "directus_access",
    metadata,
    _uuid("id", primary_key=True),
    _uuid("role", sa.ForeignKey("directus_roles.id", ondelete="CASCADE")),
    _uuid("user", sa.ForeignKey("directus_users.id", ondelete="CASCADE")),
    _uuid("policy", sa.ForeignKey("directus_policies.id", ondelete="CASCADE"), nullable=False),
    sa.Column("sort", sa.Integer),
)

permissions = sa.Table(
    "directus_permissions",
    metadata,
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
    "directus_activity",
    metadata,
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
    "directus_revisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "activity",
        sa.Integer,
        sa.ForeignKey("directus_activity.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("collection", sa.String(64), nullable=False),
    sa.Column("item", sa.String(255), nullable=False),
    sa.Column("data", sa.JSON),
    sa.Column("delta", sa.JSON),
    sa.Column("parent", sa.Integer, sa.ForeignKey("directus_revisions.id"), index=True),
    _uuid("version"),
)

dashboards = sa.Table(
    "directus_dashboards",
    metadata,
    _uuid("id", primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("icon", sa.String(64), nullable=False, server_default="dashboard"),
    sa.Column("note", sa.Text),
    _ts("date_created", server_default=sa.func.current_timestamp()),
    _uuid("user_created", sa.ForeignKey("directus_users.id", ondelete="SET NULL")),
    sa.Column("color", sa.String(255)),
)

panels = sa.Table(
    "directus_panels",
    metadata,
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
    "directus_settings",
    metadata,
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
    sa.Column(
        "public_registration_verify_email", sa.Boolean, nullable=False, server_default=sa.true()
    ),
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
    sa.Column(
        "collaborative_editing_enabled", sa.Boolean, nullable=False, server_default=sa.false()
    ),
    sa.Column("ai_translation_default_model", sa.Text),
    sa.Column("ai_translation_glossary", sa.JSON),
    sa.Column("ai_translation_style_guide", sa.Text),
    sa.Column("license_key", sa.String(255), server_default=sa.text("NULL")),
    sa.Column("license_token", sa.Text),
    sa.Column("mcp_oauth_enabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("mcp_oauth_dcr_enabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("mcp_oauth_cimd_enabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column(
        "default_save_action", sa.String(255), nullable=False, server_default="save-and-quit"
    ),
)

relations = sa.Table(
    "directus_relations",
    metadata,
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


def create_tables(conn: Connection, names: tuple[str, ...] | None = None) -> None:
    """Create the Directus system tables (default: all of TABLES) as Directus creates them."""
    names = tuple(names or TABLES)
    if conn.dialect.name == "sqlite":
        for name in names:
            for statement in SQLITE_DDL[name]:
                conn.exec_driver_sql(statement)
    else:
        metadata.create_all(conn, tables=[metadata.tables[n] for n in names])
