"""A whole studio whose media live in an S3 bucket (a real moto endpoint): generate, serve, share, trim, delete."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from studio.media.storage import S3Store
from tests.api.conftest import make_client, studio_of
from tests.fakes import FakePipeline
from tests.helpers import wait_final
from tests.local_services import S3Server

TOKEN = "t0ken-for-s3-tests-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BODY = {"prompt": "a paper boat", "seed": 42, "aspect_ratio": "9:16", "duration_s": 2.0, "steps": 3}


@pytest.fixture
def client(
    tmp_path: Path, fake: FakePipeline, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    """The API over a real Studio with `media_url=s3://<fresh bucket>/media`, redirects on, and an API token."""
    yield from _s3_client(tmp_path, fake, s3_server, monkeypatch, media_redirect=True)


def _s3_client(
    tmp_path: Path, fake: FakePipeline, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch, *, media_redirect: bool
) -> Iterator[TestClient]:
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    yield from make_client(
        tmp_path,
        fake,
        media_url=f"s3://{s3_server.create_bucket()}/media",
        s3_endpoint_url=s3_server.endpoint_url,
        api_tokens=[TOKEN],
        content_check=False,
        media_redirect=media_redirect,
    )


def test_without_redirects_the_server_sends_the_bucket_s_files_itself(
    tmp_path: Path, fake: FakePipeline, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The default: clients need not reach the store (a bucket on a private network); seeking still works.
    for client in _s3_client(tmp_path, fake, s3_server, monkeypatch, media_redirect=False):
        video_id = make_video(client)
        forget_local_copies(client)  # fetched from the bucket on first use
        assert client.get(f"/api/v1/videos/{video_id}/file").status_code == 401  # auth first
        answer = client.get(f"/api/v1/videos/{video_id}/file", headers={**AUTH, "Range": "bytes=0-99"})
        assert answer.status_code == 206 and len(answer.content) == 100 and answer.content[4:8] == b"ftyp"
        assert client.get(f"/api/v1/videos/{video_id}/poster", headers=AUTH).content[:2] == b"\xff\xd8"


def store_of(client: TestClient) -> S3Store:
    media = studio_of(client).media
    assert isinstance(media, S3Store)
    return media


def bucket_keys(client: TestClient) -> list[str]:
    return sorted(item.key for item in store_of(client).objects(""))


def make_video(client: TestClient) -> int:
    answer = client.post("/api/v1/jobs", json=BODY, headers=AUTH)
    assert answer.status_code == 202, answer.text
    video = wait_final(studio_of(client), answer.json()["id"]).video
    assert video is not None
    return video.id


def play(client: TestClient, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    """Follow a media route as a browser's player does: the 307, then a ranged GET at the store."""
    redirect = client.get(path, headers=headers, follow_redirects=False)
    assert redirect.status_code == 307, redirect.text
    location = redirect.headers["location"]
    assert location.startswith(store_of(client).url_origin + "/")  # type: ignore[operator]
    return httpx.get(location, headers={"Range": "bytes=0-99"})


def forget_local_copies(client: TestClient) -> None:
    """As if another machine: nothing of the bucket in this machine's cache."""
    for sub in ("videos", "posters"):
        shutil.rmtree(store_of(client).local_dir / sub, ignore_errors=True)


def test_a_generated_video_lands_in_the_bucket_and_its_routes_redirect_there(client: TestClient) -> None:
    video_id = make_video(client)

    assert bucket_keys(client) == [f"posters/{video_id}.jpg", f"videos/{video_id}.mp4"]
    assert client.get(f"/api/v1/videos/{video_id}/file", follow_redirects=False).status_code == 401  # auth first
    mp4 = play(client, f"/api/v1/videos/{video_id}/file", AUTH)
    assert mp4.status_code == 206 and len(mp4.content) == 100 and mp4.content[4:8] == b"ftyp"
    assert mp4.headers["content-type"] == "video/mp4"
    assert mp4.headers["content-disposition"] == f'inline; filename="wan-{video_id:04d}-seed42-a-paper-boat.mp4"'
    poster = play(client, f"/api/v1/videos/{video_id}/poster", AUTH)
    assert poster.status_code == 206 and poster.content[:2] == b"\xff\xd8"  # a JPEG

    forget_local_copies(client)
    local = studio_of(client).videos.file(studio_of(client).videos.get(video_id))  # what the UI's player gets
    assert local.is_file() and local.read_bytes()[4:8] == b"ftyp"


def test_a_file_missing_from_the_bucket_is_404_not_a_redirect(client: TestClient) -> None:
    video_id = make_video(client)
    store_of(client).delete(f"videos/{video_id}.mp4")

    answer = client.get(f"/api/v1/videos/{video_id}/file", headers=AUTH, follow_redirects=False)

    assert answer.status_code == 404 and "missing from the media store" in answer.json()["message"]


def test_a_share_link_redirects_to_the_bucket_and_its_page_allows_it(client: TestClient) -> None:
    video_id = make_video(client)
    link = client.post(f"/api/v1/videos/{video_id}/shares", json={}, headers=AUTH).json()
    token = link["token"]

    page = client.get(f"/v/{token}")  # no credentials: the token is the credential
    policy = page.headers["content-security-policy"]
    origin = store_of(client).url_origin
    assert f"media-src 'self' {origin};" in policy and f"img-src 'self' {origin};" in policy
    mp4 = play(client, f"/v/{token}/video.mp4")
    assert mp4.status_code == 206 and mp4.content[4:8] == b"ftyp"

    client.delete(f"/api/v1/shares/{token}", headers=AUTH)
    assert client.get(f"/v/{token}/video.mp4", follow_redirects=False).status_code == 404


def test_trim_reads_the_source_from_the_bucket_and_publishes_its_copy(client: TestClient) -> None:
    parent = make_video(client)
    forget_local_copies(client)  # the trim must fetch its source through the cache

    answer = client.post(f"/api/v1/videos/{parent}/trims", json={"start_s": 0.5, "end_s": 1.5}, headers=AUTH)

    assert answer.status_code == 201, answer.text
    child = answer.json()["id"]
    assert f"videos/{child}.mp4" in bucket_keys(client) and f"posters/{child}.jpg" in bucket_keys(client)
    trimmed = play(client, f"/api/v1/videos/{child}/file", AUTH)
    assert trimmed.status_code == 206 and trimmed.content[4:8] == b"ftyp"


def test_delete_removes_the_objects_and_keeps_the_trimmed_copy(client: TestClient) -> None:
    parent = make_video(client)
    child = client.post(f"/api/v1/videos/{parent}/trims", json={"start_s": 0.0, "end_s": 1.0}, headers=AUTH).json()

    assert client.delete(f"/api/v1/videos/{parent}", headers=AUTH).status_code == 204

    assert bucket_keys(client) == [f"posters/{child['id']}.jpg", f"videos/{child['id']}.mp4"]
    assert not (store_of(client).local_dir / f"videos/{parent}.mp4").exists()
    assert client.get(f"/api/v1/videos/{parent}/file", headers=AUTH, follow_redirects=False).status_code == 404
