"""comparison grids: the axes of an X/Y comparison and which job is which cell

- `comparisons`: one row per comparison made with axes (studio/domain/axes.py), keyed by the group id its jobs and
  videos already carry; `spec` holds the shared request and the axes, `cells` the (x, y, first job id) of each cell
  (a retried cell's job is found through `jobs.retry_of`).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "comparisons",
        sa.Column("group_id", sa.String(length=64), primary_key=True),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("cells", sa.JSON(), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_comparisons_created_at", "comparisons", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_comparisons_created_at", table_name="comparisons")
    op.drop_table("comparisons")
