"""Seed comparison groups: choosing seeds, queueing a group as one unit, its linked videos and their tiled export."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from studio.config import Settings
from studio.domain import comparisons
from studio.domain.errors import InvalidInput
from studio.domain.recipe import MAX_SEED, RecipeRequest
from studio.media import mp4
from studio.services.admission import QueueFull
from studio.services.studio import Studio
from studio.store.rows import JobStatus
from tests.fakes import PRESET, FakePipeline
from tests.helpers import wait_final

REQUEST = RecipeRequest(prompt="a paper boat in the rain", duration_s=1.0, steps=3)  # 160×96, 17 frames

# -- seeds_for ---------------------------------------------------------------------------------------------------


def counter(start: int = 100) -> Iterator[int]:
    yield from range(start, start + 1000)


@pytest.mark.parametrize(
    ("mode", "arguments", "expected"),
    [
        ("list", {"seeds": "1, 2, 3"}, [1, 2, 3]),
        ("list", {"seeds": "  7 3\t9\n"}, [7, 3, 9]),  # spaces alone, the order kept
        ("list", {"seeds": "1,2,,3,"}, [1, 2, 3]),  # empty items are skipped
        ("list", {"seeds": f"0 {MAX_SEED}"}, [0, MAX_SEED]),
        ("list", {"seeds": "1 2 3 4 5 6 7 8", "count": 2}, [1, 2, 3, 4, 5, 6, 7, 8]),  # count is for the other modes
        ("consecutive", {"start": 42, "count": 3}, [42, 43, 44]),
        ("consecutive", {"start": MAX_SEED - 7, "count": 8}, list(range(MAX_SEED - 7, MAX_SEED + 1))),
        ("consecutive", {}, [0, 1, 2, 3]),
        ("random", {"count": 3}, [100, 101, 102]),
    ],
)
def test_seeds_for(mode: comparisons.SeedMode, arguments: dict[str, object], expected: list[int]) -> None:
    draws = counter()
    assert comparisons.seeds_for(mode, rng=lambda: next(draws), **arguments) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("mode", "arguments", "field", "message"),
    [
        ("list", {"seeds": ""}, "seeds", "give 2–8 seeds (got 0)"),
        ("list", {"seeds": "5"}, "seeds", "give 2–8 seeds (got 1)"),
        ("list", {"seeds": "1 2 3 4 5 6 7 8 9"}, "seeds", "give 2–8 seeds (got 9)"),
        ("list", {"seeds": "1, 2, 1"}, "seeds", "1 is given twice"),
        ("list", {"seeds": "1, -1"}, "seeds", f"-1 is outside 0–{MAX_SEED}"),
        ("list", {"seeds": f"1, {MAX_SEED + 1}"}, "seeds", f"{MAX_SEED + 1} is outside 0–{MAX_SEED}"),
        ("list", {"seeds": "1, two"}, "seeds", "'two' is not a whole number"),
        ("list", {"seeds": "1.5 2"}, "seeds", "'1.5' is not a whole number"),
        ("list", {"seeds": "1 " + "9" * 40}, "seeds", "is not a whole number"),  # no 40-digit int is built
        ("random", {"count": 1}, "count", "give 2–8 seeds (got 1)"),
        ("random", {"count": 9}, "count", "give 2–8 seeds (got 9)"),
        ("consecutive", {"count": 0}, "count", "give 2–8 seeds (got 0)"),
        ("consecutive", {"start": -1, "count": 2}, "start", f"-1 is outside 0–{MAX_SEED - 1}"),
        ("consecutive", {"start": MAX_SEED - 2, "count": 4}, "start", f"is outside 0–{MAX_SEED - 3}"),
        ("sideways", {}, "mode", "is not one of list, random, consecutive"),
    ],
)
def test_seeds_for_refuses_with_the_field_and_range(
    mode: str, arguments: dict[str, object], field: str, message: str
) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)) as caught:
        comparisons.seeds_for(mode, **arguments)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


def test_random_seeds_are_distinct_even_when_the_source_repeats() -> None:
    draws = iter([5, 5, 9, 5, 9, 2])
    assert comparisons.seeds_for("random", count=3, rng=lambda: next(draws)) == [5, 9, 2]
    real = comparisons.seeds_for("random", count=8)
    assert len(set(real)) == 8 and all(0 <= seed <= MAX_SEED for seed in real)
    with pytest.raises(RuntimeError, match="fewer than 2 distinct seeds"):
        comparisons.seeds_for("random", count=2, rng=lambda: 7)


def test_seed_order_and_labels() -> None:
    assert comparisons.seed_order([30, 10, 20], [10, 20, 30]) == [2, 0, 1]
    assert comparisons.seed_order([30, 10], [99, 10, 30]) == [2, 1, 0]  # an unknown seed goes last
    assert comparisons.group_label(42) == "seed 42"
    assert comparisons.picked_label(42, 7) == "seed 42 · #7"


# -- groups through the Studio (fake pipeline) -------------------------------------------------------------------


def test_a_group_of_three_seeds_makes_three_linked_videos(studio: Studio, fake: FakePipeline) -> None:
    group_id, views = studio.submit_group(REQUEST, [30, 10, 20])

    assert len(group_id) == 32 and [v.recipe.seed for v in views] == [30, 10, 20]
    assert {v.group_id for v in views} == {group_id}
    done = [wait_final(studio, view.id) for view in views]
    assert [d.status for d in done] == [JobStatus.SUCCEEDED] * 3
    assert [r.seed for r in fake.ran] == [30, 10, 20]  # run in submission order

    videos = studio.videos.of_group(group_id)
    assert [v.seed for v in videos] == [30, 10, 20]
    assert {(v.group_id, v.kind) for v in videos} == {(group_id, "generated")}
    assert [v.job_id for v in videos] == [view.id for view in views]
    assert [j.id for j in studio.group_jobs(group_id)] == [view.id for view in views]
    assert studio.group_jobs("no-such-group") == [] and studio.videos.of_group("no-such-group") == []
    # The other settings are the request's, for every seed
    assert {(v.prompt, v.width, v.height, v.num_frames, v.steps) for v in videos} == {
        ("a paper boat in the rain", 160, 96, 17, 3)
    }
    # A plain job belongs to no group
    assert wait_final(studio, studio.submit(REQUEST).id).group_id is None


def test_a_group_is_validated_before_anything_is_queued(studio: Studio) -> None:
    with pytest.raises(InvalidInput, match="seeds: 4 is given twice"):
        studio.submit_group(REQUEST, [4, 5, 4])
    with pytest.raises(InvalidInput, match=r"seeds: give 2–8 seeds \(got 1\)"):
        studio.submit_group(REQUEST, [4])
    with pytest.raises(InvalidInput, match="seeds: -1 is outside"):  # -1 means "random" elsewhere: not here
        studio.submit_group(REQUEST, [-1, 5])
    with pytest.raises(InvalidInput, match="steps: 500"):
        studio.submit_group(RecipeRequest(prompt="x", steps=500), [1, 2])
    assert studio.list_jobs() == []


@pytest.fixture
def stalled(tmp_path: Path) -> Iterator[Studio]:
    """A Studio whose model never loads, so jobs stay queued: the queue cap can be filled exactly."""
    pipeline = FakePipeline()
    pipeline.load_error = RuntimeError("no model in this test")
    instance = Studio(Settings(data_dir=tmp_path / "data", max_queued=5), preset=PRESET, pipeline=pipeline)
    instance.start()
    yield instance
    instance.stop()


def test_the_queue_cap_takes_a_whole_group_or_none_of_it(stalled: Studio) -> None:
    stalled.submit_group(REQUEST, [1, 2, 3])
    with pytest.raises(QueueFull, match="room for 2 more jobs and this group needs 3") as caught:
        stalled.submit_group(REQUEST, [4, 5, 6])
    assert caught.value.retry_after_s >= 1
    assert len(stalled.list_jobs(status=JobStatus.QUEUED)) == 3  # nothing of the refused group

    group_id, _ = stalled.submit_group(REQUEST, [4, 5])  # exactly fills the cap
    assert len(stalled.list_jobs(status=JobStatus.QUEUED)) == 5
    with pytest.raises(QueueFull, match="the queue has room for 0 more jobs"):
        stalled.submit_group(REQUEST, [7, 8])
    with pytest.raises(QueueFull, match=r"the queue is full \(5 jobs waiting\)"):
        stalled.submit(REQUEST)

    # A group that is still queued cannot be exported yet
    with pytest.raises(InvalidInput, match="group_id: 2 of its 2 jobs have not finished") as error:
        stalled.videos.export_group(group_id)
    assert error.value.field == "group_id"
    assert [v.queue_position for v in stalled.group_jobs(group_id)] == [4, 5]


def test_export_tiles_the_group_in_seed_order(studio: Studio) -> None:
    group_id, views = studio.submit_group(REQUEST, [30, 10, 20])
    for view in views:
        wait_final(studio, view.id)
    members = studio.videos.of_group(group_id)

    exported = studio.videos.export_group(group_id)

    # 3 clips of 160×96 → a 1×3 grid, as the Compare page lays them out (comparisons.grid_shape)
    assert (exported.kind, exported.group_id, exported.parent_id, exported.job_id) == (
        "comparison",
        group_id,
        None,
        None,
    )
    assert (exported.width, exported.height, exported.num_frames, exported.fps) == (480, 96, 17, 16)
    assert exported.duration_s == pytest.approx(17 / 16)
    info = mp4.probe(studio.videos.file(exported))
    assert (info.width, info.height, info.num_frames) == (480, 96, 17)
    comparison = {"group_id": group_id, "seeds": [30, 10, 20], "video_ids": [v.id for v in members]}
    assert exported.recipe["comparison"] == comparison
    assert exported.recipe["seed"] == 30 and exported.recipe["prompt"] == "a paper boat in the rain"
    assert mp4.read_recipe(studio.videos.file(exported)) == exported.recipe
    assert (studio.media_dir / str(exported.poster_path)).stat().st_size > 0
    # The export joins the group but is not a member to compare, and nothing is left behind in incoming/
    assert [v.id for v in studio.videos.of_group(group_id)] == [v.id for v in members]
    assert list((studio.media_dir / "incoming").iterdir()) == []


def test_export_needs_two_finished_videos(studio: Studio, fake: FakePipeline) -> None:
    with pytest.raises(InvalidInput, match="group_id: no job or video belongs to group 'nope'"):
        studio.videos.export_group("nope")

    studio.worker.batch = False  # one run per seed, so one seed can fail alone (a batched call fails together)
    fake.fail_with = RuntimeError("boom")  # the first seed fails, the second makes a video
    group_id, views = studio.submit_group(REQUEST, [1, 2])
    assert [wait_final(studio, v.id).status for v in views] == [JobStatus.FAILED, JobStatus.SUCCEEDED]
    with pytest.raises(InvalidInput, match="a comparison takes 2–8 finished videos; this group has 1"):
        studio.videos.export_group(group_id)

    # A retried seed stays in its group and takes its place in seed order
    retried = studio.retry(views[0].id)
    assert retried.group_id == group_id
    wait_final(studio, retried.id)
    assert [v.seed for v in studio.videos.of_group(group_id)] == [1, 2]
    assert studio.videos.export_group(group_id).recipe["comparison"]["seeds"] == [1, 2]


# -- the real tiny pipeline ----------------------------------------------------------------------------------------


def test_a_group_with_the_real_pipeline(tmp_path: Path) -> None:
    from studio.domain.presets import PRESETS
    from studio.engine.pipeline import ResidentPipeline

    preset = PRESETS["tiny-1.3b"]
    pipeline = ResidentPipeline(preset, models_dir=tmp_path / "models", device="cpu")
    studio = Studio(Settings(data_dir=tmp_path / "data", device="cpu"), preset=preset, pipeline=pipeline)
    studio.start()
    try:
        request = RecipeRequest(prompt="一只猫 in the rain", aspect_ratio="9:16", duration_s=0.5, steps=2)
        group_id, views = studio.submit_group(request, [7, 8, 9])
        done = [wait_final(studio, view.id, timeout=180) for view in views]
        assert [d.status for d in done] == [JobStatus.SUCCEEDED] * 3, [d.error for d in done]

        videos = studio.videos.of_group(group_id)
        assert [(v.seed, v.group_id, v.kind) for v in videos] == [(s, group_id, "generated") for s in (7, 8, 9)]
        assert {(v.width, v.height, v.num_frames) for v in videos} == {(96, 160, 9)}
        first_frames = [_first_frame(studio, v.id) for v in videos]
        assert not np.array_equal(first_frames[0], first_frames[1])  # the seeds made different videos

        exported = studio.videos.export_group(group_id)
        assert (exported.kind, exported.group_id) == ("comparison", group_id)
        info = mp4.probe(studio.videos.file(exported))
        # 3 clips of 96×160 side by side (1×3), as the Compare page shows them
        assert (info.width, info.height, info.num_frames) == (exported.width, exported.height, 9) == (288, 160, 9)
    finally:
        studio.stop()


def _first_frame(studio: Studio, video_id: int) -> np.ndarray:
    from PIL import Image

    video = studio.videos.get(video_id)
    return np.asarray(Image.open(studio.media_dir / str(video.poster_path)))


def test_queued_seeds_of_a_group_run_in_one_batched_call(tmp_path: Path, fake: FakePipeline) -> None:
    """With batching on (the CPU default), a comparison's queued seeds go to the pipeline together."""
    fake.gate = threading.Event()
    studio = Studio(Settings(data_dir=tmp_path / "data", batch_seeds="on"), preset=PRESET, pipeline=fake)
    studio.start()
    try:
        blocker = studio.submit(RecipeRequest(prompt="first", duration_s=0.5, steps=3))
        assert fake.at_step.wait(10)
        group_id, views = studio.submit_group(RecipeRequest(prompt="a kite", duration_s=0.5, steps=2), [7, 8, 9])
        fake.gate.set()
        fake.gate = None
        for view in [blocker, *views]:
            assert studio.wait(view.id, timeout=30).status is JobStatus.SUCCEEDED
        assert fake.batches == [[7, 8, 9]]
        assert [v.seed for v in studio.videos.of_group(group_id)] == [7, 8, 9]
    finally:
        studio.stop()


def test_batching_off_runs_seeds_one_by_one(tmp_path: Path, fake: FakePipeline) -> None:
    studio = Studio(Settings(data_dir=tmp_path / "data", batch_seeds="off"), preset=PRESET, pipeline=fake)
    studio.start()
    try:
        _, views = studio.submit_group(RecipeRequest(prompt="a kite", duration_s=0.5, steps=2), [1, 2])
        for view in views:
            assert studio.wait(view.id, timeout=30).status is JobStatus.SUCCEEDED
        assert fake.batches == []
    finally:
        studio.stop()
