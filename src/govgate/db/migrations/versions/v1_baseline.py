"""v1: the governance and journal tables as govgate 0.1 made them (nothing to do).

Revision ID: v1
"""

revision = "v1"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """A database from before revisions were stamped is at v1 already."""
