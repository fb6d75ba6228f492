"""v2: custody enforced by the database.

Adds `os_approval_uses` (an approval is used once, ever), records the use of every
approval a rollout already named, and installs the custody triggers (db/custody.py).

Revision ID: v2
Revises: v1
"""

from alembic import op

from govgate.db import custody
from govgate.db import schema as s

revision = "v2"
down_revision = "v1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    s.approval_uses.create(conn, checkfirst=True)
    custody.backfill_uses(conn)
    custody.install(conn)
    if conn.dialect.name == "postgresql":
        custody.grant_append(conn, ("govgate_agent", "govgate_approver"))
    if conn.dialect.name == "postgresql":
        # The agent reads which approvals were used; only the trigger writes them.
        for role in ("govgate_agent", "govgate_approver"):
            conn.exec_driver_sql(
                f"DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') "
                f"THEN GRANT SELECT ON os_approval_uses, os_alembic_version TO {role}; "
                "END IF; END $$"
            )
