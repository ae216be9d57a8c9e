"""Bad start images are refused with the field named, and nothing is stored (no image, no job)."""

from __future__ import annotations

import io
from pathlib import Path

import PIL.Image
from fastapi.testclient import TestClient

from studio.store import jobs
from tests.api.conftest import studio_of


def _png(width: int = 64, height: int = 48) -> bytes:
    out = io.BytesIO()
    PIL.Image.new("RGB", (width, height), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def _stored_images(client: TestClient) -> list[Path]:
    folder = studio_of(client).media.local_dir / "images"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def _job_count(client: TestClient) -> int:
    with studio_of(client).db.read() as session:
        return len(jobs.list_jobs(session=session, limit=100))


def _refused(answer: object, field: str) -> str:
    assert answer.status_code == 422, answer.text  # type: ignore[attr-defined]
    body = answer.json()  # type: ignore[attr-defined]
    assert body["field"] == field, body
    return str(body["message"])


def test_a_good_png_is_stored_once_by_its_content(client: TestClient) -> None:
    first = client.post("/api/v1/images", files={"file": ("a.png", _png(), "image/png")})
    again = client.post("/api/v1/images", files={"file": ("../../b.png", _png(), "text/plain")})
    assert first.status_code == 201, first.text
    assert first.json()["id"] == again.json()["id"] and len(first.json()["id"]) == 64
    assert (first.json()["width"], first.json()["height"]) == (64, 48)
    assert [p.name for p in _stored_images(client)] == [f"{first.json()['id']}.png"]
    served = client.get(first.json()["url"])
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"


def test_bad_images_are_refused_naming_the_field_and_nothing_is_stored(client: TestClient) -> None:
    noisy = io.BytesIO()
    PIL.Image.effect_noise((64, 64), 80).convert("RGB").save(noisy, format="PNG")  # noise does not compress
    truncated = noisy.getvalue()[: len(noisy.getvalue()) // 2]
    huge = io.BytesIO()
    PIL.Image.new("L", (20000, 2)).save(huge, format="PNG")  # 20000 px wide: over 4096 per side, a few kB
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'
    cases = {
        "truncated": (truncated, "damaged or truncated"),
        "huge": (huge.getvalue(), "4096"),
        "svg": (svg, "PNG, JPEG or WebP"),
        "empty": (b"", "empty"),
    }
    for name, (data, words) in cases.items():
        answer = client.post("/api/v1/images", files={"file": (f"{name}.png", data, "image/png")})
        assert words in _refused(answer, "file"), name
    # A path instead of a file: as the multipart field, and as the job's image id
    as_text = client.post("/api/v1/images", data={"file": "/etc/passwd"})
    assert as_text.status_code == 422 and as_text.json()["field"] == "file"
    answer = client.post("/api/v1/jobs", json={"prompt": "a cat", "start_image": "/etc/passwd"})
    assert "pattern" in _refused(answer, "start_image")
    answer = client.post("/api/v1/jobs", json={"prompt": "a cat", "start_image": "0" * 64})
    _refused(answer, "start_image")  # a well-formed id that names no stored image (and a text-only model)
    assert _stored_images(client) == []
    assert _job_count(client) == 0


def test_a_frame_of_a_missing_video_or_outside_the_clip_is_refused(client: TestClient) -> None:
    answer = client.post("/api/v1/jobs", json={"prompt": "a cat", "start_frame": {"video_id": 999, "time_s": 0}})
    assert answer.status_code == 404 and answer.json()["field"] == "video_id"
    answer = client.post("/api/v1/jobs", json={"prompt": "a cat", "start_frame": {"video_id": 1, "time_s": -1}})
    _refused(answer, "time_s")
    assert _stored_images(client) == [] and _job_count(client) == 0


def test_the_image_route_serves_only_stored_ids(client: TestClient) -> None:
    for bad in ("..%2F..%2Fstudio.db", "a" * 64, "A" * 64):
        assert client.get(f"/api/v1/images/{bad}").status_code == 404
