"""v3: approvals carry evidence — signatures, expiry, this database's id, quorum.

Adds `os_proposal_approvals.not_after`, the tables `os_approval_signatures` and
`os_passkeys`, this
database's id (once), the evidence triggers (db/evidence.py); gives the roles what
signed approvals and co-approvals need, and takes from `govgate_approver` every grant on
Directus's own records (activity, revisions): only Directus writes them. `govgate upgrade`
then registers the new collection and field in Directus (ops/upgrade.py).

Revision ID: v3
Revises: v2
"""

import sqlalchemy as sa
from alembic import op

from govgate.db import evidence
from govgate.db import schema as s

revision = "v3"
down_revision = "v2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    columns = {c["name"] for c in sa.inspect(conn).get_columns(s.approvals.name)}
    if "not_after" not in columns:
        op.add_column(s.approvals.name, sa.Column("not_after", sa.DateTime(timezone=True)))
    s.approval_signatures.create(conn, checkfirst=True)
    s.passkeys.create(conn, checkfirst=True)
    evidence.ensure_database_id(conn)
    evidence.install(conn)
    if conn.dialect.name == "postgresql":
        evidence.grant(conn, "govgate_agent", "govgate_approver")
