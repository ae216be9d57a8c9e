"""The X/Y grid's handlers called directly (real Studio, fake pipeline); the browser test drives the page."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import gradio as gr
import pytest
from gradio.utils import get_upload_folder

from studio.domain import axes
from studio.domain.errors import InvalidInput
from studio.domain.recipe import RecipeRequest
from studio.services.studio import Studio
from studio.ui import sync_grid
from studio.ui.compare_grid import GridPanel
from studio.ui.create import CreatePage
from studio.ui.grid_cells import axis_from
from studio.ui.history import HistoryPage
from tests.fakes import FakePipeline
from tests.helpers import drain, wait_final
from tests.ui.pages import grid_panel_for
from tests.ui.test_history_handlers import generate

BASE = RecipeRequest(prompt="a kite", seed=4, duration_s=1.0, steps=3)


@pytest.fixture
def panel(studio: Studio) -> GridPanel:
    return grid_panel_for(studio)


def test_axis_text_from_the_page() -> None:
    assert axis_from("Guidance", "3, 5 7", "x").values == (3.0, 5.0, 7.0)
    assert axis_from("Seed", "10..13", "y").values == (10, 11, 12, 13)
    assert len(set(axis_from("Seed", "random 3", "x").values)) == 3
    assert axis_from("Prompt", "a {red|blue} kite", "x").values == ("a red kite", "a blue kite")
    with pytest.raises(InvalidInput) as caught:
        axis_from("Seed", "random 9", "y")
    assert caught.value.field == "y"


def test_the_grid_shows_headers_states_and_reopens_from_a_video(panel: GridPanel, fake: FakePipeline) -> None:
    studio = panel.studio
    fake.fail_with = RuntimeError("out of luck")
    grid = studio.grids.create(BASE, axes.make_axis("steps", "2 3"), axes.make_axis("guidance", "3 5", field="y"))
    for cell in grid.cells:
        wait_final(studio, cell.job.id)  # type: ignore[union-attr]
    grid = studio.grids.grid(grid.group_id)
    page = panel.render(grid)
    # Column and row headers, three videos and one failed cell that says why
    assert page.count("<video") == 3 and "failed: " in page and "Retry failed cells" in page
    for text in ("2 steps", "3 steps", "guidance 3", "guidance 5"):
        assert f"<div class='sync-head'>{text}</div>" in page
    assert "--cell-ratio: 160 / 96" in page

    video = next(c.video for c in grid.cells if c.video)
    shown = panel.reopen(video.id)
    compare = panel.compare
    assert shown[compare.group_state] == grid.group_id and "2 of" not in shown[compare.status_box]
    made, failures = (
        [c for c in shown[compare.keep_pick]["choices"] if c[1] > 0],
        [c for c in shown[compare.keep_pick]["choices"] if c[1] < 0],
    )
    assert len(made) == 3 and len(failures) == 1 and failures[0][0].endswith(" — failed")
    filled = panel.use_this(video.id)
    assert filled[compare.create.prompt_box] == "a kite" and filled[compare.tabs].selected == "create"
    refused = compare.use_frame(video.id, 0.1)  # a text-to-video model: no start image to put a frame in
    assert refused == {compare.status_box: "tiny-1.3b does not start from an image; pick a model that does."}

    # Retry failed cells: only the failed one runs again, and the grid fills
    updates = drain(panel.retry_failed(grid.group_id))
    assert "4 of 4 cells ready" in updates[-1][compare.status_box]
    assert len(fake.ran) == 5


def test_one_axis_grids_and_empty_cells_render() -> None:
    tiles = [sync_grid.Tile("/a.mp4", "seed 1"), sync_grid.Tile(None, "seed 2", "running · 40 %")]
    page = sync_grid.render(tiles, 2.0)
    assert "running · 40 %" in page and page.count("<video") == 1 and "sync-head" not in page
    assert " loop " not in page  # shorter clips hold their last frame; the longest leads the loop (SYNC_JS)


def test_history_filters_comparisons(studio: Studio) -> None:
    plain = generate(studio)
    grid = studio.grids.create(BASE, axes.make_axis("steps", "2 3"))
    for cell in grid.cells:
        wait_final(studio, cell.job.id)  # type: ignore[union-attr]
    export = studio.videos.export_group(grid.group_id)
    with gr.Blocks() as demo, gr.Tabs() as tabs, gr.Tab("Create"):
        create = CreatePage(studio)
        create.build(demo)
        history = HistoryPage(studio, create, tabs)
        history.build()
    everything = history.search("", "All models", False)[history.ids_state]
    only = history.search("", "All models", False, True)[history.ids_state]
    assert plain.id in everything and plain.id not in only
    assert set(only) == {c.video.id for c in studio.grids.grid(grid.group_id).cells if c.video} | {export.id}
    assert {v.id for v in studio.videos.search("", comparison=False).items} == {plain.id}


def test_importing_an_exported_grid_offers_to_rebuild_it(panel: GridPanel, studio: Studio) -> None:
    grid = studio.grids.create(BASE, axes.make_axis("steps", "2 3"))
    for cell in grid.cells:
        wait_final(studio, cell.job.id)  # type: ignore[union-attr]
    export = studio.videos.export_group(grid.group_id)
    with gr.Blocks(), gr.Tabs() as tabs, gr.Tab("History"):
        history = HistoryPage(studio, panel.compare.create, tabs)
        history.build()
    imports = history.import_panel
    upload = Path(get_upload_folder()) / "test-grid-import" / "grid.mp4"
    upload.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(studio.videos.file(export), upload)
    try:
        shown = imports.import_file(str(upload))
    finally:
        shutil.rmtree(upload.parent)
    assert "Rebuild comparison" in shown[imports.import_note] and shown[imports.rebuild_btn]["visible"] is True
    updates = drain(panel.rebuild(shown[imports.recipe_state]))
    rebuilt = updates[-1][panel.compare.group_state]
    assert rebuilt != grid.group_id and "2 of 2 cells ready" in updates[-1][panel.compare.status_box]
    assert [c.values for c in studio.grids.grid(rebuilt).cells] == [{"steps": 2}, {"steps": 3}]


def test_retry_this_cell_runs_the_chosen_failed_cell_alone(panel: GridPanel, fake: FakePipeline) -> None:
    studio, compare = panel.studio, panel.compare
    fake.gate = threading.Event()  # the first cell holds at step 2 while the other three are canceled in the queue
    grid = studio.grids.create(BASE, axes.make_axis("steps", "2 3"), axes.make_axis("guidance", "3 5", field="y"))
    assert fake.at_step.wait(30)
    running = next(
        c.job.id for c in studio.grids.grid(grid.group_id).cells if c.job and c.job.status.value == "running"
    )
    for cell in grid.cells:
        if cell.job and cell.job.id != running:
            studio.cancel(cell.job.id)
    fake.gate.set()
    for cell in grid.cells:
        wait_final(studio, cell.job.id)  # type: ignore[union-attr]
    grid = studio.grids.grid(grid.group_id)
    choices = panel.shown(grid, "")[compare.keep_pick]["choices"]
    failed_picks = [value for _, value in choices if value < 0]
    made_pick = next(value for _, value in choices if value > 0)
    assert len(failed_picks) == 3 and len(fake.ran) == 1

    # A made cell, or no cell, is not retried; Keep and Use this say a failed cell has no video
    assert "Choose a failed cell" in drain(panel.retry_cell(grid.group_id, made_pick))[-1][compare.status_box]
    assert "Choose a failed cell" in drain(panel.retry_cell(grid.group_id, None))[-1][compare.status_box]
    assert "Retry this cell first" in compare.keep(failed_picks[0])
    assert "Retry this cell first" in panel.use_this(failed_picks[0])[compare.status_box]
    assert len(fake.ran) == 1

    chosen = grid.cells[-failed_picks[1] - 1]
    updates = drain(panel.retry_cell(grid.group_id, failed_picks[1]))
    assert updates[0][compare.keep_pick]["value"] is None
    assert "2 of 4 cells ready" in updates[-1][compare.status_box]
    assert [r.steps for r in fake.ran[1:]] == [chosen.job.recipe.steps]  # type: ignore[union-attr]
    after = studio.grids.grid(grid.group_id)
    assert after.cells[-failed_picks[1] - 1].video is not None
    assert sum(c.video is None for c in after.cells) == 2  # the other failed cells are left as they were
    again = drain(panel.retry_cell(grid.group_id, failed_picks[1]))[-1][compare.status_box]
    assert "has not failed" in again
