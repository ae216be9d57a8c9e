"""Spaces with ZeroGPU, simulated: every surface's job runs through spaces.GPU, in a forked process, one at a time.

tests/fake_spaces stands in for the `spaces` package as it behaves on ZeroGPU (a fork per call, results pickled back,
a callable duration). Each surface gets its test: the Create page, a seed comparison, REST jobs, /generate, a retry,
and gradio_client.
"""

from __future__ import annotations

import itertools
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr
import httpx
import pytest
from fastapi.testclient import TestClient

from studio import hosting
from studio.config import Settings
from studio.domain.recipe import RecipeRequest
from studio.services.studio import Studio
from studio.store.rows import JobStatus
from studio.ui.compare import ComparePage
from studio.ui.create import CreatePage
from studio.web import build_app
from tests.api.conftest import serve
from tests.fakes import PRESET, FakePipeline
from tests.helpers import drain, wait_final, wait_for
from tests.server import free_port

FAKE_SPACES = Path(__file__).resolve().parents[1] / "fake_spaces"
BODY = {"prompt": "a lantern", "seed": 5, "duration_s": 0.5, "steps": 2}


@pytest.fixture
def gpu_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    monkeypatch.setenv("SPACE_ID", "someone/wan-studio")
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    monkeypatch.syspath_prepend(str(FAKE_SPACES))
    import spaces

    spaces.calls.clear()
    yield spaces.calls
    sys.modules.pop("spaces", None)  # later tests run off Spaces, where the package is absent


@pytest.fixture
def zero_gpu(gpu_calls: list[dict[str, Any]], tmp_path: Path) -> Iterator[Studio]:
    port = free_port()
    studio = Studio(Settings(data_dir=tmp_path / "data", port=port), preset=PRESET, pipeline=FakePipeline())
    studio.start()
    yield studio
    studio.stop()


def ran_on_the_gpu(studio: Studio, gpu_calls: list[dict[str, Any]], *job_ids: int) -> None:
    """Each job's generation ran inside a spaces.GPU call, and no two calls overlapped."""
    ran = sorted(recipe["seed"] for call in gpu_calls for recipe in call["args"][0])
    assert ran == sorted(studio.job(job_id).recipe.seed for job_id in job_ids)
    spans = sorted((call["start"], call["end"]) for call in gpu_calls)
    assert all(end <= next_start for (_, end), (next_start, _) in itertools.pairwise(spans))
    assert all(hosting.ZERO_GPU_MIN_S <= call["seconds"] <= hosting.ZERO_GPU_MAX_S for call in gpu_calls)


def test_the_create_page(zero_gpu: Studio, gpu_calls: list[dict[str, Any]]) -> None:
    page = CreatePage(zero_gpu)
    with gr.Blocks() as demo:
        page.build(demo)
    values = ["a lantern", "", 5, False, "9:16", 0.5, "preview", 2, 5.0, 3.0, 3.0]
    updates = drain(page.jobs.generate(*values))
    view = zero_gpu.job(updates[0][page.job_state])
    assert view.status is JobStatus.SUCCEEDED and view.video is not None  # recorded like any job
    assert updates[-1][page.result_video] == str(zero_gpu.videos.file(view.video))
    ran_on_the_gpu(zero_gpu, gpu_calls, view.id)


def test_a_seed_comparison(zero_gpu: Studio, gpu_calls: list[dict[str, Any]]) -> None:
    with gr.Blocks() as demo, gr.Tabs() as tabs, gr.Tab("Create"):
        create = CreatePage(zero_gpu)
        create.build(demo)
        compare = ComparePage(zero_gpu, create, tabs)
        compare.build_launcher()
        compare.build()
    values = ["a lantern", "", 5, False, "9:16", 0.5, "preview", 2, 5.0, 3.0, 3.0, "Quality", None, None]
    values += [None, None, "crop", True]  # no start or end image
    values += ["List", "1, 2, 3", 3, 0]  # the seeds launcher, after the Create page's inputs
    updates = drain(compare.generate_group(*values))
    group_id = updates[0][compare.group_state]
    views = zero_gpu.group_jobs(group_id)
    assert [v.status for v in views] == [JobStatus.SUCCEEDED] * 3
    ran_on_the_gpu(zero_gpu, gpu_calls, *(v.id for v in views))


