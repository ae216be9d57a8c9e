"""The real pipeline end to end: tiny random-weight Wan models through the Studio, the queue and the encoder."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from studio.api import create_app
from studio.config import Settings
from studio.domain.presets import PRESETS, TINY_PRESETS
from studio.domain.recipe import RecipeRequest
from studio.engine.pipeline import ResidentPipeline
from studio.media import mp4
from studio.services.job_view import JobView
from studio.services.studio import Studio
from studio.store.rows import JobStatus
from studio.ui.status import model_status
from studio.ui.video_details import describe_video
from tests.helpers import wait_final, wait_for


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tiny models are built once per module and reloaded by each Studio through from_pretrained."""
    return tmp_path_factory.mktemp("models")


def real_studio(tmp_path: Path, models_dir: Path, preset_key: str) -> Studio:
    preset = PRESETS[preset_key]
    pipeline = ResidentPipeline(preset, models_dir=models_dir, device="cpu")
    studio = Studio(Settings(data_dir=tmp_path / "data", device="cpu"), preset=preset, pipeline=pipeline)
    studio.start()
    return studio


def final(studio: Studio, job_id: int) -> JobView:
    return wait_final(studio, job_id, timeout=120)


@pytest.mark.parametrize("preset_key", TINY_PRESETS)
def test_each_tiny_preset_makes_a_real_mp4(tmp_path: Path, models_dir: Path, preset_key: str) -> None:
    studio = real_studio(tmp_path, models_dir, preset_key)
    try:
        view = studio.submit(RecipeRequest(prompt="一只猫 in the rain", aspect_ratio="9:16", duration_s=1.0, steps=3))
        done = final(studio, view.id)
        assert done.status is JobStatus.SUCCEEDED, done.error
        assert done.video is not None
        recipe = done.recipe
        info = mp4.probe(studio.videos.file(done.video))
        assert (info.width, info.height) == (recipe.width, recipe.height) == (96, 160)
        assert info.num_frames == recipe.num_frames == (17 if PRESETS[preset_key].fps == 16 else 25)
        assert info.fps == pytest.approx(PRESETS[preset_key].fps)
        # The MP4 and the row carry the recipe and the precision of the weights that made it (fp32 on the CPU)
        assert mp4.read_recipe(studio.videos.file(done.video)) == recipe.to_dict() | {"precision": "fp32"}
        assert done.video.recipe == recipe.to_dict() | {"precision": "fp32"}
        assert "**Weights:** fp32" in describe_video(done.video)
        # The Create page's model line says how the pipeline runs
        setup = studio.model_info().pipeline.describe()
        assert setup.startswith("cpu · fp32 · memory: resident (no CUDA GPU") and setup.endswith("· attention: native")
        assert setup in model_status(studio)
        app = create_app(studio)
        with TestClient(app) as client:
            health = client.get("/health").json()
        app.state.callbacks.stop()
        assert (health["precision"], health["attention_backend"]) == ("fp32", "native")
        assert health["memory_strategy"].startswith("resident (no CUDA GPU")
        assert done.video.denoise_s and done.video.denoise_s > 0 and done.video.decode_s and done.video.decode_s > 0
        assert done.video.text_encode_s is not None and done.video.text_encode_s > 0
        assert done.video.peak_memory_gb == 0.0  # no GPU here; recorded all the same
        assert done.timings["text_encode_s"] == done.video.text_encode_s
        assert (studio.media_dir / str(done.video.poster_path)).stat().st_size > 0
    finally:
        studio.stop()


def test_cancel_mid_run_with_the_real_pipeline(tmp_path: Path, models_dir: Path) -> None:
    studio = real_studio(tmp_path, models_dir, "tiny-1.3b")
    try:
        view = studio.submit(RecipeRequest(prompt="a long run", duration_s=2.0, steps=100))
        wait_for(lambda: studio.job(view.id).step >= 1)
        studio.cancel(view.id)
        done = final(studio, view.id)
        assert done.status is JobStatus.CANCELED and done.video is None
        assert 1 <= done.step < 100
        assert list(studio.media_dir.rglob("*.mp4")) == []
        # the resident pipeline serves the next job
        after = final(studio, studio.submit(RecipeRequest(prompt="next", duration_s=0.5, steps=2)).id)
        assert after.status is JobStatus.SUCCEEDED
    finally:
        studio.stop()
