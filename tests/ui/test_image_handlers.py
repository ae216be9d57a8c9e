"""The Create page's Start image and History's image actions, called directly on a real Studio with the tiny TI2V-5B."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr
import PIL.Image
import pytest
from gradio.utils import get_upload_folder

from studio.config import Settings
from studio.domain.presets import PRESETS
from studio.domain.recipe import RecipeRequest
from studio.engine.pipeline import ResidentPipeline
from studio.services.studio import Studio
from studio.ui.compare import ComparePage
from studio.ui.create import CreatePage
from studio.ui.history import HistoryPage
from tests.helpers import drain, wait_final
from tests.ui.pages import create_settings


@pytest.fixture
def pages(tmp_path: Path) -> Iterator[tuple[Studio, CreatePage, HistoryPage]]:
    """A real tiny TI2V-5B studio (it takes a start image) with its Create and History pages built."""
    preset = PRESETS["tiny-ti2v-5b"]
    pipeline = ResidentPipeline(preset, models_dir=tmp_path / "models", device="cpu")
    studio = Studio(Settings(data_dir=tmp_path / "data", device="cpu"), preset=preset, pipeline=pipeline)
    studio.start()
    with gr.Blocks(), gr.Tabs() as tabs:
        create = CreatePage(studio)
        create.build(gr.Blocks())
        compare = ComparePage(studio, create, tabs)
        history = HistoryPage(studio, create, tabs)
        history.build()
        compare.build()
    yield studio, create, history
    studio.stop()


def _image_file(_folder: Path, width: int, height: int) -> str:
    """An image where the page's uploads are: Gradio's upload folder (the panel reads nothing else)."""
    path = Path(get_upload_folder()) / f"test-start-{width}x{height}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    PIL.Image.new("RGB", (width, height), (30, 120, 220)).save(path)
    return str(path)


def _last(create: CreatePage, *values: Any) -> dict[Any, Any]:
    return drain(create.jobs.generate(*values))[-1]


def test_a_bad_start_image_gets_its_message_on_the_control(
    pages: tuple[Studio, CreatePage, HistoryPage], tmp_path: Path
) -> None:
    studio, create, _ = pages
    svg = Path(get_upload_folder()) / "test-drawing.png"
    svg.write_bytes(b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>')
    checks = create.validate(*create_settings(), str(svg), None, "crop", True)
    bad = [check for check in checks if not check["is_valid"]]
    assert len(bad) == 1 and checks[14] == bad[0] and "PNG, JPEG or WebP" in bad[0]["message"]
    assert all(check["is_valid"] for check in create.validate(*create_settings(), None, None, "crop", True))
    assert not (studio.media.local_dir / "images").exists()
    elsewhere = create.validate(*create_settings(), str(tmp_path / "x.png"), None, "crop", True)[14]
    assert not elsewhere["is_valid"] and "upload or paste" in elsewhere["message"]  # a path outside the uploads


def test_the_crop_is_shown_before_generate(pages: tuple[Studio, CreatePage, HistoryPage], tmp_path: Path) -> None:
    _, create, _ = pages
    path = _image_file(tmp_path, 400, 100)
    assert create.image_panel.fit_note(path, "crop", True, "16:9", "preview").startswith("image 400×100 → ")
    kept = create.image_panel.fit_note(path, "crop", False, "1:1", "preview")
    assert "cropped" in kept and "at the sides" in kept
    assert "padded" in create.image_panel.fit_note(path, "pad", False, "1:1", "preview")


def test_generate_from_an_image_then_history_shows_it_and_uses_a_frame(
    pages: tuple[Studio, CreatePage, HistoryPage], tmp_path: Path
) -> None:
    studio, create, history = pages
    _last(create, *create_settings(), _image_file(tmp_path, 192, 108), None, "crop", True)
    done = wait_final(studio, studio.list_jobs(limit=1)[0].id, timeout=120)
    assert done.video is not None and done.recipe.start_image is not None
    shown = history.show(done.video.id)
    preview = shown[history.continue_panel.start_preview]
    assert preview["visible"] is True and preview["value"].endswith(f"{done.recipe.start_image}.png")
    assert "**Start image:**" in shown[history.details]
    # Use this frame: the frame at 0.2 s goes to the Create page as its start image
    used = history.continue_panel.use_frame(done.video.id, 0.2)
    assert used[create.image_panel.start_box].endswith(".png") and used[create.prompt_box] == "a kite over the sea"
    # Continue from the details: a new job whose video links back
    said = history.continue_panel.continue_video(done.video.id, None)  # type: ignore[arg-type]
    assert said.startswith("Queued job")
    child = wait_final(studio, studio.list_jobs(limit=1)[0].id, timeout=120)
    assert child.video is not None and child.video.parent_id == done.video.id
    assert "**Continues:** video #" in history.show(child.video.id)[history.details]


def test_importing_an_mp4_restores_its_start_image(
    pages: tuple[Studio, CreatePage, HistoryPage], tmp_path: Path
) -> None:
    studio, create, history = pages
    image = studio.images.upload(Path(_image_file(tmp_path, 160, 96)).read_bytes())
    request = RecipeRequest(prompt="a boat", start_image=image.id, duration_s=0.5, steps=2)
    done = wait_final(studio, studio.submit(request).id, timeout=120)
    assert done.video is not None
    upload = Path(get_upload_folder()) / f"import-{image.id[:8]}.mp4"
    upload.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(studio.videos.file(done.video), upload)
    filled = history.import_panel.import_file(str(upload))
    assert filled[create.image_panel.start_box].endswith(f"{image.id}.png")
    assert "start image is restored" in filled[history.import_panel.import_note]
