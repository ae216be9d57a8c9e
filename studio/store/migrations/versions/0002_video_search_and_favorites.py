"""videos: full-text search over prompts (SQLite FTS5, trigram) and an index on favorite

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

The FTS table, its shadow tables and its triggers are raw SQL the ORM does not map; `studio.records.
include_in_autogenerate` keeps them out of Alembic's model comparison. The index reads its text from `videos`
(external content) and is kept in step by the triggers below.

A later migration that rebuilds `videos` with `batch_alter_table` (SQLite's copy-and-move) drops these
triggers with the old table: it must create them again, as `_TRIGGERS` here does.
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# The trigram tokenizer (SQLite ≥ 3.34) indexes every 3-character window, so substrings match in any script,
# Chinese included, and case-insensitively.
_TABLE = (
    "CREATE VIRTUAL TABLE videos_fts USING fts5("
    "prompt, negative_prompt, content='videos', content_rowid='id', tokenize='trigram')"
)
_TRIGGERS = (
    """
    CREATE TRIGGER videos_fts_after_insert AFTER INSERT ON videos BEGIN
        INSERT INTO videos_fts(rowid, prompt, negative_prompt) VALUES (new.id, new.prompt, new.negative_prompt);
    END
    """,
    """
    CREATE TRIGGER videos_fts_after_delete AFTER DELETE ON videos BEGIN
        INSERT INTO videos_fts(videos_fts, rowid, prompt, negative_prompt)
        VALUES ('delete', old.id, old.prompt, old.negative_prompt);
    END
    """,
    """
    CREATE TRIGGER videos_fts_after_update AFTER UPDATE OF prompt, negative_prompt ON videos BEGIN
        INSERT INTO videos_fts(videos_fts, rowid, prompt, negative_prompt)
        VALUES ('delete', old.id, old.prompt, old.negative_prompt);
        INSERT INTO videos_fts(rowid, prompt, negative_prompt) VALUES (new.id, new.prompt, new.negative_prompt);
    END
    """,
)
_TRIGGER_NAMES = ("videos_fts_after_insert", "videos_fts_after_delete", "videos_fts_after_update")


def _check_sqlite_has_trigram() -> None:
    version = op.get_bind().exec_driver_sql("SELECT sqlite_version()").scalar() or "0"
    if tuple(int(part) for part in version.split(".")[:2]) < (3, 34):
        raise RuntimeError(
            f"SQLite {version} is too old for prompt search: the FTS5 trigram tokenizer needs SQLite 3.34 or "
            "newer. Use a Python whose sqlite3 module is built on a newer SQLite (python.org, uv or Debian 12 "
            "builds are), or point STUDIO_DATABASE_URL at Postgres."
        )


def upgrade() -> None:
    # 1. Favorites filter: an index on (favorite) also orders by id, which SQLite appends to every index.
    op.create_index(op.f("ix_videos_favorite"), "videos", ["favorite"], unique=False)

    # 2. Prompt search. Other databases search with ILIKE and need nothing here.
    if op.get_bind().dialect.name != "sqlite":
        return
    _check_sqlite_has_trigram()
    op.execute(_TABLE)
    for trigger in _TRIGGERS:
        op.execute(trigger)
    # 3. Backfill: index the videos made before this revision.
    op.execute("INSERT INTO videos_fts(videos_fts) VALUES ('rebuild')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in _TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS videos_fts")
    op.drop_index(op.f("ix_videos_favorite"), table_name="videos")
