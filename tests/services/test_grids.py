"""X/Y comparisons through the Studio: admitted as one unit, read back as a grid, retried by cell, refined, exported.

The queue and grid tests use the fake pipeline; one test runs a real 2×2 grid on the tiny random-weight model.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from studio.config import Settings
from studio.domain import axes
from studio.domain.errors import InvalidInput, NotFound
from studio.domain.presets import PRESETS
from studio.domain.recipe import RecipeRequest
from studio.media import mp4
from studio.services.admission import QueueFull
from studio.services.studio import Studio
from studio.store.rows import JobStatus
from tests.fakes import PRESET, FakePipeline
from tests.helpers import wait_final

BASE = RecipeRequest(prompt="a paper boat", seed=5, duration_s=1.0, steps=3)  # 160×96, 17 frames
PROMPTS = axes.make_axis("prompt", ["a {red|blue} boat"])
GUIDANCE = axes.make_axis("guidance", "3 5", field="y")


def finish(studio: Studio, group_id: str, timeout: float = 60.0) -> None:
    for cell in studio.grids.grid(group_id).cells:
        assert cell.job is not None
        wait_final(studio, cell.job.id, timeout=timeout)


def test_a_2x2_grid_is_queued_as_one_group_and_read_back_by_cell(studio: Studio, fake: FakePipeline) -> None:
    grid = studio.grids.create(BASE, PROMPTS, GUIDANCE)
    finish(studio, grid.group_id)
    grid = studio.grids.grid(grid.group_id)

    assert (grid.rows, grid.cols) == (2, 2) and grid.is_final
    assert [(c.x, c.y, c.label) for c in grid.cells] == [
        (0, 0, "…red… · guidance 3"),
        (1, 0, "…blue… · guidance 3"),
        (0, 1, "…red… · guidance 5"),
        (1, 1, "…blue… · guidance 5"),
    ]
    assert grid.cells[3].values == {"prompt": "a blue boat", "guidance": 5.0}
    for cell in grid.cells:
        assert cell.job is not None and cell.job.status is JobStatus.SUCCEEDED
        assert cell.video is not None and cell.video.group_id == grid.group_id
        assert (cell.video.prompt, cell.video.guidance) == (cell.values["prompt"], cell.values["guidance"])
        assert (cell.video.seed, cell.video.steps) == (5, 3)  # shared
    assert grid.base["steps"] == 3 and "prompt" not in grid.base and "guidance" not in grid.base
    # Cells that differ in prompt or guidance never share a batched call
    assert all(len(batch) == 1 for batch in fake.batches)
    # Any of its videos reopens it
    assert studio.grids.of_video(grid.cells[2].video.id).group_id == grid.group_id  # type: ignore[union-attr]
    assert studio.grids.recent() == [grid.group_id]


def test_cells_that_differ_only_by_seed_run_batched(tmp_path: Path) -> None:
    fake = FakePipeline()
    studio = Studio(Settings(data_dir=tmp_path / "data", batch_seeds="on"), preset=PRESET, pipeline=fake)
    studio.start()
    try:
        grid = studio.grids.create(BASE, axes.make_axis("seed", "1 2"), axes.make_axis("steps", "2 3", field="y"))
        finish(studio, grid.group_id)
        assert sorted(len(batch) for batch in fake.batches) == [2, 2]  # one call per row: same steps, two seeds
    finally:
        studio.stop()


def test_a_bad_value_names_its_axis_and_nothing_is_queued(studio: Studio) -> None:
    with pytest.raises(InvalidInput) as caught:
        studio.grids.create(BASE, axes.make_axis("steps", "2 3"), axes.make_axis("guidance", "3 25", field="y"))
    assert caught.value.field == "y"
    assert "guidance 25" in caught.value.message and "0–20" in caught.value.message
    with pytest.raises(InvalidInput) as two_experts:
        studio.grids.create(BASE, axes.make_axis("guidance_2", "2 3"))
    assert two_experts.value.field == "x" and "two-expert" in two_experts.value.message
    assert studio.list_jobs() == [] and studio.grids.recent() == []


@pytest.fixture
def stalled(tmp_path: Path) -> Iterator[Studio]:
    """A Studio whose model never loads, so jobs stay queued: the queue cap can be filled exactly."""
    pipeline = FakePipeline()
    pipeline.load_error = RuntimeError("no model in this test")
    instance = Studio(Settings(data_dir=tmp_path / "data", max_queued=6), preset=PRESET, pipeline=pipeline)
    instance.start()
    yield instance
    instance.stop()


def test_admission_takes_every_cell_or_none(stalled: Studio) -> None:
    stalled.grids.create(BASE, axes.make_axis("steps", "1 2 3"))
    with pytest.raises(QueueFull, match="room for 3 more jobs and this group needs 4"):
        stalled.grids.create(BASE, PROMPTS, GUIDANCE)
    assert len(stalled.list_jobs()) == 3 and len(stalled.grids.recent()) == 1


def test_a_failed_cell_is_retried_alone_and_keeps_its_place(studio: Studio, fake: FakePipeline) -> None:
    fake.fail_with = RuntimeError("the GPU caught fire")
    grid = studio.grids.create(BASE, axes.make_axis("flow_shift", "3 8"))
    finish(studio, grid.group_id)
    failed = studio.grids.grid(grid.group_id).cells[0]
    assert failed.job is not None and failed.job.status is JobStatus.FAILED and "caught fire" in str(failed.job.error)
    with pytest.raises(InvalidInput, match="shift 3 made no video; retry those cells"):
        studio.videos.export_group(grid.group_id)

    retried = studio.retry(failed.job.id)
    wait_final(studio, retried.id)
    again = studio.grids.grid(grid.group_id)
    assert again.cells[0].job is not None and again.cells[0].job.id == retried.id
    assert again.cells[0].video is not None and again.cells[0].video.flow_shift == 3.0
    assert again.cells[1].job is not None and again.cells[1].job.id == grid.cells[1].job.id  # type: ignore[union-attr]


def test_refine_keeps_a_cells_recipe_and_sweeps_a_new_axis(studio: Studio) -> None:
    grid = studio.grids.create(BASE, axes.make_axis("seed", "11 12"))
    finish(studio, grid.group_id)
    kept = studio.grids.grid(grid.group_id).cells[1].video
    assert kept is not None
    refined = studio.grids.refine(kept.id, axes.make_axis("guidance", "2 4 6"))
    finish(studio, refined.group_id)
    refined = studio.grids.grid(refined.group_id)
    assert refined.group_id != grid.group_id and refined.x.kind == "guidance"
    videos = [cell.video for cell in refined.cells]
    assert [(v.seed, v.guidance, v.steps, v.prompt) for v in videos if v] == [
        (12, 2.0, 3, "a paper boat"),
        (12, 4.0, 3, "a paper boat"),
        (12, 6.0, 3, "a paper boat"),
    ]


def test_balanced_vs_quality_compares_one_videos_recipe_at_both_speeds(studio: Studio) -> None:
    grid = studio.grids.create(replace(BASE, speed="balanced", cache_threshold=0.5), axes.make_axis("seed", "21 22"))
    finish(studio, grid.group_id)
    balanced = studio.grids.grid(grid.group_id).cells[0].video
    assert balanced is not None and balanced.recipe["speed"] == "balanced"

    pair = studio.grids.balanced_vs_quality(balanced.id)
    finish(studio, pair.group_id)
    pair = studio.grids.grid(pair.group_id)
    assert (pair.rows, pair.cols, pair.x.kind) == (1, 2, "speed")
    recipes = [cell.video.recipe for cell in pair.cells if cell.video]
    assert [(r["speed"], r["seed"], r["prompt"], r["steps"]) for r in recipes] == [
        ("quality", 21, "a paper boat", 3),
        ("balanced", 21, "a paper boat", 3),
    ]
    # The step cache's settings go with Balanced only, and Balanced keeps the video's own threshold
    assert (recipes[0]["cache"], recipes[0]["cache_threshold"]) == (None, None)
    assert recipes[1]["cache_threshold"] == 0.5


def test_old_seed_groups_read_as_one_seed_axis(studio: Studio) -> None:
    group_id, views = studio.submit_group(BASE, [30, 10])
    for view in views:
        wait_final(studio, view.id)
    grid = studio.grids.grid(group_id)
    assert grid.x.kind == "seed" and grid.y is None and [c.label for c in grid.cells] == ["seed 30", "seed 10"]
    assert all(cell.video is not None for cell in grid.cells)
    with pytest.raises(NotFound):
        studio.grids.grid("no-such-group")


# -- the real pipeline -------------------------------------------------------------------------------------------


def test_a_real_2x2_grid_on_the_tiny_model_and_its_labelled_export(tmp_path: Path) -> None:
    from studio.engine.pipeline import ResidentPipeline

    preset = PRESETS["tiny-1.3b"]
    pipeline = ResidentPipeline(preset, models_dir=tmp_path / "models", device="cpu")
    studio = Studio(Settings(data_dir=tmp_path / "data", device="cpu"), preset=preset, pipeline=pipeline)
    studio.start()
    try:
        grid = studio.grids.create(RecipeRequest(prompt="x", seed=3, duration_s=1.0, steps=2), PROMPTS, GUIDANCE)
        finish(studio, grid.group_id, timeout=180)
        grid = studio.grids.grid(grid.group_id)
        # 1. Four real videos, each carrying its cell's recipe in its MP4
        for cell in grid.cells:
            assert cell.job is not None and cell.job.status is JobStatus.SUCCEEDED, cell.job and cell.job.error
            assert cell.video is not None
            carried = mp4.read_recipe(studio.videos.file(cell.video))
            assert carried is not None
            assert (carried["prompt"], carried["guidance"]) == (cell.values["prompt"], cell.values["guidance"])
            assert (carried["seed"], carried["steps"], carried["model"]) == (3, 2, "tiny-1.3b")

        # 2. The export: a 2×2 layout of 160×96 tiles below a band of column headers and right of a band of row
        # headers, its recipe holding the axes and each tile's video
        export = studio.videos.export_group(grid.group_id)
        assert export.kind == "comparison" and export.group_id == grid.group_id
        info = mp4.probe(studio.videos.file(export))
        assert info.width > 2 * 160 and info.height > 2 * 96
        carried = mp4.read_recipe(studio.videos.file(export))
        assert carried is not None
        recorded = carried["comparison"]
        assert recorded["x"]["kind"] == "prompt" and recorded["y"]["values"] == [3.0, 5.0]
        assert [cell[:2] for cell in recorded["cells"]] == [[0, 0], [1, 0], [0, 1], [1, 1]]
        assert [cell[2] for cell in recorded["cells"]] == [c.video.id for c in grid.cells if c.video]
        assert studio.grids.grid(grid.group_id).exports[0].id == export.id
    finally:
        studio.stop()


def test_an_exports_recipe_rebuilds_its_comparison(studio: Studio) -> None:
    grid = studio.grids.create(BASE, PROMPTS, GUIDANCE)
    finish(studio, grid.group_id)
    export = studio.videos.export_group(grid.group_id)
    carried = mp4.read_recipe(studio.videos.file(export))
    assert carried is not None

    rebuilt = studio.grids.rebuild(carried)
    assert rebuilt.group_id != grid.group_id
    assert (rebuilt.x, rebuilt.y) == (grid.x, grid.y)
    assert [c.job.recipe for c in rebuilt.cells if c.job] == [c.job.recipe for c in grid.cells if c.job]
    with pytest.raises(InvalidInput) as caught:
        studio.grids.rebuild({"prompt": "a plain video"})
    assert caught.value.field == "recipe"
