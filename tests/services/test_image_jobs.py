"""Image-to-video jobs end to end on the tiny TI2V-5B: upload → job → MP4 carrying the image's id; Continue and Join."""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import PIL.Image
import pytest
from fastapi.testclient import TestClient

from studio.api import create_app
from studio.config import Settings
from studio.domain.presets import PRESETS
from studio.domain.recipe import RecipeRequest
from studio.engine.pipeline import ResidentPipeline
from studio.media import images, mp4
from studio.services.studio import Studio
from studio.store.rows import JobStatus
from tests.helpers import wait_final

SHORT = {"duration_s": 0.5, "steps": 2}  # 13 frames at 24 fps, 160×96: about a second on a 2-core CPU


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture
def studio(tmp_path: Path, models_dir: Path) -> Iterator[Studio]:
    """A real Studio on the tiny TI2V-5B (a text-and-image model), real SQLite and media."""
    preset = PRESETS["tiny-ti2v-5b"]
    pipeline = ResidentPipeline(preset, models_dir=models_dir, device="cpu")
    instance = Studio(Settings(data_dir=tmp_path / "data", device="cpu"), preset=preset, pipeline=pipeline)
    instance.start()
    yield instance
    instance.stop()


def _png(width: int, height: int) -> bytes:
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    pixels[:, : width // 2] = (240, 180, 30)
    out = io.BytesIO()
    PIL.Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def test_an_uploaded_image_starts_a_clip_whose_mp4_names_it(studio: Studio) -> None:
    app = create_app(studio)
    with TestClient(app) as client:
        uploaded = client.post("/api/v1/images", files={"file": ("x.png", _png(300, 100), "image/png")}).json()
        answer = client.post(
            "/api/v1/jobs",
            json={"prompt": "a fox", "start_image": uploaded["id"], "aspect_ratio": "image", "seed": 5, **SHORT},
        )
        assert answer.status_code == 202, answer.text
        done = wait_final(studio, answer.json()["id"], timeout=120)
    app.state.callbacks.stop()
    assert done.status is JobStatus.SUCCEEDED, done.error
    recipe = done.recipe
    assert recipe.start_image == uploaded["id"] and recipe.aspect_ratio == "image" and recipe.image_fit == "crop"
    assert recipe.width > recipe.height  # a 3:1 image gives a wide clip (held to 21:9), on the 32-px grid
    assert recipe.width % 32 == 0 and recipe.height % 32 == 0
    assert done.video is not None
    carried = mp4.read_recipe(studio.videos.file(done.video))
    assert carried is not None and carried["start_image"] == uploaded["id"]
    assert "/" not in carried["start_image"]  # an id, never a path


def test_import_restores_a_clips_image_when_the_studio_has_it(studio: Studio) -> None:
    image = studio.images.upload(_png(160, 96))
    done = wait_final(studio, studio.submit(RecipeRequest(prompt="a boat", start_image=image.id, **SHORT)).id, 120)
    assert done.video is not None
    carried = studio.videos.read_recipe(studio.videos.file(done.video))
    assert carried is not None
    assert studio.images.get(carried["start_image"]).id == image.id  # History's import finds the image again


def test_continue_chains_three_clips_and_join_plays_them_as_one(studio: Studio) -> None:
    first = wait_final(studio, studio.submit(RecipeRequest(prompt="a paper boat", seed=40, **SHORT)).id, 120)
    assert first.video is not None and first.recipe.start_image is None  # text to video, as before
    chain = [first.video]
    for _ in range(2):
        view = studio.continue_video(chain[-1].id)
        done = wait_final(studio, view.id, timeout=120)
        assert done.status is JobStatus.SUCCEEDED, done.error
        assert done.video is not None
        chain.append(done.video)
    for parent, child in itertools.pairwise(chain):
        assert child.parent_id == parent.id and child.recipe["continues"] == parent.id
        assert child.seed == parent.seed + 1 and child.prompt == parent.prompt
        assert (child.width, child.height, child.num_frames) == (parent.width, parent.height, parent.num_frames)
        # The start image is the parent's last frame, as it was stored
        last = images.frame_at(
            studio.videos.file(parent), parent.duration_s, fps=parent.fps, num_frames=parent.num_frames
        )
        assert np.array_equal(
            np.asarray(studio.images.source()(child.recipe["start_image"], last.width, last.height, "crop")),
            np.asarray(last),
        )
    joined = studio.join(chain[-1].id)
    info = mp4.probe(studio.videos.file(joined))
    assert joined.kind == "join" and joined.parent_id == chain[-1].id
    assert info.num_frames == joined.num_frames == sum(v.num_frames for v in chain)
    assert joined.recipe["join"] == {"video_ids": [v.id for v in chain], "lossless": True}
    assert mp4.read_recipe(studio.videos.file(joined)) == joined.recipe


def test_use_a_frame_of_a_video_as_the_start_image(studio: Studio) -> None:
    first = wait_final(studio, studio.submit(RecipeRequest(prompt="a kite", seed=3, **SHORT)).id, 120)
    assert first.video is not None
    early = studio.images.from_video(first.video.id, 0.0)
    late = studio.images.from_video(first.video.id, None)
    assert early.id != late.id and (early.width, early.height) == (first.video.width, first.video.height)
    view = studio.submit(RecipeRequest(prompt="a kite", start_image=early.id, **SHORT))
    assert wait_final(studio, view.id, timeout=120).status is JobStatus.SUCCEEDED


def test_a_text_only_model_refuses_continue(tmp_path: Path, models_dir: Path) -> None:
    from studio.domain.errors import InvalidInput

    preset = PRESETS["tiny-1.3b"]
    pipeline = ResidentPipeline(preset, models_dir=models_dir, device="cpu")
    studio = Studio(Settings(data_dir=tmp_path / "data", device="cpu"), preset=preset, pipeline=pipeline)
    studio.start()
    try:
        done = wait_final(
            studio, studio.submit(RecipeRequest(prompt="a cat", **{"duration_s": 0.4, "steps": 2})).id, 120
        )
        assert done.video is not None
        with pytest.raises(InvalidInput) as refused:
            studio.continue_video(done.video.id)
        assert refused.value.field == "start_image" and "tiny-ti2v-5b" in refused.value.message
        assert not (studio.media.local_dir / "images").exists()  # nothing stored on the refusal
        with pytest.raises(InvalidInput) as refused:
            studio.join(done.video.id)
        assert refused.value.field == "video_id"
    finally:
        studio.stop()


def test_compare_seeds_of_one_start_image(studio: Studio) -> None:
    """A seed comparison of an image job: every seed starts from the same image (batched on the CPU)."""
    image = studio.images.upload(_png(160, 96))
    request = RecipeRequest(prompt="a lighthouse", start_image=image.id, **SHORT)
    _group_id, views = studio.compare(request, mode="list", seeds=[1, 2])
    done = [wait_final(studio, view.id, timeout=120) for view in views]
    assert [d.status for d in done] == [JobStatus.SUCCEEDED] * 2, [d.error for d in done]
    assert {d.recipe.start_image for d in done} == {image.id} and [d.recipe.seed for d in done] == [1, 2]
    first, second = (_frames(studio.videos.file(d.video)) for d in done if d.video is not None)
    assert np.abs(first[0].astype(int) - second[0].astype(int)).mean() < 2  # the same start frame
    assert not np.array_equal(first[-1], second[-1])  # different seeds after it


def _frames(path: Path) -> np.ndarray:
    reader = imageio_ffmpeg.read_frames(str(path))
    width, height = next(reader)["size"]
    return np.stack([np.frombuffer(f, dtype=np.uint8).reshape(height, width, 3) for f in reader])
