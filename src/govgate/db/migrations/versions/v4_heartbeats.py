"""v4: the agent is observable — one heartbeat row per running agent process.

Adds `os_agent_heartbeats` (db/heartbeat.py); `govgate_agent` may read, insert and update
it (and nothing else of it), `govgate_approver` may read it. The gate never depends on it.

Revision ID: v4
Revises: v3
"""

from alembic import op

from govgate.db import heartbeat
from govgate.db import schema as s

revision = "v4"
down_revision = "v3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    s.agent_heartbeats.create(conn, checkfirst=True)
    heartbeat.grant(conn, "govgate_agent", ("govgate_approver",))
