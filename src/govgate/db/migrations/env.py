"""Alembic's entry point for govgate: migrations run on the connection `upgrade` hands in.

The caller owns the transaction (one transaction on PostgreSQL and SQLite alike), so a
failed step leaves the database at the revision it had.
"""

from alembic import context

from govgate.db.custody import VERSION_TABLE

context.configure(
    connection=context.config.attributes["connection"],
    version_table=VERSION_TABLE,
    transaction_per_migration=False,
)
with context.begin_transaction():
    context.run_migrations()
