"""Issue 10, medium and low items, tried against the whole app as app.py builds it (API + Gradio UI + guards).

Each test names what an attacker did and what the studio answers now.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from studio.domain.recipe import MAX_PROMPT_CHARS
from tests.api.conftest import gradio_event, serve, studio_of, web_studio
from tests.fakes import FakePipeline
from tests.helpers import wait_final
from tests.server import free_port

BODY = {"prompt": "a paper boat", "seed": 42, "duration_s": 0.5, "steps": 2}
ALICE = "Basic " + base64.b64encode(b"alice:wonderland").decode()
WRONG = "Basic " + base64.b64encode(b"alice:guess").decode()


@pytest.fixture
def locked(tmp_path: Path, fake: FakePipeline) -> Iterator[TestClient]:
    """Auth on (a UI user and an API token), MCP on, a small login budget."""
    with (
        web_studio(
            tmp_path,
            fake,
            auth=["alice:wonderland"],
            api_tokens=["t0ken-for-tests-0123456789"],
            mcp=True,
            login_max_failures=3,
        ) as (_studio, app),
        TestClient(app) as client,
    ):
        yield client


# -- one request, a lot of memory -------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/gradio_api/queue/join", "/api/v1/jobs", "/gradio_api/run/predict", "/login"])
def test_a_ten_megabyte_body_is_refused_before_anything_reads_it(web: TestClient, path: str) -> None:
    huge = b'{"prompt": "' + b"x" * 10_000_000 + b'"}'
    response = web.post(path, content=huge, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert "max_request_kb" in response.json()["detail"]


def test_a_chunked_body_is_counted_as_it_arrives(web: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b"x" * 10_000

    response = web.post("/api/v1/jobs", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_the_token_counter_refuses_an_overlong_prompt_without_tokenizing_it(
    web: TestClient, fake: FakePipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    counted: list[int] = []
    monkeypatch.setattr(fake, "count_tokens", lambda text: counted.append(len(text)) or 1)
    message = gradio_event(web, "token_note", ["word " * 1000])  # 5000 characters, under the body limit
    assert message["success"] is True and f"over the limit of {MAX_PROMPT_CHARS}" in str(message["output"])
    assert counted == []


def test_a_search_longer_than_the_apis_is_refused(web: TestClient) -> None:
    message = gradio_event(web, "search", ["狐" * 600, "All models", False])
    assert message["success"] is False


# -- framing, errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/api/v1/jobs", "/health", "/docs"])
def test_no_page_can_be_framed_by_another_site(web: TestClient, path: str) -> None:
    response = web.get(path)
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_a_failed_job_tells_its_kind_without_the_servers_paths(web: TestClient, fake: FakePipeline) -> None:
    fake.fail_with = FileNotFoundError(2, "No such file or directory", "/srv/secret/models/transformer/x.safetensors")
    job = web.post("/api/v1/jobs", json=BODY).json()
    view = wait_final(studio_of(web), job["id"])
    assert view.error is not None and view.error.startswith("FileNotFoundError")
    assert "/srv" not in view.error and "x.safetensors" in view.error


def test_an_unexpected_ui_error_is_not_shown_as_a_traceback(web: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    studio = studio_of(web)

    def broken(*_args: object, **_kwargs: object) -> object:
        raise RuntimeError("database at /srv/data/studio.db is locked")

    monkeypatch.setattr(studio.videos, "set_favorite", broken)
    message = gradio_event(web, "keep", [1])
    assert message["success"] is False and "/srv" not in str(message)


# -- who is asking: forwarded headers -----------------------------------------------------------------


def test_forwarded_for_from_an_untrusted_peer_does_not_change_who_is_asking(tmp_path: Path, fake: FakePipeline) -> None:
    with web_studio(tmp_path, fake, max_queued_per_user=1) as (studio, app), TestClient(app) as client:
        fake.gate = __import__("threading").Event()  # hold the first job so the others wait
        first = client.post("/api/v1/jobs", json=BODY, headers={"X-Forwarded-For": "203.0.113.1"})
        assert first.status_code == 202
        assert fake.at_step.wait(10)
        client.post("/api/v1/jobs", json=BODY, headers={"X-Forwarded-For": "203.0.113.2"})
        third = client.post("/api/v1/jobs", json=BODY, headers={"X-Forwarded-For": "203.0.113.3"})
        assert third.status_code == 429  # the same peer, whatever it claims to forward
        fake.gate.set()
        assert {job.owner for job in _jobs(studio)} == {"ip:testclient"}


def _jobs(studio: object) -> list[object]:
    from sqlalchemy import select

    from studio.store.rows import Job

    with studio.db.read() as session:  # type: ignore[attr-defined]
        return list(session.scalars(select(Job)))


def test_share_links_use_the_public_url_not_a_forwarded_host(tmp_path: Path, fake: FakePipeline) -> None:
    with web_studio(tmp_path, fake) as (studio, app), TestClient(app) as client:
        view = wait_final(studio, client.post("/api/v1/jobs", json=BODY).json()["id"])
        assert view.video is not None
        evil = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}
        link = client.post(f"/api/v1/videos/{view.video.id}/shares", headers=evil).json()
        assert link["url"].startswith("http://testserver/v/")
        page = client.get(f"/v/{link['token']}", headers=evil).text
        assert "evil.example" not in page
    with (
        web_studio(tmp_path / "b", fake, public_url="https://studio.example.com/") as (studio, app),
        TestClient(app) as client,
    ):
        view = wait_final(studio, client.post("/api/v1/jobs", json=BODY).json()["id"])
        assert view.video is not None
        link = client.post(f"/api/v1/videos/{view.video.id}/shares").json()
        assert link["url"] == f"https://studio.example.com/v/{link['token']}"
        assert 'content="https://studio.example.com/v/' in client.get(f"/v/{link['token']}").text


# -- auth on: the login page, brute force, MCP --------------------------------------------------------


def test_a_stranger_gets_the_login_page_without_the_endpoint_list(locked: TestClient) -> None:
    page = locked.get("/").text
    assert "window.gradio_api_info = {};" in page and "generate" not in page.split("gradio_api_info", 1)[1][:200]
    assert locked.get("/gradio_api/info").status_code == 401
    assert locked.get("/gradio_api/runs").status_code in (401, 404)
    assert locked.get("/config").status_code == 401
    with_session = locked.get("/", headers={"Authorization": ALICE}).text
    assert '"named_endpoints": {"/generate"' in with_session or "/generate" in with_session.split("gradio_api_info")[1]


def test_repeated_wrong_passwords_lock_the_login_form_even_for_the_right_one(locked: TestClient) -> None:
    for _ in range(3):
        assert locked.post("/login", data={"username": "alice", "password": "guess"}).status_code == 400
    refused = locked.post("/login", data={"username": "alice", "password": "wonderland"})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "too many failed logins" in refused.json()["detail"]


def test_repeated_wrong_basic_credentials_lock_the_api_too(locked: TestClient) -> None:
    for _ in range(3):
        assert locked.get("/api/v1/jobs", headers={"Authorization": WRONG}).status_code == 401
    assert locked.get("/api/v1/jobs", headers={"Authorization": ALICE}).status_code == 429
    # Requests without credentials are not guesses: they get 401, not a lockout
    assert locked.get("/api/v1/jobs").status_code in (401, 429)


def _mcp(client: TestClient, method: str, params: dict[str, object], **headers: str) -> tuple[int, str]:
    response = client.post(
        "/gradio_api/mcp/",
        json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
        headers={"Accept": "application/json, text/event-stream", **headers},
    )
    return response.status_code, response.text


INITIALIZE = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}


def test_mcp_refuses_strangers_and_serves_authorised_callers(locked: TestClient) -> None:
    for method, params in (("initialize", INITIALIZE), ("tools/list", {})):
        status, _ = _mcp(locked, method, params)
        assert status == 401, method
    status, text = _mcp(locked, "tools/list", {}, Authorization=ALICE)
    assert status == 200 and '"generate"' in text
    status, text = _mcp(locked, "tools/list", {}, Authorization="Bearer t0ken-for-tests-0123456789")
    assert status == 200 and '"generate"' in text


def test_an_authorised_mcp_tool_call_makes_a_video(tmp_path: Path, fake: FakePipeline) -> None:
    """Gradio's MCP server calls the app back over HTTP: at this process's own address, with the caller's credentials
    (never at an address a Host or X-Forwarded-Host header names)."""
    port = free_port()
    with (
        web_studio(tmp_path, fake, auth=["alice:wonderland"], mcp=True, port=port) as (studio, app),
        serve(app, port) as url,
    ):
        call = {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {
                "name": "generate",
                "arguments": {
                    "prompt": "a lantern",
                    "seed": "5",  # the Seed box is text (it must show letters and 20-digit numbers to refuse them)
                    "random_seed": False,
                    "duration_s": 0.5,
                    "steps": 2,
                },
            },
        }
        headers = {
            "Accept": "application/json, text/event-stream",
            "Authorization": ALICE,
            "Host": "evil.example",
            "X-Forwarded-Host": "evil.example",
        }
        response = httpx.post(f"{url}/gradio_api/mcp/", json=call, headers=headers, timeout=120)
        assert response.status_code == 200 and 'isError":false' in response.text, response.text[-2000:]
    videos = studio.videos.recent()
    assert len(videos) == 1 and videos[0].seed == 5
