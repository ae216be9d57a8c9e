"""Models a person can see, fetch and switch: real tiny pipelines, the loopback hub, the facade and /health."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from huggingface_hub import constants

from studio.api import create_app
from studio.config import Settings
from studio.domain import axes
from studio.domain.downloads import Transfer
from studio.domain.preset_settings import resolve
from studio.domain.preset_types import Preset
from studio.domain.presets import PRESETS
from studio.domain.recipe import RecipeRequest
from studio.services.studio import Studio
from studio.services.worker import ModelState
from studio.store.rows import JobStatus
from studio.ui.status import model_status
from tests.helpers import wait_final, wait_for
from tests.loopback_hub import LoopbackHub, Repo

QUICK = RecipeRequest(prompt="a cat", aspect_ratio="9:16", duration_s=0.5, steps=2)


def own_studio(tmp_path: Path, preset: Preset) -> Studio:
    """A studio that builds its own pipelines (so it can switch), on the CPU."""
    studio = Studio(Settings(data_dir=tmp_path / "data", device="cpu", model=preset.key), preset=preset)
    studio.start()
    return studio


@pytest.fixture
def stopping() -> Iterator[list[Studio]]:
    started: list[Studio] = []
    yield started
    for studio in started:
        studio.stop()


def test_switching_runs_each_queued_job_on_its_own_model(tmp_path: Path, stopping: list[Studio]) -> None:
    studio = own_studio(tmp_path, PRESETS["tiny-1.3b"])
    stopping.append(studio)
    wait_for(lambda: studio.model_state is ModelState.READY, 120, "the first model")

    first = studio.submit(QUICK)  # made for tiny-1.3b
    studio.use_model("tiny-a14b")  # new jobs are made for tiny-a14b; the queued one keeps its model
    second = studio.submit(QUICK)
    assert "New jobs use" in model_status(studio) or studio.loaded_model == "tiny-a14b"
    # A comparison made now is for the chosen model too (guidance 2 exists only on two-expert models)
    grid = studio.grids.create(QUICK, axes.make_axis("guidance_2", "2 3"))
    assert {cell.job.recipe.model for cell in grid.cells if cell.job} == {"tiny-a14b"}

    done_first, done_second = wait_final(studio, first.id, timeout=180), wait_final(studio, second.id, timeout=180)
    assert done_first.status is JobStatus.SUCCEEDED, done_first.error
    assert done_second.status is JobStatus.SUCCEEDED, done_second.error
    assert (done_first.recipe.model, done_second.recipe.model) == ("tiny-1.3b", "tiny-a14b")
    assert studio.loaded_model == "tiny-a14b" and studio.worker is not None
    assert studio.worker.switch_s is not None
    # The switch was shown as progress, component by component
    loading = studio.models.transfers["tiny-a14b"]
    assert loading.phase == "loading" and loading.files_done == loading.files_total == 6
    assert "transformer_2" in loading.steps

    # Back to the first model: switching is not one-way
    studio.use_model("tiny-1.3b")
    third = studio.submit(QUICK)
    assert wait_final(studio, third.id, timeout=180).status is JobStatus.SUCCEEDED
    assert studio.loaded_model == "tiny-1.3b"


def test_a_hub_model_downloads_with_progress_on_health_then_runs(
    online: Path, hub: LoopbackHub, tmp_path: Path, stopping: list[Studio]
) -> None:
    preset = resolve("wan-studio/tiny-1.3b")  # a hub id: its layout read from the loopback hub
    seen: list[float] = []
    hub.throttle_bps = 120_000  # slow enough to watch
    studio = Studio(Settings(data_dir=tmp_path / "data", device="cpu", model=preset.key), preset=preset)
    report = studio.models.report

    def spy(transfer: Transfer) -> None:
        if transfer.phase == "downloading" and transfer.fraction is not None:
            seen.append(transfer.fraction)
        report(transfer)

    studio.models.report = spy  # type: ignore[method-assign]
    assert studio.worker is not None
    studio.worker.pipeline.on_progress = spy  # type: ignore[attr-defined]
    stopping.append(studio)
    with TestClient(create_app(studio)) as client:
        health: dict[str, object] = {}

        def downloading() -> bool:
            health.update(client.get("/health").json())
            download = health.get("download")
            return isinstance(download, dict) and 0 < (download.get("progress") or 0) < 1

        wait_for(downloading, 60, "download progress on /health")
        download = health["download"]
        assert isinstance(download, dict) and download["phase"] == "downloading" and download["total_bytes"] > 400_000
        assert "Downloading wan-studio/tiny-1.3b" in str(download["text"]) and "%" in str(download["text"])
        assert "Downloading wan-studio/tiny-1.3b" in model_status(studio).replace("\\", "")  # Markdown-escaped

        wait_for(lambda: studio.model_state is ModelState.READY, 120, "the model loaded")
        assert client.get("/health").json()["download"] is None
        view = studio.submit(QUICK)
        assert wait_final(studio, view.id, timeout=120).status is JobStatus.SUCCEEDED
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)


def test_offline_with_an_empty_cache_the_model_line_and_health_say_what_to_do(
    online: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stopping: list[Studio]
) -> None:
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    studio = own_studio(tmp_path, PRESETS["wan2.1-t2v-1.3b"])
    stopping.append(studio)
    wait_for(lambda: studio.model_state is ModelState.FAILED, 60, "the load to fail")

    line = model_status(studio).replace("\\", "")  # shown as plain text: Markdown-escaped
    assert "wan2.1-t2v-1.3b" in line and "not in the cache" in line and "offline" in line
    assert "Missing: model" in line and "app.py download wan2.1-t2v-1.3b" in line and "HF_HOME" in line
    with TestClient(create_app(studio)) as client:
        response = client.get("/health")
    assert response.status_code == 503
    error = response.json()["model_error"]
    assert "Ways out" in error and "--model /path/to/folder" in error and "Traceback" not in error


def test_the_api_lists_downloads_follows_switches_and_deletes(
    online: Path, hub: LoopbackHub, tiny_folders: dict[str, Path], tmp_path: Path, stopping: list[Studio]
) -> None:
    # The loopback hub serves the tiny 1.3B under the real 1.3B preset's repo name
    hub.repos["Wan-AI/Wan2.1-T2V-1.3B-Diffusers"] = Repo(tiny_folders["wan-studio/tiny-1.3b"])
    studio = own_studio(tmp_path, PRESETS["tiny-1.3b"])
    stopping.append(studio)
    with TestClient(create_app(studio)) as client:
        listed = {m["key"]: m for m in client.get("/api/v1/models").json()}
        assert set(PRESETS) <= set(listed)
        assert listed["wan2.1-t2v-1.3b"]["gpu_gb"] == 8.0 and listed["wan2.1-t2v-1.3b"]["downloaded"] is False
        assert listed["tiny-1.3b"]["next"] is True and listed["tiny-1.3b"]["downloaded"] is True

        started = client.post("/api/v1/models/wan2.1-t2v-1.3b/download")
        assert started.status_code == 202

        def finished() -> bool:
            transfer = client.get("/api/v1/models/wan2.1-t2v-1.3b").json()["transfer"]
            return transfer is not None and transfer["phase"] in ("ready", "failed")

        wait_for(finished, 60, "the download to end")
        model = client.get("/api/v1/models/wan2.1-t2v-1.3b").json()
        assert model["transfer"]["phase"] == "ready", model["transfer"]
        assert model["downloaded"] is True and model["size_bytes"] == model["total_bytes"] > 400_000

        assert client.post("/api/v1/models/tiny-1.3b/download").status_code == 409
        assert client.post("/api/v1/models/no-such-model/use").json()["field"] == "model"
        assert client.post("/api/v1/models/no-such-model/use").status_code == 404

        wait_for(lambda: studio.model_state is ModelState.READY, 120, "the first model")
        assert client.delete("/api/v1/models/tiny-1.3b/cache").status_code == 409
        switched = client.post("/api/v1/models/tiny-a14b/use")
        assert switched.status_code == 200 and switched.json()["next"] is True
        wait_for(lambda: studio.loaded_model == "tiny-a14b" and studio.model_state is ModelState.READY, 120, "switch")
        started_at = time.monotonic()
        gone = client.delete("/api/v1/models/wan2.1-t2v-1.3b/cache")
        assert gone.status_code == 200 and gone.json()["downloaded"] is False and time.monotonic() - started_at < 30


def test_a_job_whose_model_cannot_load_fails_with_the_reason_and_the_queue_moves_on(
    online: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stopping: list[Studio]
) -> None:
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    studio = own_studio(tmp_path, PRESETS["tiny-1.3b"])
    stopping.append(studio)
    wait_for(lambda: studio.model_state is ModelState.READY, 120, "the first model")

    studio.use_model("wan2.1-t2v-1.3b")  # not in the (empty) cache, and offline
    stuck = studio.submit(QUICK)
    studio.use_model("tiny-1.3b")
    after = studio.submit(QUICK)

    failed = wait_final(studio, stuck.id, timeout=120)
    assert failed.status is JobStatus.FAILED and failed.recipe.model == "wan2.1-t2v-1.3b"
    assert failed.error is not None and "could not be loaded" in failed.error and "not in the cache" in failed.error
    done = wait_final(studio, after.id, timeout=120)
    assert done.status is JobStatus.SUCCEEDED and done.recipe.model == "tiny-1.3b"
