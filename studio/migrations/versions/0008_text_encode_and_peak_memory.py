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
    for table in ("jobs", "videos"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("peak_memory_gb")
            batch_op.drop_column("text_encode_s")
