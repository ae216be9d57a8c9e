"""Bad input, queue limits, out-of-memory and callbacks: each refusal is a clear 4xx, never a 5xx."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from studio.api import CALLBACK_REDELIVERY_WINDOW, create_app
from studio.config import Settings
from studio.domain.recipe import RecipeRequest, build_recipe
from studio.engine.contract import GpuOutOfMemory
from studio.services.studio import Studio
from studio.store import jobs
from studio.store.database import Database
from tests.api.conftest import make_client, studio_of
from tests.fakes import PRESET, FakePipeline
from tests.helpers import database_at, migrate, wait_final, wait_for

BODY = {"prompt": "a paper boat", "seed": 42, "duration_s": 0.5, "steps": 2}


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"prompt": ""}, "prompt", "1–4000 characters"),
        ({"prompt": "x" * 100_000}, "prompt", "1–4000 characters"),
        ({"prompt": "a\x00b"}, "prompt", "control character U+0000"),
        ({"seed": -2}, "seed", "-1–4294967295"),
        ({"seed": 2**40}, "seed", "-1–4294967295"),
        ({"seed": "abc"}, "seed", "valid integer"),
        ({"steps": 0}, "steps", "1–100"),
        ({"steps": 10**30}, "steps", "1–100"),
        ({"guidance": float("nan")}, "guidance", "finite"),
        ({"guidance": float("inf")}, "guidance", "finite"),
        ({"duration_s": -1}, "duration_s", "0–60"),
        ({"duration_s": 30}, "duration_s", "from 0.31 to 5.06 s"),  # the model's own range, from build_recipe
        ({"aspect_ratio": "2:1"}, "aspect_ratio", "16:9"),
        ({"quality": "8k"}, "quality", "preview"),
        ({"width": 100, "height": 96}, "width", "multiple of 16"),
        ({"guidance_2": 3.0}, "guidance_2", "only two-expert models"),
        ({"callback_url": "not a url"}, "callback_url", "URL"),
        ({"surprise": 1}, "surprise", "Extra inputs"),
    ],
)
def test_bad_fields_are_422_naming_the_field_and_range(
    client: TestClient, change: dict[str, object], field: str, words: str
) -> None:
    body = json.dumps({**BODY, **change}, allow_nan=True)
    response = client.post("/api/v1/jobs", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    messages = [d["msg"] for d in response.json()["detail"]]
    assert any(m.startswith(f"{field}: ") and words in m for m in messages), messages
    assert client.get("/api/v1/jobs").json() == []  # nothing was queued


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/videos/..%2F..%2Fstudio.db/file",
        "/api/v1/videos/1%2F..%2F..%2Fstudio.db",
        "/api/v1/videos/-1/file",
        "/api/v1/videos/99999999999999999999999/file",
        "/api/v1/jobs/%00",
        "/api/v1/jobs/1e9",
    ],
)
def test_hostile_ids_never_reach_the_disk(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code in (404, 422), response.text
    assert b"SQLite" not in response.content


def test_a_huge_body_is_refused_without_a_5xx(client: TestClient) -> None:
    response = client.post("/api/v1/jobs", json={**BODY, "prompt": "x" * 5_000_000})
    assert response.status_code == 422


def test_queue_cap_answers_429_with_retry_after(tmp_path: Path, fake: FakePipeline) -> None:
    fake.gate = threading.Event()
    for client in make_client(tmp_path, fake, max_queued=2):
        running = client.post("/api/v1/jobs", json=BODY).json()["id"]
        assert fake.at_step.wait(10)
        accepted = [client.post("/api/v1/jobs", json=BODY) for _ in range(2)]
        refused = client.post("/api/v1/jobs", json=BODY)
        assert [r.status_code for r in accepted] == [202, 202]
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        assert "queue is full" in refused.json()["detail"]
        fake.gate.set()
        for job_id in [running] + [r.json()["id"] for r in accepted]:
            assert wait_final(studio_of(client), job_id).status.value == "succeeded"
        assert client.post("/api/v1/jobs", json=BODY).status_code == 202  # room again


def test_out_of_memory_is_507_and_the_next_job_runs(client: TestClient, fake: FakePipeline) -> None:
    fake.fail_with = GpuOutOfMemory("GPU out of memory at 160×96 × 9 frames: lower the quality or duration")
    oom = client.post("/generate", json={"prompt": "big", "duration": 0.5})
    assert oom.status_code == 507
    assert oom.json()["status"] == "error" and "lower the quality or duration" in oom.json()["message"]
    assert client.get(f"/api/v1/jobs/{oom.json()['job_id']}").json()["error_kind"] == "out_of_memory"
    ok = client.post("/generate", json={"prompt": "small", "neg_prompt": "", "duration": 0.5, "seed": 7})
    assert ok.status_code == 200 and ok.json()["status"] == "success" and ok.json()["seed"] == 7
    assert ok.json()["video_url"].endswith(f"/api/v1/videos/{ok.json()['video_id']}/file")
    metrics = client.get("/metrics").text
    assert 'studio_errors_total{kind="out_of_memory"} 1.0' in metrics
    assert 'studio_jobs{status="succeeded"} 1.0' in metrics and "studio_step_seconds_bucket" in metrics


def test_generate_validates_like_the_jobs_api(client: TestClient) -> None:
    response = client.post("/generate", json={"prompt": "x", "width": 100, "height": 96})
    assert response.status_code == 422 and response.json()["detail"][0]["msg"].startswith("width: ")


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict[str, object]] = []  # noqa: RUF012 - one test uses it

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, object]]]]:
    _Receiver.received = []
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook", _Receiver.received
    server.shutdown()


@pytest.fixture
def on_prem(tmp_path: Path, fake: FakePipeline) -> Iterator[TestClient]:
    """A studio whose callbacks may reach the loopback receiver (`callback_allow`: on-premises receivers)."""
    yield from make_client(tmp_path, fake, callback_allow=["127.0.0.1"])


def test_callback_url_is_posted_once_when_the_job_ends(
    on_prem: TestClient, receiver: tuple[str, list[dict[str, object]]]
) -> None:
    client = on_prem
    url, received = receiver
    job_id = client.post("/api/v1/jobs", json={**BODY, "callback_url": url}).json()["id"]
    wait_for(lambda: len(received) == 1, what="the callback")
    assert received[0]["id"] == job_id and received[0]["status"] == "succeeded"
    other = client.post("/api/v1/jobs", json=BODY).json()["id"]  # no callback_url: nothing posted
    wait_final(studio_of(client), other)
    assert len(received) == 1


def _callback_done_at(studio: Studio, job_id: int) -> object:
    with studio.db.read() as session:
        return jobs.get(session=session, job_id=job_id).callback_done_at


def test_a_delivered_callback_is_recorded(on_prem: TestClient, receiver: tuple[str, list[dict[str, object]]]) -> None:
    client = on_prem
    url, received = receiver
    job_id = client.post("/api/v1/jobs", json={**BODY, "callback_url": url}).json()["id"]
    wait_for(lambda: _callback_done_at(studio_of(client), job_id) is not None, what="the delivery record")
    assert len(received) == 1


def test_callbacks_a_restart_cut_off_are_sent_at_start(
    tmp_path: Path, fake: FakePipeline, receiver: tuple[str, list[dict[str, object]]]
) -> None:
    url, received = receiver
    settings = Settings(data_dir=tmp_path / "data", callback_allow=["127.0.0.1"])
    # The last process died with one job running and had not delivered another's callback yet.
    database = Database(settings.resolved_database_url)
    database.upgrade()
    with database.write() as session:
        recipe = build_recipe(RecipeRequest(prompt="a paper boat", seed=1, steps=2), PRESET)
        running = jobs.enqueue(session=session, recipe=recipe, callback_url=url).id
        finished = jobs.enqueue(session=session, recipe=dataclasses.replace(recipe, seed=2), callback_url=url).id
        jobs.claim(session=session, job_id=finished, worker="old")
        jobs.finish(session=session, job_id=finished, timings={})
        jobs.claim(session=session, job_id=running, worker="old")
    database.engine.dispose()

    studio = Studio(settings, preset=PRESET, pipeline=fake)  # type: ignore[arg-type]
    with TestClient(create_app(studio)):  # serving the app starts the studio and re-sends what is owed
        wait_for(lambda: len(received) == 2, what="both owed callbacks")
        assert {(body["id"], body["status"]) for body in received} == {
            (running, "interrupted"),  # retryable, and now its caller knows
            (finished, "succeeded"),
        }
        wait_for(lambda: all(_callback_done_at(studio, j) is not None for j in (running, finished)), what="records")
        assert studio.owed_callbacks(within=CALLBACK_REDELIVERY_WINDOW) == []  # another start sends nothing


def test_migration_0009_owes_no_callback_for_jobs_that_ended_before_it(tmp_path: Path) -> None:
    database = database_at(tmp_path / "old.db", "0008")
    try:
        with database.engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO jobs (status, model, prompt, seed, recipe, progress, step, total_steps, cancel_requested, "
                "callback_url, created_at, finished_at) VALUES ('succeeded', 'tiny-1.3b', 'old', 1, '{}', 1, 2, 2, 0, "
                "'http://127.0.0.1:9/hook', '2026-11-27 10:00:00', '2026-11-27 10:01:00')"
            )
        database.upgrade()
        with database.read() as session:
            assert jobs.owed_callbacks(session=session, since=datetime(2026, 1, 1, tzinfo=UTC)) == []
        migrate(database, "0008", down=True)  # and back down
        with database.engine.connect() as connection:
            assert "callback_done_at" not in [row[1] for row in connection.exec_driver_sql("PRAGMA table_info(jobs)")]
    finally:
        database.dispose()
