"""jobs: group id (seeds submitted together); videos: kind (generated, trim, comparison)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28

Both are plain ADD COLUMNs: on SQLite `batch_alter_table` runs them as `ALTER TABLE ... ADD COLUMN` without
rebuilding the table, so the search triggers of 0002 on `videos` survive (tests/services/test_videos.py checks).
Existing videos were all made by jobs: the server default makes them "generated".
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("group_id", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_jobs_group_id"), ["group_id"], unique=False)
    with op.batch_alter_table("videos", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), server_default="generated", nullable=False))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite ≥ 3.35), not a batch rebuild, which would drop the search triggers of 0002.
    op.drop_column("videos", "kind")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_group_id"))
        batch_op.drop_column("group_id")
