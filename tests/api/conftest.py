"""API fixtures: the FastAPI app around a real Studio (real SQLite and files) with the fake pipeline."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from studio.api import create_app
from studio.config import Settings
from studio.services.studio import Studio
from studio.web import build_app
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
    with serve(client.app, free_port()) as url:
        yield url


@contextlib.contextmanager
def serve(app: object, port: int) -> Iterator[str]:
    """`app` served over real HTTP by uvicorn in a thread on `port` (loopback), until the test ends."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", proxy_headers=False)  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout=60, what="uvicorn to start")
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@contextlib.contextmanager
def web_studio(tmp_path: Path, fake: FakePipeline, **settings: object) -> Iterator[tuple[Studio, FastAPI]]:
    """A started Studio and the whole web app around it (API, Gradio UI, guards), as app.py builds it."""
    studio = Studio(Settings(data_dir=tmp_path / "data", **settings), preset=PRESET, pipeline=fake)  # type: ignore[arg-type]
    studio.start()
    app = build_app(studio)
    try:
        yield studio, app
    finally:
        app.state.callbacks.stop()
        studio.stop()


@pytest.fixture
def web(tmp_path: Path, fake: FakePipeline) -> Iterator[TestClient]:
    """The whole web app with the embedded defaults (no auth), in-process."""
    with web_studio(tmp_path, fake) as (_studio, app), TestClient(app) as client:
        yield client


def gradio_event(
    client: TestClient, handler: str, data: list[object], *, session: str = "attacker"
) -> dict[str, object]:
    """Call a UI event handler the way a browser (or an attacker) does: POST /gradio_api/queue/join by fn_index, then
    read the queue's event stream until that event completes; returns its `process_completed` message."""
    blocks = next(route.app for route in client.app.routes if getattr(route, "path", None) == "").get_blocks()  # type: ignore[attr-defined]
    fn_index = next(index for index, fn in blocks.fns.items() if fn.name == handler)
    joined = client.post(
        "/gradio_api/queue/join", json={"fn_index": fn_index, "session_hash": session, "data": data, "trigger_id": None}
    )
    assert joined.status_code == 200, joined.text
    event_id = joined.json()["event_id"]
    with client.stream("GET", f"/gradio_api/queue/data?session_hash={session}") as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                message = json.loads(line[5:])
                if message.get("event_id") == event_id and message.get("msg") == "process_completed":
                    return message  # type: ignore[no-any-return]
    raise AssertionError(f"the event of {handler} never completed")
