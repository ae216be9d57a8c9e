"""videos: prompt search on Postgres — trigram GIN indexes (pg_trgm) on prompt and negative prompt

SQLite searches through the FTS5 table of 0002; Postgres answers the same `ILIKE '%…%'` from these indexes, Chinese
substrings included (under a UTF-8 locale pg_trgm makes trigrams of CJK characters). Nothing changes on SQLite.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_INDEXES = {"ix_videos_prompt_trgm": "prompt", "ix_videos_negative_prompt_trgm": "negative_prompt"}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in _INDEXES.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON videos USING gin ({column} gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in _INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
