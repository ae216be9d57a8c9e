"""share_links: per-video permalinks (/v/<token>) that play without a login until revoked or expired

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29

A new table only: `videos` is not rebuilt, so the search triggers of 0002 stay. Links go with their video
(ON DELETE CASCADE; SQLite enforces it because studio/db.py turns `PRAGMA foreign_keys` on).
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "share_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("video_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["video_id"], ["videos.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("share_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_share_links_token"), ["token"], unique=True)
        batch_op.create_index(batch_op.f("ix_share_links_video_id"), ["video_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("share_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_share_links_video_id"))
        batch_op.drop_index(batch_op.f("ix_share_links_token"))
    op.drop_table("share_links")
