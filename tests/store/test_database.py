import sqlite3

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from studio.store.database import Database
from studio.store.rows import Base, include_in_autogenerate


def test_migrations_build_exactly_the_models(db: Database) -> None:
    with db.engine.connect() as conn:
        # As env.py does: the FTS search index and its triggers are raw SQL, outside the models.
        context = MigrationContext.configure(conn, opts={"include_object": include_in_autogenerate})
        assert compare_metadata(context, Base.metadata) == []


def test_sqlite_is_configured_for_concurrency(sqlite_db: Database) -> None:
    db = sqlite_db
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    assert db.integrity_ok()


def test_writes_take_the_lock_up_front_and_reads_do_not(sqlite_db: Database) -> None:
    db = sqlite_db
    # A write session holds the write lock from BEGIN: a second writer waits its turn instead of failing later.
    other = sqlite3.connect(db.engine.url.database or "", isolation_level=None, timeout=0)
    try:
        with db.write() as session:
            session.connection()  # BEGIN IMMEDIATE has run
            assert other.execute("SELECT count(*) FROM jobs").fetchone() == (0,)  # readers still read (WAL)
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        with db.read() as session:
            session.connection()  # a reader's BEGIN is deferred: no lock taken
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
    finally:
        other.close()


def test_migrations_go_down_to_nothing_and_up_again(db: Database) -> None:
    from sqlalchemy import inspect

    from tests.helpers import migrate

    migrate(db, "base", down=True)
    with db.engine.connect() as conn:
        left = [name for name in inspect(conn).get_table_names() if name != "alembic_version"]
    assert left == []  # the job engine's tables (Postgres) went with ours
    db.upgrade()
    with db.engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
    assert {"jobs", "videos", "share_links", "fleet_workers"} <= tables
    if db.engine.dialect.name == "postgresql":
        assert {"procrastinate_jobs", "procrastinate_workers"} <= tables
