"""jobs and videos: text-encode seconds and peak GPU memory of the run

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ALTER TABLE ADD COLUMN only (no table rebuild), so the search triggers on videos survive.
    for table in ("jobs", "videos"):
        op.add_column(table, sa.Column("text_encode_s", sa.Float(), nullable=True))
        op.add_column(table, sa.Column("peak_memory_gb", sa.Float(), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite ≥ 3.35), not a batch rebuild, which would drop the search triggers of 0002.
    for table in ("jobs", "videos"):
        op.drop_column(table, "peak_memory_gb")
        op.drop_column(table, "text_encode_s")
