"""API fixtures: the FastAPI app around a real Studio (real SQLite and files) with the fake pipeline."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from studio.api import create_app
from studio.config import Settings
from studio.service import Studio
from tests.fakes import PRESET, FakePipeline


def make_client(tmp_path: Path, fake: FakePipeline, **settings: object) -> Iterator[TestClient]:
    studio = Studio(Settings(data_dir=tmp_path / "data", **settings), preset=PRESET, pipeline=fake)  # type: ignore[arg-type]
    studio.start()
    app = create_app(studio)
    with TestClient(app) as client:
        yield client
    app.state.callbacks.stop()
    studio.stop()


@pytest.fixture
def client(tmp_path: Path, fake: FakePipeline) -> Iterator[TestClient]:
    yield from make_client(tmp_path, fake)


def studio_of(client: TestClient) -> Studio:
    return client.app.state.studio  # type: ignore[attr-defined,no-any-return]
