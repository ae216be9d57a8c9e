"""StudioClient's image-to-video calls over real HTTP: submit(image=path), frames, Continue and Join (fake pipeline
on the tiny TI2V-5B preset: this is about the client and the routes; the engine's part is tests/engine)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import PIL.Image
import pytest

from studio.api import create_app
from studio.client import StudioClient, StudioError
from studio.config import Settings
from studio.domain.presets import PRESETS
from studio.services.studio import Studio
from tests.api.conftest import serve
from tests.fakes import FakePipeline
from tests.server import free_port


@pytest.fixture
def sdk(tmp_path: Path) -> Iterator[StudioClient]:
    studio = Studio(Settings(data_dir=tmp_path / "data"), preset=PRESETS["tiny-ti2v-5b"], pipeline=FakePipeline())  # type: ignore[arg-type]
    studio.start()
    app = create_app(studio)
    try:
        with serve(app, free_port()) as url, StudioClient(url) as client:
            yield client
    finally:
        app.state.callbacks.stop()
        studio.stop()


def test_submit_with_an_image_then_continue_and_join(sdk: StudioClient, tmp_path: Path) -> None:
    picture = tmp_path / "start.webp"
    PIL.Image.new("RGB", (300, 100), (10, 200, 90)).save(picture, format="WEBP")
    job = sdk.submit("a green field", image=picture, aspect_ratio="image", duration_s=0.5, steps=2, seed=4)
    done = sdk.wait(job.id, timeout=60)
    assert done.status == "succeeded" and done.video_id is not None
    video = sdk.video(done.video_id)
    assert len(video["recipe"]["start_image"]) == 64 and video["recipe"]["aspect_ratio"] == "image"
    assert video["width"] > video["height"]
    frame = sdk.frame(done.video_id, 0.1)
    assert (frame["width"], frame["height"]) == (video["width"], video["height"])
    child = sdk.wait(sdk.continue_video(done.video_id).id, timeout=60)
    assert child.status == "succeeded" and child.seed == 5
    assert sdk.video(child.video_id)["parent_id"] == done.video_id  # type: ignore[arg-type]
    joined = sdk.join(child.video_id)  # type: ignore[arg-type]
    assert joined["kind"] == "join" and joined["num_frames"] == 2 * video["num_frames"]
    # The join carries its last clip's recipe, start image included
    assert [v["id"] for v in sdk.videos(image=True)["items"]] == [joined["id"], child.video_id, done.video_id]


def test_a_path_is_not_an_image(sdk: StudioClient, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("/etc/passwd")
    with pytest.raises(StudioError) as refused:
        sdk.submit("a cat", image=tmp_path / "notes.txt")
    assert refused.value.status_code == 422 and "file" in str(refused.value)
