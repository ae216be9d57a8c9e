"""Spaces with ZeroGPU, simulated: jobs run inline in the request (still recorded), with a GPU time estimate."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import gradio as gr
import pytest

from studio import hosting
from studio.config import Settings
from studio.records import JobStatus
from studio.service import Studio
from studio.ui.create import CreatePage
from studio.worker import ModelState
from tests.fakes import PRESET, FakePipeline
from tests.helpers import wait_for


@pytest.fixture
def zero_gpu_studio(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake: FakePipeline) -> Iterator[Studio]:
    monkeypatch.setenv("SPACE_ID", "someone/wan-studio")
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    studio = Studio(Settings(data_dir=tmp_path / "data"), preset=PRESET, pipeline=fake)
    studio.start()
    yield studio
    studio.stop()


def test_on_zero_gpu_the_worker_only_loads_and_jobs_run_in_the_request(zero_gpu_studio: Studio) -> None:
    studio = zero_gpu_studio
    assert studio.inline and not studio.worker.serve_queue
    wait_for(lambda: studio.model_state is ModelState.READY, what="the model")
    wait_for(lambda: not studio.worker._thread.is_alive(), what="the worker thread to end after loading")
    page = CreatePage(studio)
    with gr.Blocks() as demo:
        page.build(demo)
    values = ["a lantern", "", 5, False, "9:16", 0.5, "preview", 2, 5.0, 3.0, 3.0]
    updates = list(page.generate(*values))
    job_id = updates[0][page.job_state]
    view = studio.job(job_id)
    assert view.status is JobStatus.SUCCEEDED and view.video is not None  # recorded like any job
    assert updates[-1][page.result_video] == str(studio.video_file(view.video))


def test_off_zero_gpu_the_worker_serves_the_queue(studio: Studio) -> None:
    assert not studio.inline and studio.worker.serve_queue


@pytest.mark.parametrize(
    ("layout", "size", "frames", "steps", "expected"),
    [
        ("a14b", (160, 96), 17, 10, hosting.ZERO_GPU_MIN_S),  # preview-size jobs get the minimum
        ("ti2v-5b", (1280, 704), 121, 50, 565),
        ("a14b", (1280, 720), 81, 40, hosting.ZERO_GPU_MAX_S),  # capped
        ("a14b", (832, 480), 81, 4, 65),
    ],
)
def test_gpu_time_asked_for_grows_with_pixels_frames_and_steps(
    layout: str, size: tuple[int, int], frames: int, steps: int, expected: int
) -> None:
    duration = hosting.zero_gpu_duration(layout=layout, width=size[0], height=size[1], num_frames=frames, steps=steps)
    assert duration == expected


def test_the_gpu_decorator_is_a_no_op_off_spaces() -> None:
    def job(x: int) -> int:
        return x + 1

    assert hosting.gpu(60)(job)(1) == 2
