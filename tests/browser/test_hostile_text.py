"""Issue 10: a prompt is shown as the characters typed — no image fetched, no HTML or link rendered — and the studio
cannot be framed by another site."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from threading import Thread

import pytest
from playwright.sync_api import Page, expect

from studio.client import StudioClient
from tests.server import StudioProcess

pytestmark = pytest.mark.browser


class _Tracker(BaseHTTPRequestHandler):
    hits: list[str] = []  # noqa: RUF012 - one module uses it

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def tracker() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Tracker)
    Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_a_hostile_prompt_shows_as_text_in_history(page: Page, studio_server: StudioProcess, tracker: str) -> None:
    prompt = (
        f"![t]({tracker}/track.png) <img src='{tracker}/img.png'> <svg onload=alert(1)></svg> "
        f"[click]({tracker}/link) **bold** # heading"
    )
    with StudioClient(studio_server.url) as client:
        done = client.generate(prompt, seed=404, duration_s=0.5, steps=1)
    assert done.status == "succeeded"
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto(studio_server.url)
    page.get_by_role("tab", name="History").click()
    page.get_by_label("Search").fill("heading")
    page.get_by_label("Search").press("Enter")
    page.locator("#history-gallery .thumbnail-item").first.click()
    details = page.locator("#history-details")
    expect(details).to_contain_text(f"![t]({tracker}/track.png)")  # the characters, as typed
    expect(details).to_contain_text("<img src=")
    expect(details).to_contain_text("**bold** # heading")
    assert details.locator("img").count() == 0 and details.locator("svg[onload]").count() == 0
    assert details.locator(f"a[href^='{tracker}']").count() == 0 and details.locator("h1").count() == 0
    assert details.locator("strong", has_text="bold").count() == 0  # the studio's own labels are bold, not the prompt
    assert [url for url in asked if url.startswith(tracker)] == [] and _Tracker.hits == []


def test_the_studio_refuses_to_be_framed(page: Page, studio_server: StudioProcess) -> None:
    response = page.goto(studio_server.url)
    assert response is not None
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
