"""The store's tests run on SQLite and on Postgres: `db` here is each of them in turn."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from studio.store.database import Database


@pytest.fixture
def db(any_db: Database) -> Database:
    return any_db


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    """For what only SQLite has (WAL, its write lock)."""
    database = Database(f"sqlite:///{tmp_path / 'studio.db'}")
    database.upgrade()
    yield database
    database.dispose()
