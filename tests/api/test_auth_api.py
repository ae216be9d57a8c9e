"""With tokens or UI users configured, every route but /health refuses the unauthenticated."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import make_client
from tests.fakes import FakePipeline

TOKEN = "t0ken-for-tests-0123456789"


@pytest.fixture
def locked(tmp_path: Path, fake: FakePipeline) -> Iterator[TestClient]:
    yield from make_client(tmp_path, fake, api_tokens=[TOKEN], auth=["alice:wonderland"])


UNDOCUMENTED = [("GET", "/docs"), ("GET", "/openapi.json"), ("GET", "/api/static/swagger/swagger-ui.css")]


def every_route(client: TestClient) -> list[tuple[str, str]]:
    """Every documented operation, with ids filled in, plus the documentation routes themselves."""
    paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    found = [(m.upper(), p.replace("{job_id}", "1").replace("{video_id}", "1")) for p in paths for m in paths[p]]
    return found + UNDOCUMENTED


def test_every_route_but_health_refuses_without_credentials(locked: TestClient) -> None:
    routes = every_route(locked)
    assert len(routes) >= 14
    for method, path in routes:
        response = locked.request(method, path, json={"prompt": "x"})
        if path == "/health":
            assert response.status_code == 200
        else:
            assert response.status_code == 401, (method, path, response.status_code)
            assert "Bearer" in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    "header",
    [f"Bearer {TOKEN}x", "Bearer ", "Basic " + base64.b64encode(b"alice:wrong").decode(), "Basic !!!", TOKEN],
)
def test_wrong_credentials_are_refused(locked: TestClient, header: str) -> None:
    assert locked.get("/api/v1/jobs", headers={"Authorization": header}).status_code == 401


def test_a_token_or_a_ui_user_gets_in(locked: TestClient) -> None:
    assert locked.get("/api/v1/jobs", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    basic = "Basic " + base64.b64encode(b"alice:wonderland").decode()
    assert locked.get("/metrics", headers={"Authorization": basic}).status_code == 200
    assert locked.get("/docs", headers={"Authorization": basic}).status_code == 200


def test_without_tokens_or_users_the_api_is_open(client: TestClient) -> None:
    assert client.get("/api/v1/jobs").status_code == 200
