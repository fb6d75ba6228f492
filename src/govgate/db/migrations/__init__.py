"""govgate's own schema revisions (Alembic). `govgate upgrade` runs them; `init` stamps the head."""
