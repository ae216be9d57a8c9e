"""videos: flat trim lineage — drop the nested recipe.trim.previous chains (the parent link is the parent_id column)

Each trim of a trim nested the previous trim inside its recipe; after ~240 generations the API could no longer
serialize the recipe (depth exceeded) and answered 500 for good. The chain is already in videos.parent_id.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

import json
import sys
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

videos = sa.table("videos", sa.column("id", sa.Integer), sa.column("recipe", sa.JSON))


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(videos.c.id, sa.cast(videos.c.recipe, sa.Text)).where(
            sa.cast(videos.c.recipe, sa.Text).like('%"previous"%')
        )
    ).all()
    for video_id, text in rows:
        recipe = _loads(text)
        trim = recipe.get("trim") if isinstance(recipe, dict) else None
        if isinstance(trim, dict) and "previous" in trim:
            trim.pop("previous")
            connection.execute(videos.update().where(videos.c.id == video_id).values(recipe=recipe))


def _loads(text: str) -> Any:
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20_000))  # a chain of thousands of trims nests that deep
    try:
        return json.loads(text)
    finally:
        sys.setrecursionlimit(limit)


def downgrade() -> None:
    pass  # the dropped chains repeated what parent_id holds; nothing to put back
