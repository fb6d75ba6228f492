"""The Directus integration: its system tables, who is who, registration, Insights dashboards."""
