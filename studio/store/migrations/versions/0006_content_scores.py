"""videos: content_score (the content check's NSFW score, NULL when not scored) and flagged

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

Plain ADD COLUMNs: on SQLite `batch_alter_table` runs them as `ALTER TABLE ... ADD COLUMN` without rebuilding the
table, so the search triggers of 0002 on `videos` survive. Videos made before the check have no score and are not
flagged (the server default).
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("videos", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_score", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("flagged", sa.Boolean(), server_default="0", nullable=False))
        batch_op.create_index(batch_op.f("ix_videos_flagged"), ["flagged"], unique=False)


def downgrade() -> None:
    # Plain DROP INDEX / DROP COLUMN (SQLite ≥ 3.35), not a batch rebuild, which would drop the search triggers of 0002.
    op.drop_index(op.f("ix_videos_flagged"), table_name="videos")
    op.drop_column("videos", "flagged")
    op.drop_column("videos", "content_score")
