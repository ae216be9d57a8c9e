"""jobs: error kind (out of memory, error, interrupted) and the REST API's callback URL

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("error_kind", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("callback_url", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("callback_url")
        batch_op.drop_column("error_kind")
