"""Shared fixtures: cheap real things (a temp SQLite file, a real Studio), never mocks of the database."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from studio.db import Database


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """A migrated SQLite database in a temp folder, as the studio makes it at startup."""
    database = Database(f"sqlite:///{tmp_path / 'studio.db'}")
    database.upgrade()
    yield database
    database.dispose()


@pytest.fixture
def media_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "media"
    folder.mkdir()
    return folder
