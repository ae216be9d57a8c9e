"""Comparisons from a Create page with a start image, and a grid cell's frame back on the Create page.

A real Studio (real SQLite, real media files) for the tiny TI2V-5B (it takes a start image) around the fake pipeline:
these tests are about which recipes the page queues and where the frames go, not about the model.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import gradio as gr
import PIL.Image
import pytest
from gradio.utils import get_upload_folder

from studio.config import Settings
from studio.domain import axes, geometry, start_image
from studio.domain.presets import PRESETS
from studio.domain.recipe import RecipeRequest
from studio.services.studio import Studio
from studio.ui.compare_grid import GridPanel
from studio.ui.grid_cells import NO_AXIS
from tests.fakes import FakePipeline
from tests.helpers import drain, first, wait_final
from tests.ui.pages import create_settings, grid_panel_for

PRESET = PRESETS["tiny-ti2v-5b"]


@pytest.fixture
def panel(tmp_path: Path) -> Iterator[GridPanel]:
    """The Create page with both comparison launchers, and the Compare page, for a studio that takes images."""
    studio = Studio(Settings(data_dir=tmp_path / "data"), preset=PRESET, pipeline=FakePipeline())
    studio.start()
    yield grid_panel_for(studio)
    studio.stop()


def _wide_image(width: int = 400, height: int = 100) -> str:
    """A wide image where the page's uploads are (Gradio's upload folder): its shape is not 16:9's."""
    path = Path(get_upload_folder()) / f"test-compare-{width}x{height}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    PIL.Image.new("RGB", (width, height), (200, 80, 20)).save(path)
    return str(path)


def _image_size(width: int = 400, height: int = 100) -> tuple[int, int]:
    return start_image.size_for_image(PRESET, "preview", width, height)


def test_a_seed_comparison_with_a_start_image_starts_every_seed_from_it(panel: GridPanel) -> None:
    compare, studio = panel.compare, panel.studio
    updates = drain(
        compare.generate_group(*create_settings(), _wide_image(), None, "crop", True, "List", "1, 2, 3", 3, 0)
    )
    group_id = updates[-1][compare.group_state]
    recipes = [view.recipe for view in studio.group_jobs(group_id)]
    assert sorted(r.seed for r in recipes) == [1, 2, 3]
    assert len({r.start_image for r in recipes}) == 1 and recipes[0].start_image is not None
    # The size follows the image (wide), not the page's 16:9
    assert {(r.width, r.height) for r in recipes} == {_image_size()} != {geometry.size_for(PRESET, "16:9", "preview")}
    assert "3 of 3 videos ready" in updates[-1][compare.status_box]


def test_an_xy_grid_with_a_start_image_makes_image_to_video_cells(panel: GridPanel) -> None:
    studio = panel.studio
    image = _wide_image()
    updates = drain(panel.generate(*create_settings(), image, None, "pad", True, "Guidance", "3, 5", NO_AXIS, ""))
    grid = studio.grids.grid(updates[-1][panel.compare.group_state])
    recipes = [cell.job.recipe for cell in grid.cells if cell.job]
    assert [r.guidance for r in recipes] == [3.0, 5.0]
    assert len({r.start_image for r in recipes}) == 1 and recipes[0].start_image is not None
    assert {(r.width, r.height, r.image_fit) for r in recipes} == {(*_image_size(), "pad")}
    assert all(cell.video is not None for cell in grid.cells)

    # An aspect ratio axis decides each cell's size; every cell still starts from the image
    updates = drain(
        panel.generate(*create_settings(), image, None, "crop", True, "Aspect ratio", "16:9 1:1", NO_AXIS, "")
    )
    grid = studio.grids.grid(updates[-1][panel.compare.group_state])
    recipes = [cell.job.recipe for cell in grid.cells if cell.job]
    assert [(r.width, r.height) for r in recipes] == [
        geometry.size_for(PRESET, ratio, "preview") for ratio in ("16:9", "1:1")
    ]
    assert len({r.start_image for r in recipes}) == 1 and recipes[0].start_image is not None


