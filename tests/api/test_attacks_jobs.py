"""Issue 10, H2–H4 and the disk: every way of creating work is admitted the same way, and no request can hold the
only worker, break the history API or fill the disk."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from studio.domain.recipe import MAX_STORED_RECIPE_DEPTH, RecipeRequest, nesting_depth
from studio.services.admission import OutOfSpace, RateLimited
from studio.store.rows import JobStatus
from tests.api.conftest import make_client, studio_of
from tests.fakes import FakePipeline
from tests.helpers import database_at, wait_final

BODY = {"prompt": "a paper boat", "seed": 42, "duration_s": 0.5, "steps": 2}


@pytest.fixture
def hourly(tmp_path: Path, fake: FakePipeline) -> Iterator[TestClient]:
    yield from make_client(tmp_path, fake, max_jobs_per_hour=5)


# -- H2: retry is admitted like any new job ----------------------------------------------------------


def test_retry_counts_against_the_hourly_limit(hourly: TestClient, fake: FakePipeline) -> None:
    fake.fail_with = RuntimeError("boom")
    failed = hourly.post("/api/v1/jobs", json=BODY).json()["id"]
    assert wait_final(studio_of(hourly), failed).status is JobStatus.FAILED
    answers = [hourly.post(f"/api/v1/jobs/{failed}/retry").status_code for _ in range(8)]
    # 1 submitted + 4 retries fill the hour; before, all 8 retries were accepted (100 jobs in 30 s in the report)
    assert answers == [202] * 4 + [429] * 4


def test_retry_respects_the_queue_cap(tmp_path: Path, fake: FakePipeline) -> None:
    fake.gate = threading.Event()
    for client in make_client(tmp_path, fake, max_queued=2):
        studio = studio_of(client)
        running = client.post("/api/v1/jobs", json=BODY).json()["id"]
        assert fake.at_step.wait(10)
        client.post(f"/api/v1/jobs/{running}/cancel")
        assert wait_final(studio, running).status is JobStatus.CANCELED  # stopped between blocks, gate still shut
        fake.at_step.clear()
        client.post("/api/v1/jobs", json=BODY)  # runs, held
        assert fake.at_step.wait(10)
        assert client.post("/api/v1/jobs", json=BODY).status_code == 202
        assert client.post(f"/api/v1/jobs/{running}/retry").status_code == 202  # the queue is now full
        refused = client.post(f"/api/v1/jobs/{running}/retry")
        assert refused.status_code == 429 and "queue is full" in refused.json()["detail"]
        fake.gate.set()


def test_a_callback_pointing_at_the_studio_itself_is_refused(client: TestClient) -> None:
    """The loop of the report: a job whose callback retries it, forever. Loopback is not a public address."""
    for url in (
        "http://127.0.0.1:7860/api/v1/jobs/1/retry",
        "http://localhost:7860/x",
        "http://[::1]/",
        "http://0x7f000001/",
    ):
        response = client.post("/api/v1/jobs", json={**BODY, "callback_url": url})
        assert response.status_code == 422, url
        assert response.json()["detail"][0]["loc"] == ["body", "callback_url"]


# -- H3: the history API survives any chain of trims ---------------------------------------------------


def test_a_long_chain_of_trims_keeps_every_recipe_flat(client: TestClient) -> None:
    studio = studio_of(client)
    view = wait_final(studio, studio.submit(RecipeRequest(prompt="a fox", duration_s=2.0, steps=2)).id)
    assert view.video is not None
    video = view.video
    for _ in range(30):
        video = studio.videos.trim(video.id, start_s=0.0, end_s=video.num_frames / video.fps - 0.0625)
    assert nesting_depth(video.recipe) <= 2
    listed = client.get("/api/v1/videos", params={"limit": 200})
    assert listed.status_code == 200 and len(listed.json()["items"]) == 31
    assert client.get(f"/api/v1/videos/{video.id}").status_code == 200


def test_rows_from_before_the_upgrade_serialize_again(tmp_path: Path, fake: FakePipeline) -> None:
    database = database_at(tmp_path / "data" / "studio.db", "0009")
    chain: dict[str, object] = {"parent_id": 1, "start_s": 0.0}
    for depth in range(300):  # the 300th trim of a trim, as stored before
        chain = {"parent_id": depth + 2, "start_s": 0.0, "previous": chain}
    recipe = {"prompt": "一只狐狸在雪地里奔跑", "seed": 1, "trim": chain}
    with database.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE videos SET recipe = ? WHERE id = 1", (json.dumps(recipe),))
    database.dispose()
    for client in make_client(tmp_path, fake):  # starting the studio runs migration 0010
        answer = client.get("/api/v1/videos/1")
        assert answer.status_code == 200
        assert answer.json()["recipe"]["trim"] == {"parent_id": 301, "start_s": 0.0}
        assert client.get("/api/v1/videos").status_code == 200


def test_a_recipe_too_deep_or_too_large_is_not_stored(client: TestClient) -> None:
    from studio.domain.recipe import InvalidInput, Recipe
    from studio.store import library

    studio = studio_of(client)
    deep: dict[str, object] = {}
    for _ in range(MAX_STORED_RECIPE_DEPTH + 1):
        deep = {"x": deep}
    file = studio.media_dir / "incoming" / "x.mp4"
    file.parent.mkdir(parents=True, exist_ok=True)
    for stored in (deep, {"blob": "x" * 40_000}):
        file.write_bytes(b"not really a video")
        recipe = Recipe.from_dict(
            {
                **BODY,
                "model": "tiny-1.3b",
                "negative_prompt": "",
                "width": 160,
                "height": 96,
                "num_frames": 9,
                "fps": 16,
                "guidance": 5.0,
                "guidance_2": None,
                "flow_shift": 3.0,
            }
        )
        with pytest.raises(InvalidInput, match="recipe: "), studio.db.write() as session:
            library.add(
                session=session,
                store=studio.media,
                recipe=recipe,
                video_file=file,
                poster_file=None,
                stored_recipe=stored,
            )
    assert client.get("/api/v1/videos").json()["total"] == 0


# -- H4: one request cannot hold the only worker ---------------------------------------------------------


def test_the_reported_request_is_refused_with_the_field_named(tmp_path: Path, fake: FakePipeline) -> None:
    from studio.domain.presets import PRESETS

    for client in make_client(tmp_path, fake):
        studio_of(client).preset = PRESETS["tiny-a14b"]
        body = {"prompt": "x", "width": 1920, "height": 1920, "duration_s": 5.06, "steps": 100}
        answer = client.post("/api/v1/jobs", json=body)
        assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["body", "width"]
        answer = client.post("/api/v1/jobs", json={**body, "width": 320, "height": 192})
        assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["body", "steps"]
        assert "lower the steps, the duration or the size" in answer.json()["detail"][0]["msg"]
        assert client.post("/generate", json={"prompt": "x", "width": 1920, "height": 1920}).status_code == 422


def test_cancel_is_answered_within_a_step_however_long_the_step(client: TestClient, fake: FakePipeline) -> None:
    fake.gate = threading.Event()  # step 2 never ends on its own: only the checks between its blocks can stop it
    studio = studio_of(client)
    job_id = client.post("/api/v1/jobs", json={**BODY, "steps": 4}).json()["id"]
    assert fake.at_step.wait(10)
    assert client.post(f"/api/v1/jobs/{job_id}/cancel").json()["status"] == "running"
    view = wait_final(studio, job_id, timeout=10)  # before: the step had to end first (225 s in the report)
    assert view.status is JobStatus.CANCELED and view.step == 2


def test_a_cancel_asked_by_another_process_is_seen_between_blocks(client: TestClient, fake: FakePipeline) -> None:
    from studio.store import jobs

    fake.gate = threading.Event()
    studio = studio_of(client)
    job_id = client.post("/api/v1/jobs", json={**BODY, "steps": 4}).json()["id"]
    assert fake.at_step.wait(10)
    with studio.db.write() as session:  # as another server sharing the database would
        jobs.request_cancel(session=session, job_id=job_id)
    assert wait_final(studio, job_id, timeout=10).status is JobStatus.CANCELED


# -- the disk --------------------------------------------------------------------------------------------


def test_a_nearly_full_disk_refuses_new_work_with_a_clear_message(tmp_path: Path, fake: FakePipeline) -> None:
    for client in make_client(tmp_path, fake):
        studio = studio_of(client)
        made = wait_final(studio, client.post("/api/v1/jobs", json=BODY).json()["id"])
        assert made.video is not None
        studio.settings.min_free_disk_mb = 10**9  # a petabyte: no disk has that free
        refused = client.post("/api/v1/jobs", json=BODY)
        assert refused.status_code == 507 and "disk is nearly full" in refused.json()["detail"]
        with pytest.raises(OutOfSpace, match="delete videos in History"):
            studio.videos.trim(made.video.id, start_s=0.0, end_s=0.25)
        assert client.get("/api/v1/videos").json()["total"] == 1  # nothing saved was touched


def test_trims_and_exports_are_limited_per_user(tmp_path: Path, fake: FakePipeline) -> None:
    for client in make_client(tmp_path, fake, max_edits_per_hour=3):
        studio = studio_of(client)
        made = wait_final(studio, client.post("/api/v1/jobs", json=BODY).json()["id"])
        assert made.video is not None
        for _ in range(3):
            studio.videos.trim(made.video.id, start_s=0.0, end_s=0.25, owner="ip:203.0.113.9")
        with pytest.raises(RateLimited, match="at most 3 trims and exports per hour"):
            studio.videos.trim(made.video.id, start_s=0.0, end_s=0.25, owner="ip:203.0.113.9")
        studio.videos.trim(made.video.id, start_s=0.0, end_s=0.25, owner="ip:203.0.113.10")  # others are unaffected
        assert client.get("/api/v1/videos").json()["total"] == 5
