"""Sharing with auth on: the studio asks for a login, its files refuse strangers, a permalink plays for anyone."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from studio.client import StudioClient
from tests.server import StudioProcess

pytestmark = pytest.mark.browser
TOKEN = "browser-test-token-0123456789"
USER = ("alice", "wonderland")


@pytest.fixture(scope="module")
def locked_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StudioProcess]:
    data = tmp_path_factory.mktemp("locked") / "data"
    server = StudioProcess(data, "tiny-1.3b", "--auth", ":".join(USER), "--api-tokens", TOKEN).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def shared(locked_server: StudioProcess) -> dict[str, object]:
    """A finished video and a permalink to it, made through the API with the token."""
    with StudioClient(locked_server.url, token=TOKEN) as client:
        job = client.generate("a <b>paper</b> boat on a rainy street", seed=77, duration_s=1.0)
        assert job.status == "succeeded"
        response = client._call("POST", f"/api/v1/videos/{job.video_id}/shares", json={})
    return {"video_id": job.video_id, "url": response["url"], "job": job}


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_logged_out_visit_lands_on_the_login_form(page: Page, locked_server: StudioProcess) -> None:
    page.goto(locked_server.url)
    expect(page.get_by_label("username")).to_be_visible()
    expect(page.get_by_role("button", name="Login")).to_be_visible()
    expect(page.get_by_text("Generate")).to_have_count(0)
    page.get_by_label("username").fill(USER[0])
    page.get_by_label("password").fill(USER[1])
    page.get_by_role("button", name="Login").click()
    expect(page.get_by_role("button", name="Generate")).to_be_visible()


def test_files_and_api_refuse_strangers(locked_server: StudioProcess, shared: dict[str, object]) -> None:
    video = locked_server.data_dir.resolve() / "media" / "videos" / f"{shared['video_id']}.mp4"
    assert video.exists()
    assert status_of(f"{locked_server.url}/gradio_api/file={video}") in (401, 403)
    assert status_of(f"{locked_server.url}/config") in (401, 403)
    assert status_of(f"{locked_server.url}/api/v1/videos/{shared['video_id']}/file") == 401
    assert status_of(f"{locked_server.url}/api/v1/jobs") == 401
    assert status_of(f"{locked_server.url}/health") == 200


def test_a_permalink_plays_for_anyone_and_shows_the_recipe(
    page: Page, locked_server: StudioProcess, shared: dict[str, object]
) -> None:
    page.goto(str(shared["url"]))
    expect(page.get_by_text("a <b>paper</b> boat on a rainy street")).to_be_visible()  # escaped, not markup
    expect(page.get_by_text("77", exact=False).first).to_be_visible()
    page.wait_for_function(
        """() => {
          const video = document.querySelector('video');
          if (!video || video.readyState < 2) return false;
          video.muted = true;
          if (video.paused) video.play();
          return video.currentTime > 0;
        }""",
        timeout=60_000,
    )
    token = str(shared["url"]).rsplit("/", 1)[-1]
    assert status_of(f"{locked_server.url}/v/{token[:-2]}xx") == 404  # a guessed token never hits
    with StudioClient(locked_server.url, token=TOKEN) as client:
        client._call("DELETE", f"/api/v1/shares/{token}")
    assert status_of(str(shared["url"])) == 404
