"""jobs: when the job-end callback was delivered (or given up), so a restart re-sends the ones still owed

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("callback_done_at", sa.DateTime(timezone=True), nullable=True))
    # Jobs that ended before this revision: whether their callback arrived is unknown; never re-send those.
    op.execute(
        "UPDATE jobs SET callback_done_at = finished_at WHERE callback_url IS NOT NULL AND finished_at IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_column("jobs", "callback_done_at")
