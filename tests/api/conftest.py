"""API fixtures: the FastAPI app around a real Studio (real SQLite and files) with the fake pipeline."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient

from studio.api import create_app
from studio.config import Settings
from studio.service import Studio
from tests.fakes import PRESET, FakePipeline
from tests.helpers import wait_for
from tests.server import free_port


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


@pytest.fixture
def live_url(client: TestClient) -> Iterator[str]:
    """The same app served over real HTTP by uvicorn on a free loopback port (for the Python client)."""
    config = uvicorn.Config(client.app, host="127.0.0.1", port=free_port(), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout=30, what="uvicorn to start")
    yield f"http://127.0.0.1:{config.port}"
    server.should_exit = True
    thread.join(10)
