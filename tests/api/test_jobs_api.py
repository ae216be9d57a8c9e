from __future__ import annotations

import json
import threading

from fastapi.testclient import TestClient

from studio.media import mp4
from tests.api.conftest import studio_of
from tests.fakes import FakePipeline
from tests.helpers import wait_final

BODY = {"prompt": "a paper boat", "seed": 42, "aspect_ratio": "9:16", "duration_s": 0.5, "steps": 3}


def test_submit_answers_202_with_the_resolved_job(client: TestClient) -> None:
    response = client.post("/api/v1/jobs", json=BODY)
    assert response.status_code == 202
    job = response.json()
    assert job["seed"] == 42 and (job["width"], job["height"], job["num_frames"], job["fps"]) == (96, 160, 9, 16)
    assert job["status"] in ("queued", "running", "succeeded") and job["recipe"]["prompt"] == "a paper boat"
    assert job["events_url"] == f"/api/v1/jobs/{job['id']}/events"


def test_a_random_seed_is_resolved_before_the_run(client: TestClient) -> None:
    job = client.post("/api/v1/jobs", json={**BODY, "seed": -1}).json()
    assert 0 <= job["seed"] <= 2**32 - 1


def test_follow_a_job_to_its_video_and_download_it(client: TestClient) -> None:
    job_id = client.post("/api/v1/jobs", json=BODY).json()["id"]
    wait_final(studio_of(client), job_id)
    job = client.get(f"/api/v1/jobs/{job_id}").json()
    assert job["status"] == "succeeded" and job["progress"] == 1.0 and job["timings"]["denoise_s"] == 0.02
    video = job["video"]
    assert video["seed"] == 42 and video["file_url"] == f"/api/v1/videos/{video['id']}/file"
    assert video["kind"] == "generated" and video["flagged"] is False and 0 <= video["content_score"] <= 1
    whole = client.get(video["file_url"])
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    name = f"wan-{video['id']:04d}-seed42-a-paper-boat.mp4"  # named after the video, not "1.mp4"
    assert whole.headers["content-disposition"] == f'inline; filename="{name}"'
    part = client.get(video["file_url"], headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == whole.content[:100]
    assert client.get(video["poster_url"]).headers["content-type"] == "image/jpeg"
    assert client.get(f"/api/v1/videos/{video['id']}").json()["recipe"] == job["recipe"]


def test_events_stream_progress_then_the_end(client: TestClient, fake: FakePipeline) -> None:
    fake.gate = threading.Event()
    job_id = client.post("/api/v1/jobs", json={**BODY, "steps": 4}).json()["id"]
    assert fake.at_step.wait(10)
    events: list[tuple[str, dict[str, object]]] = []
    with client.stream("GET", f"/api/v1/jobs/{job_id}/events") as stream:
        name = None
        for line in stream.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: ") and name:
                events.append((name, json.loads(line.removeprefix("data: "))))
                if name == "progress" and len(events) == 1:
                    fake.gate.set()
                if name == "end":
                    break
    assert events[0][0] == "progress" and events[0][1]["step"] == 2
    assert events[-1][0] == "end" and events[-1][1]["status"] == "succeeded"
    steps = [e[1]["step"] for e in events]
    assert steps == sorted(steps)


def test_list_cancel_and_retry(client: TestClient, fake: FakePipeline) -> None:
    fake.gate = threading.Event()
    running = client.post("/api/v1/jobs", json=BODY).json()["id"]
    assert fake.at_step.wait(10)
    queued = client.post("/api/v1/jobs", json=BODY).json()
    assert queued["queue_position"] == 1
    assert client.post(f"/api/v1/jobs/{queued['id']}/cancel").json()["status"] == "canceled"
    assert client.post(f"/api/v1/jobs/{running}/cancel").json()["status"] == "running"  # stops at its next step
    fake.gate.set()
    assert wait_final(studio_of(client), running).status.value == "canceled"
    listed = client.get("/api/v1/jobs", params={"status": "canceled"}).json()
    assert [j["id"] for j in listed] == [queued["id"], running]
    retried = client.post(f"/api/v1/jobs/{running}/retry")
    assert retried.status_code == 202 and retried.json()["seed"] == 42
    assert wait_final(studio_of(client), retried.json()["id"]).status.value == "succeeded"
    refused = client.post(f"/api/v1/jobs/{retried.json()['id']}/retry")
    assert refused.status_code == 409 and refused.json()["field"] == "job_id"
    assert refused.json()["message"].startswith(f"Job {retried.json()['id']} already finished; only failed,")


def test_unknown_ids_are_404_with_the_field(client: TestClient) -> None:
    for path in ("/api/v1/jobs/999", "/api/v1/videos/999", "/api/v1/videos/999/file", "/api/v1/jobs/999/events"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json()["detail"].endswith("999")
    assert client.post("/api/v1/jobs/999/cancel").status_code == 404


def test_health(client: TestClient) -> None:
    health = client.get("/health").json()
    assert health["model"] == "tiny-1.3b" and health["preview_mode"] is True and health["queue_depth"] == 0
    assert health["status"] in ("ok", "loading") and health["gpu_available"] is False


def test_docs_render_from_local_assets(client: TestClient) -> None:
    page = client.get("/docs").text
    assert "/api/static/swagger/swagger-ui-bundle.js" in page and "cdn" not in page.lower()
    assert client.get("/api/static/swagger/swagger-ui-bundle.js").status_code == 200
    assert "/api/v1/jobs" in client.get("/openapi.json").json()["paths"]


def test_downloaded_file_carries_its_recipe(client: TestClient, tmp_path) -> None:  # type: ignore[no-untyped-def]
    job_id = client.post("/api/v1/jobs", json=BODY).json()["id"]
    wait_final(studio_of(client), job_id)
    video = client.get(f"/api/v1/jobs/{job_id}").json()["video"]
    target = tmp_path / "download.mp4"
    target.write_bytes(client.get(video["file_url"]).content)
    assert mp4.read_recipe(target)["seed"] == 42
