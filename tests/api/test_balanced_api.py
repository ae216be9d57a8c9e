"""Balanced through the API: `speed: "balanced"` and its cache parameters are validated with the field named, and a
real Balanced video reports its forwards skipped next to its timings (API, History detail, the MP4)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from studio.api import create_app
from studio.config import Settings
from studio.domain.presets import PRESETS
from studio.engine.pipeline import ResidentPipeline
from studio.media import mp4
from studio.services.studio import Studio
from studio.ui.video_details import describe_video
from tests.helpers import wait_for

BODY: dict[str, Any] = {"prompt": "a paper boat in the rain", "aspect_ratio": "9:16", "duration_s": 0.5, "seed": 5}


def test_balanced_is_accepted_with_the_models_cache(client: TestClient) -> None:
    answer = client.post("/api/v1/jobs", json=BODY | {"speed": "balanced"})
    assert answer.status_code == 202, answer.text
    recipe = answer.json()["recipe"]
    assert (recipe["speed"], recipe["cache"], recipe["cache_threshold"]) == ("balanced", "magcache", 0.06)

    chosen = client.post("/api/v1/jobs", json=BODY | {"speed": "balanced", "cache": "fbcache", "cache_threshold": 0.2})
    assert chosen.status_code == 202, chosen.text
    assert (chosen.json()["recipe"]["cache"], chosen.json()["recipe"]["cache_threshold"]) == ("fbcache", 0.2)


@pytest.mark.parametrize(
    ("extra", "field", "words"),
    [
        ({"speed": "turbo"}, "speed", "balanced"),
        ({"speed": "balanced", "cache": "teacache"}, "cache", "magcache"),
        ({"speed": "balanced", "cache_threshold": 5}, "cache_threshold", "1"),
        ({"speed": "balanced", "cache_threshold": 0}, "cache_threshold", "0.001"),
        ({"speed": "quality", "cache_threshold": 0.1}, "cache_threshold", "only to speed balanced"),
        ({"cache": "fbcache"}, "cache", "only to speed balanced"),
    ],
)
def test_bad_balanced_settings_are_422_naming_the_field(
    client: TestClient, extra: dict[str, Any], field: str, words: str
) -> None:
    answer = client.post("/api/v1/jobs", json=BODY | extra)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field
    assert words in answer.json()["message"]


def test_a_real_balanced_video_reports_the_forwards_it_skipped(tmp_path: Path) -> None:
    preset = PRESETS["tiny-1.3b"]
    pipeline = ResidentPipeline(preset, models_dir=tmp_path / "models", device="cpu")
    studio = Studio(Settings(data_dir=tmp_path / "data", device="cpu"), preset=preset, pipeline=pipeline)
    studio.start()
    app = create_app(studio)
    try:
        with TestClient(app) as client:
            job = client.post("/api/v1/jobs", json=BODY | {"speed": "balanced"}).json()
            wait_for(
                lambda: client.get(f"/api/v1/jobs/{job['id']}").json()["status"] not in ("queued", "running"),
                timeout=120,
                what="the balanced job to end",
            )
            done = client.get(f"/api/v1/jobs/{job['id']}").json()
            assert done["status"] == "succeeded", done["error"]
            video = client.get(f"/api/v1/videos/{done['video']['id']}").json()
    finally:
        app.state.callbacks.stop()
        studio.stop()

    forwards = video["forwards"]
    assert forwards["total"] == 2 * preset.steps  # two passes a step (guidance) over the model's 10 steps
    assert 0 < forwards["run"] < forwards["total"]
    assert forwards["skipped"] == forwards["total"] - forwards["run"]
    assert forwards["summary"] == f"{forwards['skipped']} of {forwards['total']} forwards skipped"
    assert video["recipe"]["forwards_run"] == forwards["run"]
    assert done["video"]["forwards"] == forwards  # the job's answer carries it too

    row = studio.videos.get(video["id"])
    assert forwards["summary"] in describe_video(row)
    assert "**Speed:** balanced (magcache 0\\.06)" in describe_video(row)  # punctuation escaped for Markdown
    stored = mp4.read_recipe(studio.videos.file(row))
    assert stored is not None and (stored["forwards_run"], stored["forwards_total"]) == (forwards["run"], 20)


def test_balanced_under_compile_is_refused_at_submit_naming_the_speed(tmp_path: Path) -> None:
    """--compile: the job is refused when submitted (not failed when it runs), and every model says so."""
    from dataclasses import replace

    from app import resolve_preset
    from tests.api.conftest import make_client
    from tests.fakes import FakePipeline

    assert resolve_preset(Settings(model="tiny-1.3b", compile=True)).compiled
    assert not resolve_preset(Settings(model="tiny-1.3b")).compiled
    for client in make_client(tmp_path, FakePipeline(), compile=True):
        studio = client.app.state.studio  # type: ignore[attr-defined]
        studio.preset = replace(studio.preset, compiled=True)  # what resolve_preset gives the studio under --compile
        answer = client.post("/api/v1/jobs", json=BODY | {"speed": "balanced"})
        assert answer.status_code == 422, answer.text
        assert answer.json()["field"] == "speed"
        assert "balanced does not run with --compile; choose quality" in answer.json()["message"]
        assert client.post("/api/v1/jobs", json=BODY).status_code == 202  # quality still runs
        assert all(preset.compiled for preset in studio.models.presets())
