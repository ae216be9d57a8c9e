"""Permalinks of videos the content check flagged: blurred with a click-to-reveal, no media in link previews, and
made only with an explicit confirmation. The threshold is 0 so that every video the worker makes is flagged.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import sync_playwright

from studio.api.permalink_page import FLAGGED_DESCRIPTION, FLAGGED_TITLE
from studio.media.content_check import ContentChecker
from tests.api.conftest import make_client, studio_of
from tests.api.test_permalinks import make_video, meta, share
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.fakes import FakePipeline

PROMPT = "a paper boat in the rain"


@pytest.fixture
def flagging(tmp_path: Path, fake: FakePipeline) -> Iterator[TestClient]:
    """The API around a studio whose content check flags every video it scores (threshold 0, the real model)."""
    for client in make_client(tmp_path, fake, content_check=False):
        studio_of(client).worker.content_check = ContentChecker(threshold=0.0)
        yield client


def flagged_share(client: TestClient) -> tuple[int, str]:
    video_id = make_video(client, prompt=PROMPT)
    assert client.get(f"/api/v1/videos/{video_id}").status_code == 200
    assert studio_of(client).videos.get(video_id).flagged
    return video_id, str(share(client, video_id, confirm_flagged=True)["token"])


def test_a_flagged_video_needs_confirm_flagged_to_be_shared(flagging: TestClient) -> None:
    video_id = make_video(flagging)
    for body in ({}, {"confirm_flagged": False}, {"expires_in_s": 3600}):
        response = flagging.post(f"/api/v1/videos/{video_id}/shares", json=body)
        assert response.status_code == 422, body
        (error,) = response.json()["detail"]
        assert error["loc"] == ["body", "confirm_flagged"] and error["msg"].startswith("confirm_flagged: ")
    assert flagging.post(f"/api/v1/videos/{video_id}/shares").status_code == 422  # no body at all
    assert flagging.get(f"/api/v1/videos/{video_id}/shares").json() == []  # nothing was made
    made = share(flagging, video_id, confirm_flagged=True, expires_in_s=3600)
    assert made["status"] == "active" and made["expires_at"] is not None


def test_confirm_flagged_is_harmless_for_other_videos(client: TestClient) -> None:
    video_id = make_video(client)
    assert not studio_of(client).videos.get(video_id).flagged
    assert share(client, video_id, confirm_flagged=True)["status"] == "active"


def test_the_page_blurs_a_flagged_video_behind_a_reveal_button(flagging: TestClient) -> None:
    _, token = flagged_share(flagging)
    response = flagging.get(f"/v/{token}")
    assert response.status_code == 200
    page = response.text

    # 1. The player (and so its poster) is blurred, without controls, under a notice with the button.
    player = re.search(r"<video [^>]*>", page)
    assert player and 'class="blurred"' in player.group(0) and "controls" not in player.group(0)
    assert f'poster="/v/{token}/poster.jpg"' in player.group(0)
    assert "video.blurred { filter: blur(" in page
    assert '<button type="button" id="reveal">Show anyway</button>' in page and 'id="content-notice"' in page

    # 2. Link previews get neither the media nor the prompt.
    for key in ("og:image", "og:video", "twitter:image", "og:video:secure_url"):
        assert f'"{key}"' not in page, key
    assert meta(page, "og:title") == FLAGGED_TITLE and meta(page, "og:description") == FLAGGED_DESCRIPTION
    assert meta(page, "twitter:card") == "summary" and meta(page, "twitter:description") == FLAGGED_DESCRIPTION
    head = page.split("</head>", 1)[0]
    assert PROMPT not in head and "poster.jpg" not in head and "video.mp4" not in head
    assert PROMPT in page.split("<body>", 1)[1]  # the page itself still says what it is

    # 3. The inline style and the script (which now reveals too) are still the ones the policy allows.
    policy = dict(part.strip().split(" ", 1) for part in response.headers["content-security-policy"].split(";"))
    for directive, pattern in (("style-src", r"<style>(.*?)</style>"), ("script-src", r"<script>(.*?)</script>")):
        source = re.search(pattern, page, re.S)
        assert source, directive
        digest = base64.b64encode(hashlib.sha256(source.group(1).encode()).digest()).decode()
        assert policy[directive] == f"'sha256-{digest}'"

    # 4. The media still come through the token: the viewer may choose to see them.
    assert flagging.get(f"/v/{token}/poster.jpg").status_code == 200
    assert flagging.get(f"/v/{token}/video.mp4", headers={"Range": "bytes=0-9"}).status_code == 206


def test_an_unflagged_page_is_unchanged(client: TestClient) -> None:
    token = share(client, make_video(client))["token"]
    page = client.get(f"/v/{token}").text
    assert 'class="blurred"' not in page and 'id="reveal"' not in page
    assert meta(page, "og:image").endswith("/poster.jpg")


@pytest.mark.browser
def test_show_anyway_unblurs_the_video_in_a_browser(client: TestClient, live_url: str) -> None:
    studio_of(client).worker.content_check = ContentChecker(threshold=0.0)  # `live_url` serves this client's app
    _, token = flagged_share(client)
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make test` (installs it) or set STUDIO_CHROMIUM")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(30_000)
            blocked: list[str] = []
            page.on("console", lambda message: blocked.append(message.text) if message.type == "error" else None)
            page.goto(f"{live_url}/v/{token}")
            video = page.locator("video")
            assert "blur" in video.evaluate("v => getComputedStyle(v).filter")
            assert video.evaluate("v => v.controls") is False
            page.get_by_role("button", name="Show anyway").click()
            assert video.evaluate("v => getComputedStyle(v).filter") == "none"
            assert video.evaluate("v => v.controls") is True
            assert page.locator("#content-notice").count() == 0
            assert not [text for text in blocked if "Content Security Policy" in text], blocked
        finally:
            browser.close()
