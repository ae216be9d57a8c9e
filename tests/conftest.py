"""Shared fixtures: cheap real things (a temp SQLite file, a real Studio), never mocks of the database."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from studio.config import Settings
from studio.services.studio import Studio
from studio.store.database import Database
from tests.fakes import PRESET, FakePipeline
from tests.hub_fixtures import hub, online, tiny_folders  # noqa: F401 - the loopback hub's fixtures (issue 14)
from tests.local_services import Postgres, S3Server


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


@pytest.fixture
def fake() -> FakePipeline:
    return FakePipeline()


@pytest.fixture
def studio(tmp_path: Path, fake: FakePipeline) -> Iterator[Studio]:
    """A real Studio (real SQLite, real media files) around the fake pipeline."""
    instance = Studio(Settings(data_dir=tmp_path / "data"), preset=PRESET, pipeline=fake)
    instance.start()
    yield instance
    instance.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """One throwaway PostgreSQL cluster for the whole run; each test that wants it takes a fresh database."""
    cluster = Postgres().start()
    yield cluster
    cluster.destroy()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """One moto S3 endpoint for the whole run; each test that wants it takes a fresh bucket."""
    server = S3Server().start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated database of each kind the studio runs on: the embedded SQLite file and a Postgres database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'studio.db'}"
    else:
        url = request.getfixturevalue("postgres").create_database()
    database = Database(url)
    database.upgrade()
    yield database
    database.dispose()
