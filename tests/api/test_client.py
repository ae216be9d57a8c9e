"""studio.client over real HTTP against the API app (uvicorn in a thread, fake pipeline)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from studio.client import Job, StudioClient, StudioError
from studio.media import mp4
from tests.fakes import FakePipeline


@pytest.fixture
def studio_client(live_url: str) -> Iterator[StudioClient]:
    with StudioClient(live_url) as sdk:
        yield sdk


def test_submit_wait_and_download(studio_client: StudioClient, tmp_path: Path) -> None:
    job = studio_client.submit("a paper boat", seed=11, duration_s=0.5, steps=3, aspect_ratio="9:16")
    assert isinstance(job, Job) and job.seed == 11
    seen: list[Job] = []
    done = studio_client.wait(job.id, on_progress=seen.append, timeout=30)
    assert done.status == "succeeded" and done.video_id is not None and seen[-1].status == "succeeded"
    target = studio_client.download(done.video_id, tmp_path / "boat.mp4")
    assert mp4.read_recipe(target)["seed"] == 11 and not list(tmp_path.glob(".*.part"))
    listed = studio_client.videos(q="paper")
    assert listed["total"] == 1 and listed["items"][0]["id"] == done.video_id
    assert studio_client.health()["model"] == "tiny-1.3b"


def test_cancel_and_retry(studio_client: StudioClient, fake: FakePipeline) -> None:
    fake.gate = threading.Event()
    job = studio_client.submit("long", duration_s=0.5, steps=5)
    assert fake.at_step.wait(10)
    studio_client.cancel(job.id)
    fake.gate.set()
    assert studio_client.wait(job.id, timeout=30).status == "canceled"
    again = studio_client.retry(job.id)
    assert studio_client.wait(again.id, timeout=30).status == "succeeded"
    assert [j.id for j in studio_client.jobs(status="canceled")] == [job.id]


def test_errors_carry_the_field_messages(studio_client: StudioClient) -> None:
    with pytest.raises(StudioError) as caught:
        studio_client.submit("x", seed=-9)
    assert caught.value.status_code == 422 and "seed: " in str(caught.value)
    with pytest.raises(StudioError, match="HTTP 404: job_id: no job 99"):
        studio_client.get(99)
