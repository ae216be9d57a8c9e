"""Permalinks: the public `/v/<token>` page and its media, and the authenticated API that makes and revokes them."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from studio.store.rows import ShareLink, utcnow
from tests.api.conftest import make_client, studio_of
from tests.fakes import FakePipeline
from tests.helpers import wait_final

HOSTILE_PROMPT = """a "quoted" <script>alert('x')</script> & </script><img src=x onerror=alert(1)> 海上的纸船"""
HOSTILE_NEGATIVE = "blurry', \"--><!-- <style>body{display:none}</style>"
BODY = {"prompt": "a paper boat", "seed": 42, "aspect_ratio": "9:16", "duration_s": 0.5, "steps": 3}
API_TOKEN = "t0ken-for-tests-0123456789"
NOT_VALID = "This link is not valid (it may have been revoked or expired)"


def make_video(client: TestClient, **body: object) -> int:
    """A finished video, made by the worker through the job API like any other."""
    job_id = client.post("/api/v1/jobs", json={**BODY, **body}).json()["id"]
    video = wait_final(studio_of(client), job_id).video
    assert video is not None
    return video.id


def share(client: TestClient, video_id: int, **body: object) -> dict[str, object]:
    response = client.post(f"/api/v1/videos/{video_id}/shares", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def assert_not_valid(client: TestClient, path: str) -> None:
    """The same small 404 page, whatever made the link stop working."""
    response = client.get(path)
    assert response.status_code == 404, path
    assert response.headers["content-type"].startswith("text/html") and NOT_VALID in response.text
    assert response.headers["cache-control"] == "no-store"


def meta(page: str, key: str) -> str:
    found = re.search(rf'<meta (?:property|name)="{re.escape(key)}" content="([^"]*)">', page)
    assert found, f"no {key} meta tag"
    return html.unescape(found.group(1))


# -- the page ------------------------------------------------------------------------------------


def test_the_page_shows_the_video_and_escapes_every_text(client: TestClient) -> None:
    video_id = make_video(client, prompt=HOSTILE_PROMPT, negative_prompt=HOSTILE_NEGATIVE)
    token = share(client, video_id)["token"]
    response = client.get(f"/v/{token}")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = response.text

    # 1. Nothing the prompts carry becomes markup: the only tags are the page's own.
    assert "<script>alert" not in page and "<img" not in page and "<style>body" not in page and "<!--" not in page
    assert page.count("<script") == 2 and page.count("</script>") == 2 and page.count("<style>") == 1
    assert html.escape(HOSTILE_PROMPT, quote=True) in page and html.escape(HOSTILE_NEGATIVE, quote=True) in page

    # 2. The player plays the MP4 through the token, with the poster.
    player = re.search(r"<video [^>]*>", page)
    assert player and "controls" in player.group(0) and "playsinline" in player.group(0)
    assert f'src="/v/{token}/video.mp4"' in player.group(0) and f'poster="/v/{token}/poster.jpg"' in player.group(0)

    # 3. The details of the recipe.
    for text in ("42", "tiny-1.3b", "96×160", "9 at 16 fps", "0.6 s", "Copy recipe"):
        assert text in page, text

    # 4. The recipe for the copy button is inert JSON that reads back exactly.
    block = re.search(r'<script type="application/json" id="recipe">(.*?)</script>', page, re.S)
    assert block and "<" not in block.group(1) and ">" not in block.group(1) and "&" not in block.group(1)
    recipe = json.loads(block.group(1))
    assert recipe == client.get(f"/api/v1/videos/{video_id}").json()["recipe"]
    assert recipe["prompt"] == HOSTILE_PROMPT and recipe["negative_prompt"] == HOSTILE_NEGATIVE


def test_link_previews_get_absolute_urls(client: TestClient) -> None:
    token = share(client, make_video(client, prompt=HOSTILE_PROMPT))["token"]
    page = client.get(f"/v/{token}").text
    base = f"http://testserver/v/{token}"
    assert meta(page, "og:type") == "video.other"
    assert meta(page, "og:description") == HOSTILE_PROMPT and HOSTILE_PROMPT[:20] in meta(page, "og:title")
    assert meta(page, "og:url") == base
    assert meta(page, "og:video") == f"{base}/video.mp4" and meta(page, "og:video:type") == "video/mp4"
    assert (meta(page, "og:video:width"), meta(page, "og:video:height")) == ("96", "160")
    assert meta(page, "og:image") == f"{base}/poster.jpg" and meta(page, "twitter:image") == f"{base}/poster.jpg"
    assert meta(page, "twitter:card") == "summary_large_image"
    assert client.get(meta(page, "og:video")).status_code == 200  # the absolute URLs work as given


def test_the_page_is_locked_down_by_its_headers(client: TestClient) -> None:
    token = share(client, make_video(client))["token"]
    response = client.get(f"/v/{token}")
    headers = response.headers
    assert headers["cache-control"] == "private, max-age=60"
    assert headers["x-content-type-options"] == "nosniff" and headers["referrer-policy"] == "no-referrer"
    policy = dict(part.strip().split(" ", 1) for part in headers["content-security-policy"].split(";"))
    assert policy["default-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    assert policy["media-src"] == "'self'" and policy["img-src"] == "'self'"
    # The inline style and script are allowed by their hashes, so the policy needs no 'unsafe-inline'.
    style = re.search(r"<style>(.*?)</style>", response.text, re.S)
    script = re.search(r"<script>(.*?)</script>", response.text, re.S)
    assert style and script
    for directive, source in (("style-src", style.group(1)), ("script-src", script.group(1))):
        digest = base64.b64encode(hashlib.sha256(source.encode()).digest()).decode()
        assert policy[directive] == f"'sha256-{digest}'"


# -- the media -----------------------------------------------------------------------------------


def test_the_video_is_served_with_range_requests_and_the_poster_too(client: TestClient) -> None:
    video_id = make_video(client)
    token = share(client, video_id)["token"]
    whole = client.get(f"/v/{token}/video.mp4")
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    assert whole.content == client.get(f"/api/v1/videos/{video_id}/file").content and len(whole.content) > 100
    assert whole.headers["accept-ranges"] == "bytes" and whole.headers["x-content-type-options"] == "nosniff"
    part = client.get(f"/v/{token}/video.mp4", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == whole.content[:100]
    assert part.headers["content-range"] == f"bytes 0-99/{len(whole.content)}"
    assert client.head(f"/v/{token}/video.mp4").status_code == 200
    poster = client.get(f"/v/{token}/poster.jpg")
    assert poster.status_code == 200 and poster.headers["content-type"] == "image/jpeg"
    assert poster.content[:2] == b"\xff\xd8"


# -- links that do not work ----------------------------------------------------------------------


def test_a_revoked_link_is_not_valid_anywhere(client: TestClient) -> None:
    token = share(client, make_video(client))["token"]
    assert client.delete(f"/api/v1/shares/{token}").status_code == 204
    for path in ("", "/video.mp4", "/poster.jpg"):
        assert_not_valid(client, f"/v/{token}{path}")


def test_an_expired_link_is_not_valid(client: TestClient) -> None:
    video_id = make_video(client)
    token = share(client, video_id, expires_in_s=60)["token"]
    assert client.get(f"/v/{token}").status_code == 200
    with studio_of(client).db.write() as session:
        session.execute(update(ShareLink).values(expires_at=utcnow() - timedelta(seconds=1)))
    for path in ("", "/video.mp4", "/poster.jpg"):
        assert_not_valid(client, f"/v/{token}{path}")
    (listed,) = client.get(f"/api/v1/videos/{video_id}/shares").json()
    assert listed["status"] == "expired"


@pytest.mark.parametrize(
    "token",
    ["A" * 32, "short", "x" * 65, "has space 0123456789", "%3Cscript%3Ealert(1)%3C%2Fscript%3E", "..%2F..%2F..%2Fetc"],
)
def test_unknown_or_garbage_tokens_get_the_not_valid_page(client: TestClient, token: str) -> None:
    make_video(client)
    for path in ("", "/video.mp4", "/poster.jpg"):
        response = client.get(f"/v/{token}{path}")
        assert response.status_code == 404, (token, path)
        if response.headers["content-type"].startswith("text/html"):
            assert NOT_VALID in response.text and "<script" not in response.text


def test_deleting_the_video_ends_its_links(client: TestClient) -> None:
    video_id = make_video(client)
    token = share(client, video_id)["token"]
    assert client.delete(f"/api/v1/videos/{video_id}").status_code == 204
    assert_not_valid(client, f"/v/{token}")
    assert client.delete(f"/api/v1/shares/{token}").status_code == 404


# -- the management API --------------------------------------------------------------------------


def test_make_list_and_revoke_links(client: TestClient) -> None:
    video_id = make_video(client)
    forever = share(client, video_id)
    assert forever["url"] == f"http://testserver/v/{forever['token']}"
    assert forever["status"] == "active" and forever["expires_at"] is None and forever["video_id"] == video_id
    assert len(str(forever["token"])) >= 32
    assert client.post(f"/api/v1/videos/{video_id}/shares").status_code == 201  # no body: until revoked
    hour = share(client, video_id, expires_in_s=3600)
    assert str(hour["created_at"]).endswith("Z") or "+00:00" in str(hour["created_at"])
    assert client.delete(f"/api/v1/shares/{forever['token']}").status_code == 204
    assert client.delete(f"/api/v1/shares/{forever['token']}").status_code == 204  # revoking again is fine
    listed = client.get(f"/api/v1/videos/{video_id}/shares").json()
    assert len(listed) == 3 and listed[0]["token"] == hour["token"]
    assert [link["status"] for link in listed] == ["active", "active", "revoked"]
    assert listed[-1]["revoked_at"] is not None and listed[0]["expires_at"] is not None


@pytest.mark.parametrize("expires_in_s", [59, 0, -5, 365 * 24 * 3600 + 1])
def test_an_expiry_outside_a_minute_to_a_year_is_refused(client: TestClient, expires_in_s: int) -> None:
    video_id = make_video(client)
    response = client.post(f"/api/v1/videos/{video_id}/shares", json={"expires_in_s": expires_in_s})
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"].startswith("expires_in_s:")


def test_unknown_videos_and_tokens_are_404(client: TestClient) -> None:
    assert client.post("/api/v1/videos/999/shares", json={}).status_code == 404
    assert client.get("/api/v1/videos/999/shares").status_code == 404
    assert client.delete(f"/api/v1/shares/{'A' * 32}").status_code == 404
    assert client.delete("/api/v1/shares/not%20a%20token").status_code == 404
    assert client.post("/api/v1/videos/0/shares", json={}).status_code == 422  # ids are bounded like VideoId
    assert client.post("/api/v1/videos/1/shares", json={"expires": 60}).status_code == 422  # unknown field


# -- with auth on ----------------------------------------------------------------------------------


@pytest.fixture
def locked(tmp_path: Path, fake: FakePipeline) -> Iterator[TestClient]:
    yield from make_client(tmp_path, fake, api_tokens=[API_TOKEN], auth=["alice:wonderland"])


def test_with_auth_on_the_page_is_public_and_the_management_is_not(locked: TestClient) -> None:
    bearer = {"Authorization": f"Bearer {API_TOKEN}"}
    job_id = locked.post("/api/v1/jobs", json=BODY, headers=bearer).json()["id"]
    video = wait_final(studio_of(locked), job_id).video
    assert video is not None

    # 1. Management needs credentials.
    assert locked.post(f"/api/v1/videos/{video.id}/shares", json={}).status_code == 401
    response = locked.post(f"/api/v1/videos/{video.id}/shares", json={}, headers=bearer)
    assert response.status_code == 201
    token = response.json()["token"]
    assert locked.get(f"/api/v1/videos/{video.id}/shares").status_code == 401
    assert locked.delete(f"/api/v1/shares/{token}").status_code == 401

    # 2. The page and its media do not.
    assert locked.get(f"/v/{token}").status_code == 200
    assert locked.get(f"/v/{token}/video.mp4", headers={"Range": "bytes=0-9"}).status_code == 206
    assert locked.get(f"/v/{token}/poster.jpg").status_code == 200
    assert locked.get(f"/api/v1/videos/{video.id}/file").status_code == 401  # the rest of the media stays locked

    # 3. A basic UI user may revoke, and the page goes.
    basic = {"Authorization": "Basic " + base64.b64encode(b"alice:wonderland").decode()}
    assert locked.delete(f"/api/v1/shares/{token}", headers=basic).status_code == 204
    assert_not_valid(locked, f"/v/{token}")