@pytest.fixture
def web(zero_gpu: Studio) -> Iterator[TestClient]:
    app = build_app(zero_gpu)
    with TestClient(app) as client:
        yield client
    app.state.callbacks.stop()


def test_rest_jobs_and_a_retry(web: TestClient, zero_gpu: Studio, gpu_calls: list[dict[str, Any]]) -> None:
    fake: FakePipeline = zero_gpu.pipeline.inner  # type: ignore[attr-defined]
    fake.fail_with = RuntimeError("the first try fails")  # raised in the GPU process, a copy of this one
    first = web.post("/api/v1/jobs", json=BODY).json()["id"]
    assert wait_final(zero_gpu, first).status is JobStatus.FAILED
    fake.fail_with = None  # the child's reset of it stayed in the child
    again = web.post(f"/api/v1/jobs/{first}/retry").json()["id"]
    assert wait_final(zero_gpu, again).status is JobStatus.SUCCEEDED
    ran_on_the_gpu(zero_gpu, gpu_calls, first, again)


def test_generate(web: TestClient, zero_gpu: Studio, gpu_calls: list[dict[str, Any]]) -> None:
    answer = web.post("/generate", json={"prompt": "a lantern", "duration": 0.5, "seed": 3})
    assert answer.status_code == 200 and answer.json()["status"] == "success"
    ran_on_the_gpu(zero_gpu, gpu_calls, answer.json()["job_id"])


def test_gradio_client(zero_gpu: Studio, gpu_calls: list[dict[str, Any]]) -> None:
    from gradio_client import Client

    app = build_app(zero_gpu)
    try:
        with serve(app, zero_gpu.settings.port) as url:
            client = Client(url, verbose=False)
            seed, _video, status, _recent = client.predict(
                prompt="a lantern", seed=9, random_seed=False, duration_s=0.5, steps=2, api_name="/generate"
            )
            assert seed == 9 and status.startswith("Done: video #")
            assert httpx.get(f"{url}/health").json()["status"] == "ok"
    finally:
        app.state.callbacks.stop()
    ran_on_the_gpu(zero_gpu, gpu_calls, *(job.id for job in zero_gpu.list_jobs()))


def test_a_job_whose_gpu_process_dies_fails_instead_of_hanging(
    zero_gpu: Studio, gpu_calls: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    def crash(*_args: object) -> None:
        os._exit(1)  # the GPU process dies (killed for memory, say)

    monkeypatch.setattr(zero_gpu.pipeline.inner, "generate_batch", crash)  # type: ignore[attr-defined]
    view = zero_gpu.submit(RecipeRequest(prompt="a lantern", seed=1, duration_s=0.5, steps=2))
    done = wait_final(zero_gpu, view.id, timeout=60)
    assert done.status is JobStatus.FAILED and "GPU process exited" in (done.error or "")


def test_a_cancel_reaches_the_gpu_process(zero_gpu: Studio) -> None:
    fake: FakePipeline = zero_gpu.pipeline.inner  # type: ignore[attr-defined]
    fake.gate = threading.Event()  # in the child: step 2 runs until a cancel arrives between its blocks
    view = zero_gpu.submit(RecipeRequest(prompt="a lantern", seed=1, duration_s=0.5, steps=4))
    wait_for(lambda: zero_gpu.job(view.id).step >= 1, what="the first step, relayed from the GPU process")
    zero_gpu.cancel(view.id)
    assert wait_final(zero_gpu, view.id, timeout=30).status is JobStatus.CANCELED


def test_off_zero_gpu_the_pipeline_runs_in_the_worker_thread(studio: Studio) -> None:
    assert isinstance(studio.pipeline, FakePipeline)


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

    assert hosting.gpu(job, duration=lambda _x: 60)(1) == 2
    assert hosting.gpu(job, duration=lambda _x: 60) is job