def test_an_end_image_without_a_start_image_is_refused_naming_it(panel: GridPanel) -> None:
    with pytest.raises(gr.Error, match="End image: needs a start image"):
        first(panel.generate(*create_settings(), None, _wide_image(), "crop", True, "Guidance", "3, 5", NO_AXIS, ""))
    with pytest.raises(gr.Error, match="End image: needs a start image"):
        first(panel.compare.generate_group(*create_settings(), None, _wide_image(), "crop", True, "Random", "", 2, 0))
    assert panel.studio.list_jobs(limit=5) == []


def test_use_this_frame_puts_the_chosen_cells_frame_on_the_create_page(panel: GridPanel) -> None:
    compare, studio = panel.compare, panel.studio
    assert compare.use_frame(None, 0.3) == {compare.status_box: "Choose the cell to take the frame from first."}
    assert compare.use_frame(999, 0.3)[compare.status_box].startswith("⚠️ ")  # a video deleted since: a note
    grid = studio.grids.create(
        RecipeRequest(prompt="a lighthouse", seed=4, duration_s=0.5, steps=2, quality="preview"),
        axes.make_axis("guidance", "3 5"),
    )
    for cell in grid.cells:
        wait_final(studio, cell.job.id)  # type: ignore[union-attr]
    video = studio.grids.grid(grid.group_id).cells[1].video
    assert video is not None

    used = compare.use_frame(video.id, 0.2)
    frame = Path(used[compare.create.image_panel.start_box])
    assert frame.suffix == ".png" and frame.is_file() and frame.is_relative_to(studio.images.folder)
    assert PIL.Image.open(frame).size == (video.width, video.height)
    assert used[compare.tabs].selected == "create" and used[compare.create.prompt_box] == "a lighthouse"
    assert used[compare.create.guidance_slider] == 5.0
    assert used[compare.status_box] == f"The frame at 0.20 s of video #{video.id} is the Create page's start image."
    # The grid's time past this clip's end (a longer clip leads): its last frame, as the grid shows it
    late = compare.use_frame(video.id, video.duration_s + 3)
    assert f"at {video.duration_s:.2f} s" in late[compare.status_box]
    # The frame is an upload the Create page accepts: Generate makes an image-to-video job from it
    request = compare.create.image_panel.with_images(RecipeRequest(prompt="x"), str(frame), None, "crop", True)
    assert request.start_image == frame.stem and request.aspect_ratio == start_image.FOLLOW_IMAGE


def test_the_size_line_follows_the_start_image(panel: GridPanel) -> None:
    create = panel.compare.create
    width, height = _image_size()
    line = create.summarize("16:9", "preview", 0.5, _wide_image(), True)
    assert line.startswith(f"{width}×{height} · ") and line.endswith(" · follows the image")
    assert create.summarize("16:9", "preview", 0.5, _wide_image(), False) == create.summarize("16:9", "preview", 0.5)
    ratio_width, ratio_height = geometry.size_for(PRESET, "16:9", "preview")
    assert create.summarize("16:9", "preview", 0.5).startswith(f"{ratio_width}×{ratio_height} · ")
    # A file that is not an image: the ratio's size (the fit note says what is wrong with it)
    bad = Path(get_upload_folder()) / "test-compare-not-an-image.png"
    bad.write_bytes(b"not a picture")
    assert create.summarize("16:9", "preview", 0.5, str(bad), True) == create.summarize("16:9", "preview", 0.5)


def test_refining_a_video_whose_size_followed_its_image_keeps_that_size(panel: GridPanel) -> None:
    studio = panel.studio
    stored = studio.images.upload(Path(_wide_image()).read_bytes())
    request = RecipeRequest(
        prompt="a kite", seed=3, duration_s=0.5, steps=2, quality="preview", start_image=stored.id, aspect_ratio="image"
    )
    done = wait_final(studio, studio.submit(request).id)
    assert done.video is not None and done.recipe.aspect_ratio == start_image.FOLLOW_IMAGE
    grid = studio.grids.refine(done.video.id, axes.make_axis("guidance", "3 5"))
    recipes = [cell.job.recipe for cell in grid.cells if cell.job]
    assert {(r.width, r.height, r.start_image) for r in recipes} == {(*_image_size(), stored.id)}
