"""The worker and the Studio around it, with a fake pipeline: these tests are about the queue, not the model.

The real pipeline runs end to end in tests/test_studio_real.py.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from studio.config import Settings
from studio.domain.errors import InvalidInput
from studio.domain.recipe import RecipeRequest
from studio.engine.contract import Canceled, GpuOutOfMemory
from studio.media import mp4
from studio.services.studio import Studio
from studio.services.worker import ModelState, eta_seconds
from studio.store.rows import JobStatus
from tests.fakes import PRESET, FakePipeline
from tests.helpers import wait_final, wait_for


def request(prompt: str = "a boat", seed: int = 1, steps: int = 3) -> RecipeRequest:
    return RecipeRequest(prompt=prompt, seed=seed, steps=steps, duration_s=0.5, aspect_ratio="9:16")


def test_a_job_becomes_an_mp4_with_its_recipe_and_a_row(studio: Studio) -> None:
    view = studio.submit(request(seed=77))
    done = wait_final(studio, view.id)
    assert done.status is JobStatus.SUCCEEDED and done.progress == 1.0
    assert done.video is not None and done.video.seed == 77 and done.video.job_id == view.id
    path = studio.videos.file(done.video)
    assert path == studio.media_dir / "videos" / f"{done.video.id}.mp4"
    info = mp4.probe(path)
    assert (info.width, info.height, info.num_frames) == (96, 160, 9)
    assert mp4.read_recipe(path) == done.recipe.to_dict()
    assert done.video.denoise_s == 0.02 and done.video.encode_s is not None
    assert [v.id for v in studio.videos.recent()] == [done.video.id]
    assert list((studio.media_dir / "incoming").iterdir()) == []


def test_jobs_run_oldest_first(studio: Studio, fake: FakePipeline) -> None:
    fake.gate = threading.Event()
    first = studio.submit(request("first"))
    assert fake.at_step.wait(10)
    later = [studio.submit(request(f"p{i}", seed=i)) for i in range(4)]
    assert [studio.job(v.id).queue_position for v in later] == [1, 2, 3, 4]
    fake.gate.set()
    fake.gate = None
    for view in later:
        assert wait_final(studio, view.id).status is JobStatus.SUCCEEDED
    assert [r.prompt for r in fake.ran] == ["first", "p0", "p1", "p2", "p3"]
    assert wait_final(studio, first.id).status is JobStatus.SUCCEEDED


def test_cancel_mid_run_leaves_a_canceled_job_and_no_video(studio: Studio, fake: FakePipeline) -> None:
    fake.gate = threading.Event()
    view = studio.submit(request(steps=8))
    assert fake.at_step.wait(10)
    assert studio.cancel(view.id).status is JobStatus.RUNNING  # asked; stops at the next step
    fake.gate.set()
    done = wait_final(studio, view.id)
    assert done.status is JobStatus.CANCELED and done.video is None
    assert done.step < 8
    assert list(studio.media_dir.rglob("*.mp4")) == []


def test_cancel_a_queued_job_never_runs_it(studio: Studio, fake: FakePipeline) -> None:
    fake.gate = threading.Event()
    studio.submit(request("running"))
    assert fake.at_step.wait(10)
    queued = studio.submit(request("never"))
    assert studio.cancel(queued.id).status is JobStatus.CANCELED
    fake.gate.set()
    follow = studio.submit(request("after"))
    wait_final(studio, follow.id)
    assert [r.prompt for r in fake.ran] == ["running", "after"]


def test_out_of_memory_fails_the_job_and_the_worker_keeps_serving(studio: Studio, fake: FakePipeline) -> None:
    fake.fail_with = GpuOutOfMemory("GPU out of memory at 96×160 × 9 frames: lower the quality or duration")
    failed = wait_final(studio, studio.submit(request()).id)
    assert failed.status is JobStatus.FAILED and "GPU out of memory at 96×160" in str(failed.error)
    assert wait_final(studio, studio.submit(request()).id).status is JobStatus.SUCCEEDED


def test_an_unexpected_error_fails_the_job_with_its_message(studio: Studio, fake: FakePipeline) -> None:
    fake.fail_with = ValueError("bad latents")
    failed = wait_final(studio, studio.submit(request()).id)
    assert failed.status is JobStatus.FAILED and failed.error == "ValueError: bad latents"
    retried = studio.retry(failed.id)
    assert wait_final(studio, retried.id).status is JobStatus.SUCCEEDED
    assert retried.recipe == failed.recipe


def test_bad_input_is_refused_before_anything_is_queued(studio: Studio) -> None:
    with pytest.raises(InvalidInput, match="seed: "):
        studio.submit(RecipeRequest(prompt="x", seed=-5))
    assert studio.list_jobs() == []


def test_a_model_that_fails_to_load_leaves_jobs_queued(tmp_path: Path, fake: FakePipeline) -> None:
    fake.load_error = OSError("no such repo")
    instance = Studio(Settings(data_dir=tmp_path / "data"), preset=PRESET, pipeline=fake)
    instance.start()
    try:
        view = instance.submit(request())
        wait_for(lambda: instance.model_state is ModelState.FAILED)
        assert instance.model_error == "OSError: no such repo"
        assert instance.job(view.id).status is JobStatus.QUEUED
    finally:
        instance.stop()


def test_canceled_is_raised_from_the_step_callback(studio: Studio, fake: FakePipeline) -> None:
    # The worker asks the database at each step; a cancel requested by another process stops the run too.
    fake.gate = threading.Event()
    view = studio.submit(request(steps=5))
    assert fake.at_step.wait(10)
    with studio.db.write() as session:
        from studio.store import jobs

        jobs.request_cancel(session=session, job_id=view.id)
    fake.gate.set()
    assert wait_final(studio, view.id).status is JobStatus.CANCELED
    assert issubclass(Canceled, Exception)


@pytest.mark.parametrize(
    ("step", "total", "elapsed", "expected"), [(0, 10, 0.0, None), (1, 10, 2.0, 18.0), (10, 10, 20.0, 0.0)]
)
def test_eta(step: int, total: int, elapsed: float, expected: float | None) -> None:
    assert eta_seconds(step, total, elapsed) == expected
