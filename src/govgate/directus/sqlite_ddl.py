"""Directus 12.4.0's own DDL on SQLite (sqlite_master.sql), which only the demo needs.

The CREATE TABLE first, then its indexes. Tables referenced by foreign keys but not
listed here (directus_files, directus_folders, directus_versions) do not matter: SQLite
checks no foreign key unless PRAGMA foreign_keys is on, and govgate never turns it on.
"""

from __future__ import annotations

SQLITE_DDL: dict[str, tuple[str, ...]] = {
    "directus_collections": (
        'CREATE TABLE "directus_collections" (`collection` varchar(64) NOT NULL, '
        "`icon` varchar(64), `note` text, `display_template` varchar(255), "
        "`hidden` boolean NOT NULL DEFAULT '0', `singleton` boolean NOT NULL DEFAULT '0', "
        "`translations` json, `archive_field` varchar(64), "
        "`archive_app_filter` boolean NOT NULL DEFAULT '1', `archive_value` varchar(255), "
        "`unarchive_value` varchar(255), `sort_field` varchar(64), "
        "`accountability` varchar(255) DEFAULT 'all', `color` varchar(255) NULL, "
        "`item_duplication_fields` json NULL, `sort` integer, `group` varchar(64), "
        "`collapse` varchar(255) NOT NULL DEFAULT 'open', `preview_url` varchar(255) NULL, "
        "`versioning` boolean NOT NULL DEFAULT '0', "
        "`status` varchar(255) not null default 'active', "
        "`autosave_revision_interval` float null, PRIMARY KEY (`collection`), "
        "FOREIGN KEY (`group`) REFERENCES `directus_collections` (`collection`))",
    ),
    "directus_fields": (
        'CREATE TABLE "directus_fields" (`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL, '
        "`collection` varchar(64) NOT NULL, `field` varchar(64) NOT NULL, `special` varchar(64), "
        "`interface` varchar(64), `options` json, `display` varchar(64), `display_options` json, "
        "`readonly` boolean NOT NULL DEFAULT '0', `hidden` boolean NOT NULL DEFAULT '0', "
        "`sort` integer, `width` varchar(30) DEFAULT 'full', `translations` json, `note` text, "
        "`conditions` json, `required` boolean DEFAULT '0', `group` varchar(64), "
        "`validation` json, `validation_message` text, `searchable` boolean not null default '1')",
    ),
    "directus_users": (
        'CREATE TABLE "directus_users" (`id` char(36) NOT NULL, `first_name` varchar(50), '
        "`last_name` varchar(50), `email` varchar(128), `password` varchar(255), "
        "`location` varchar(255), `title` varchar(50), `description` text, `tags` json, "
        "`avatar` char(36), `language` varchar(255) DEFAULT null, `tfa_secret` varchar(255), "
        "`status` varchar(16) NOT NULL DEFAULT 'active', `role` char(36), `token` varchar(255), "
        "`last_access` datetime, `last_page` varchar(255), "
        "`provider` varchar(128) NOT NULL DEFAULT 'default', `external_identifier` varchar(255), "
        "`auth_data` json, `email_notifications` boolean DEFAULT '1', `appearance` varchar(255), "
        "`theme_dark` varchar(255), `theme_light` varchar(255), `theme_light_overrides` json, "
        "`theme_dark_overrides` json, `text_direction` varchar(255) not null default 'auto', "
        "PRIMARY KEY (`id`), "
        "FOREIGN KEY (`role`) REFERENCES `directus_roles` (`id`) ON DELETE SET NULL)",
        "CREATE UNIQUE INDEX `directus_users_email_unique` on `directus_users` (`email`)",
        "CREATE UNIQUE INDEX `directus_users_external_identifier_unique` on `directus_users` "
        "(`external_identifier`)",
        "CREATE UNIQUE INDEX `directus_users_token_unique` on `directus_users` (`token`)",
    ),
    "directus_roles": (
        'CREATE TABLE "directus_roles" (`id` char(36) NOT NULL, `name` varchar(100) NOT NULL, '
        "`icon` varchar(64) NOT NULL DEFAULT 'supervised_user_circle', `description` text, "
        "`parent` char(36), PRIMARY KEY (`id`), "
        "FOREIGN KEY (`parent`) REFERENCES `directus_roles` (`id`))",
    ),
    "directus_policies": (
        "CREATE TABLE `directus_policies` (`id` char(36), `name` varchar(100) not null, "
        "`icon` varchar(64) not null default 'badge', `description` text, `ip_access` text, "
        "`enforce_tfa` boolean not null default '0', "
        "`admin_access` boolean not null default '0', `app_access` boolean not null default '0', "
        "primary key (`id`))",
    ),
    "directus_access": (
        "CREATE TABLE `directus_access` (`id` char(36), `role` char(36) null, "
        "`user` char(36) null, `policy` char(36) not null, `sort` integer, "
        "foreign key(`role`) references `directus_roles`(`id`) on delete CASCADE, "
        "foreign key(`user`) references `directus_users`(`id`) on delete CASCADE, "
        "foreign key(`policy`) references `directus_policies`(`id`) on delete CASCADE, "
        "primary key (`id`))",
    ),
    "directus_permissions": (
        'CREATE TABLE "directus_permissions" (`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL, '
        "`collection` varchar(64) NOT NULL, `action` varchar(10) NOT NULL, `permissions` json, "
        "`validation` json, `presets` json, `fields` text, `policy` char(36) NOT NULL, "
        "FOREIGN KEY (`policy`) REFERENCES `directus_policies` (`id`) ON DELETE CASCADE)",
    ),
    "directus_activity": (
        'CREATE TABLE "directus_activity" (`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL, '
        "`action` varchar(45) NOT NULL, `user` char(36), "
        "`timestamp` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP, `ip` varchar(50), "
        "`user_agent` text, `collection` varchar(64) NOT NULL, `item` varchar(255) NOT NULL, "
        "`origin` varchar(255) NULL)",
        "CREATE INDEX `directus_activity_timestamp_index` ON `directus_activity` (`timestamp`)",
    ),
    "directus_revisions": (
        'CREATE TABLE "directus_revisions" (`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL, '
        "`activity` integer NOT NULL, `collection` varchar(64) NOT NULL, "
        "`item` varchar(255) NOT NULL, `data` json, `delta` json, `parent` integer, "
        "`version` char(36), FOREIGN KEY (`parent`) REFERENCES `directus_revisions` (`id`), "
        "FOREIGN KEY (`activity`) REFERENCES `directus_activity` (`id`) ON DELETE CASCADE, "
        "FOREIGN KEY (`version`) REFERENCES `directus_versions` (`id`) ON DELETE CASCADE)",
        "CREATE INDEX `directus_revisions_activity_index` ON `directus_revisions` (`activity`)",
        "CREATE INDEX `directus_revisions_parent_index` ON `directus_revisions` (`parent`)",
    ),
    "directus_dashboards": (
        'CREATE TABLE "directus_dashboards" (`id` char(36) NOT NULL, '
        "`name` varchar(255) NOT NULL, `icon` varchar(64) NOT NULL DEFAULT 'dashboard', "
        "`note` text, `date_created` datetime DEFAULT CURRENT_TIMESTAMP, "
        "`user_created` char(36), `color` varchar(255) NULL, "
        "FOREIGN KEY (`user_created`) REFERENCES `directus_users` (`id`) ON DELETE SET NULL, "
        "PRIMARY KEY (`id`))",
    ),
    "directus_panels": (
        'CREATE TABLE "directus_panels" (`id` char(36) NOT NULL, `dashboard` char(36) NOT NULL, '
        "`name` varchar(255), `icon` varchar(64) DEFAULT null, `color` varchar(10), "
        "`show_header` boolean NOT NULL DEFAULT '0', `note` text, `type` varchar(255) NOT NULL, "
        "`position_x` integer NOT NULL, `position_y` integer NOT NULL, `width` integer NOT NULL, "
        "`height` integer NOT NULL, `options` json, "
        "`date_created` datetime DEFAULT CURRENT_TIMESTAMP, `user_created` char(36), "
        "FOREIGN KEY (`dashboard`) REFERENCES `directus_dashboards` (`id`) ON DELETE CASCADE, "
        "FOREIGN KEY (`user_created`) REFERENCES `directus_users` (`id`) ON DELETE SET NULL, "
        "PRIMARY KEY (`id`))",
    ),
    "directus_settings": (
        'CREATE TABLE "directus_settings" (`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL, '
        "`project_name` varchar(100) NOT NULL DEFAULT 'Directus', `project_url` varchar(255), "
        "`project_color` varchar(255) NOT NULL DEFAULT '#6644FF', `project_logo` char(36), "
        "`public_foreground` char(36), `public_background` char(36), `public_note` text, "
        "`auth_login_attempts` integer DEFAULT '25', `auth_password_policy` varchar(100), "
        "`storage_asset_transform` varchar(7) DEFAULT 'all', `storage_asset_presets` json, "
        "`custom_css` text, `storage_default_folder` char(36), `basemaps` json, "
        "`mapbox_key` varchar(255), `module_bar` json, `project_descriptor` varchar(100) NULL, "
        "`default_language` varchar(255) NOT NULL DEFAULT 'en-US', `custom_aspect_ratios` json, "
        "`public_favicon` char(36), `default_appearance` varchar(255) NOT NULL DEFAULT 'auto', "
        "`default_theme_light` varchar(255), `theme_light_overrides` json, "
        "`default_theme_dark` varchar(255), `theme_dark_overrides` json, "
        "`report_error_url` varchar(255) NULL, `report_bug_url` varchar(255) NULL, "
        "`report_feature_url` varchar(255) NULL, "
        "`public_registration` boolean NOT NULL DEFAULT '0', "
        "`public_registration_verify_email` boolean NOT NULL DEFAULT '1', "
        "`public_registration_role` char(36) NULL, `public_registration_email_filter` json NULL, "
        "`visual_editor_urls` json NULL, `project_id` char(36), "
        "`mcp_enabled` boolean NOT NULL DEFAULT '0', "
        "`mcp_allow_deletes` boolean NOT NULL DEFAULT '0', "
        "`mcp_prompts_collection` varchar(255) NULL DEFAULT null, "
        "`mcp_system_prompt_enabled` boolean NOT NULL DEFAULT '1', "
        "`mcp_system_prompt` text NULL DEFAULT null, `project_owner` varchar(255), "
        "`project_usage` varchar(255), `org_name` varchar(255), `product_updates` boolean, "
        "`project_status` varchar(255), `ai_openai_api_key` text, `ai_anthropic_api_key` text, "
        "`ai_system_prompt` text, `ai_google_api_key` text, `ai_openai_compatible_api_key` text, "
        "`ai_openai_compatible_base_url` text, `ai_openai_compatible_name` text, "
        "`ai_openai_compatible_models` json, `ai_openai_compatible_headers` json, "
        "`ai_openai_allowed_models` json, `ai_anthropic_allowed_models` json, "
        "`ai_google_allowed_models` json, "
        "`collaborative_editing_enabled` boolean not null default '0', "
        "`ai_translation_default_model` text null, `ai_translation_glossary` json null, "
        "`ai_translation_style_guide` text null, `license_key` varchar(255) null default null, "
        "`license_token` text null default null, "
        "`mcp_oauth_enabled` boolean not null default '0', "
        "`mcp_oauth_dcr_enabled` boolean not null default '0', "
        "`mcp_oauth_cimd_enabled` boolean not null default '0', "
        "`default_save_action` varchar(255) not null default 'save-and-quit', "
        "FOREIGN KEY (`project_logo`) REFERENCES `directus_files` (`id`), "
        "FOREIGN KEY (`public_foreground`) REFERENCES `directus_files` (`id`), "
        "FOREIGN KEY (`public_background`) REFERENCES `directus_files` (`id`), "
        "CONSTRAINT `directus_settings_storage_default_folder_foreign` FOREIGN KEY "
        "(`storage_default_folder`) REFERENCES `directus_folders` (`id`) ON DELETE SET NULL, "
        "FOREIGN KEY (`public_favicon`) REFERENCES `directus_files` (`id`), "
        "FOREIGN KEY (`public_registration_role`) REFERENCES `directus_roles` (`id`) ON DELETE "
        "SET NULL)",
    ),
    "directus_relations": (
        'CREATE TABLE "directus_relations" (`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL, '
        "`many_collection` varchar(64) NOT NULL, `many_field` varchar(64) NOT NULL, "
        "`one_collection` varchar(64), `one_field` varchar(64), "
        "`one_collection_field` varchar(64), `one_allowed_collections` text, "
        "`junction_field` varchar(64), `sort_field` varchar(64), "
        "`one_deselect_action` varchar(255) NOT NULL DEFAULT 'nullify')",
    ),
}
