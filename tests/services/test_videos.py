"""History operations through the Studio: trim, compare picked videos, favorite, delete, and migration 0004."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from studio.domain.errors import InvalidInput
from studio.domain.recipe import RecipeRequest
from studio.media import mp4, trims
from studio.services.studio import Studio
from studio.store import library
from studio.store.rows import JobStatus, Video
from tests.helpers import database_at, wait_final

FPS = 16


def make_video(studio: Studio, seed: int = 3, duration_s: float = 2.0) -> Video:
    """A finished video from the fake pipeline: 33 frames of 160×96 at 16 fps for 2 s."""
    done = wait_final(studio, studio.submit(RecipeRequest(prompt="a fox", seed=seed, duration_s=duration_s)).id)
    assert done.status is JobStatus.SUCCEEDED and done.video is not None
    return done.video


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def media_files(studio: Studio) -> list[Path]:
    return sorted(path for path in studio.media_dir.rglob("*") if path.is_file())


def row_count(studio: Studio) -> int:
    with studio.db.read() as session:
        return len(library.recent(session=session, limit=1000))


# -- trim ----------------------------------------------------------------------------------------------------------


def test_trim_saves_a_linked_child_and_leaves_the_parent_alone(studio: Studio) -> None:
    parent = make_video(studio)
    parent_file = studio.videos.file(parent)
    before = sha256(parent_file)

    child = studio.videos.trim(parent.id, start_s=0.5, end_s=1.5)

    plan = trims.plan_trim(start_s=0.5, end_s=1.5, fps=FPS, num_frames=33)
    assert (plan.start_frame, plan.end_frame, plan.num_frames) == (8, 24, 16)
    assert (child.kind, child.parent_id, child.group_id, child.job_id) == ("trim", parent.id, None, None)
    assert (child.num_frames, child.width, child.height, child.fps) == (16, 160, 96, FPS)
    assert child.duration_s == pytest.approx(1.0)
    assert (child.prompt, child.seed) == (parent.prompt, parent.seed)
    info = mp4.probe(studio.videos.file(child))
    assert (info.num_frames, info.width, info.height) == (16, 160, 96)
    assert (studio.media_dir / str(child.poster_path)).stat().st_size > 0

    # The MP4 carries the parent's recipe plus what the trim did; the row holds the same
    stored = mp4.read_recipe(studio.videos.file(child))
    assert stored == child.recipe
    assert stored is not None and {k: v for k, v in stored.items() if k != "trim"} == parent.recipe
    assert stored["trim"] == {
        "parent_id": parent.id,
        "start_s": 0.5,
        "end_s": 1.5,
        "start_frame": 8,
        "end_frame": 24,
        "lossless": False,
        "actual_start_s": 0.5,
        "actual_end_s": 1.5,
    }

    # The parent: same bytes, same row; its child is listed
    assert sha256(parent_file) == before
    assert studio.videos.get(parent.id).num_frames == 33
    with studio.db.read() as session:
        assert [v.id for v in library.children(session=session, video_id=parent.id)] == [child.id]
    assert list((studio.media_dir / library.INCOMING).iterdir()) == []

    # A trim of the trim keeps the chain in parent_id; its recipe says only how it was cut from its parent (flat)
    grandchild = studio.videos.trim(child.id, start_s=0.25, end_s=0.75)
    assert grandchild.parent_id == child.id and grandchild.num_frames == 8
    assert grandchild.recipe["trim"]["parent_id"] == child.id and grandchild.recipe["trim"]["start_frame"] == 4
    assert "previous" not in grandchild.recipe["trim"]


def test_a_lossless_trim_reports_where_it_landed(studio: Studio) -> None:
    parent = make_video(studio)
    before = sha256(studio.videos.file(parent))

    child = studio.videos.trim(parent.id, start_s=0.5, end_s=1.5, lossless=True)

    trim = child.recipe["trim"]
    assert trim["lossless"] is True and (trim["start_s"], trim["end_s"]) == (0.5, 1.5)
    # A Wan clip has one keyframe, at 0: a packet copy cannot start later, and it ends at or after the out point
    assert trim["actual_start_s"] == 0.0 <= trim["start_s"]
    assert trim["actual_end_s"] >= trim["end_s"]
    landed = round((trim["actual_end_s"] - trim["actual_start_s"]) * FPS)
    assert child.num_frames == landed == mp4.probe(studio.videos.file(child)).num_frames
    assert child.duration_s == pytest.approx(landed / FPS)
    assert mp4.read_recipe(studio.videos.file(child)) == child.recipe
    assert sha256(studio.videos.file(parent)) == before


def test_a_trim_whose_source_file_is_missing_writes_nothing(studio: Studio) -> None:
    parent = make_video(studio)
    studio.videos.file(parent).unlink()
    files = media_files(studio)

    with pytest.raises(InvalidInput, match="source: the video file is missing on disk") as caught:
        studio.videos.trim(parent.id, start_s=0.5, end_s=1.5)

    assert caught.value.field == "source"
    assert media_files(studio) == files and row_count(studio) == 1


@pytest.mark.parametrize(
    ("start_s", "end_s", "field"),
    [(1.5, 0.5, "end_s"), (-1.0, 1.0, "start_s"), (0.5, 9.0, "end_s"), (float("nan"), 1.0, "start_s")],
)
def test_a_bad_trim_range_names_its_field_and_writes_nothing(
    studio: Studio, start_s: float, end_s: float, field: str
) -> None:
    parent = make_video(studio)
    files = media_files(studio)
    with pytest.raises(InvalidInput) as caught:
        studio.videos.trim(parent.id, start_s=start_s, end_s=end_s)
    assert caught.value.field == field
    assert media_files(studio) == files and row_count(studio) == 1


def test_trim_of_an_unknown_video(studio: Studio) -> None:
    with pytest.raises(library.VideoNotFound, match="video_id: no video 404"):
        studio.videos.trim(404, start_s=0.0, end_s=1.0)


# -- compare picked videos ---------------------------------------------------------------------------------------


def test_export_videos_tiles_two_picked_videos(studio: Studio) -> None:
    first, second = make_video(studio, seed=5), make_video(studio, seed=5, duration_s=1.0)  # same seed, shorter

    exported = studio.videos.export_picked([second.id, first.id])

    # 2 clips of 160×96 → one row of two; as long as the longer clip
    assert (exported.kind, exported.group_id, exported.parent_id) == ("comparison", None, None)
    assert (exported.width, exported.height, exported.num_frames) == (320, 96, 33)
    info = mp4.probe(studio.videos.file(exported))
    assert (info.width, info.height, info.num_frames) == (320, 96, 33)
    assert exported.recipe["comparison"] == {"group_id": None, "seeds": [5, 5], "video_ids": [second.id, first.id]}
    assert exported.recipe["num_frames"] == second.num_frames == 17  # the first clip's recipe, as generated
    assert mp4.read_recipe(studio.videos.file(exported)) == exported.recipe


def test_export_videos_refuses_bad_picks(studio: Studio) -> None:
    video = make_video(studio)
    for picked, message in [
        ([video.id], r"video_ids: pick 2–4 videos to compare \(got 1\)"),
        ([video.id] * 5, r"video_ids: pick 2–4 videos to compare \(got 5\)"),
        ([video.id, video.id], f"video_ids: video {video.id} is picked twice"),
    ]:
        with pytest.raises(InvalidInput, match=message):
            studio.videos.export_picked(picked)
    with pytest.raises(library.VideoNotFound, match="video_id: no video 77"):
        studio.videos.export_picked([video.id, 77])
    assert row_count(studio) == 1


# -- favorite and delete -----------------------------------------------------------------------------------------


def test_favorite_and_delete_go_through_the_studio(studio: Studio) -> None:
    parent = make_video(studio)
    child = studio.videos.trim(parent.id, start_s=0.0, end_s=1.0)

    assert studio.videos.set_favorite(parent.id, True).favorite is True
    assert studio.videos.get(parent.id).favorite is True
    assert studio.videos.set_favorite(parent.id, False).favorite is False

    parent_files = [studio.videos.file(parent), studio.media_dir / str(parent.poster_path)]
    studio.videos.delete(parent.id)
    assert not any(path.exists() for path in parent_files)
    with pytest.raises(library.VideoNotFound):
        studio.videos.get(parent.id)
    kept = studio.videos.get(child.id)  # the trimmed copy stays, unlinked
    assert kept.parent_id is None and studio.videos.file(kept).exists()

    with pytest.raises(library.VideoNotFound, match="video_id: no video 999"):
        studio.videos.delete(999)
    with pytest.raises(library.VideoNotFound, match="video_id: no video 999"):
        studio.videos.set_favorite(999, True)


# -- migration 0004 ----------------------------------------------------------------------------------------------


def test_migration_0004_marks_old_videos_generated_and_keeps_search(tmp_path: Path) -> None:
    database = database_at(tmp_path / "old.db", "0003")
    try:
        database.upgrade()
        with database.engine.connect() as connection:
            triggers = connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").scalars()
            assert sorted(triggers) == ["videos_fts_after_delete", "videos_fts_after_insert", "videos_fts_after_update"]
        with database.write() as session:
            assert library.get(session=session, video_id=1).kind == "generated"
            session.add(Video(**_ROW, prompt="a lighthouse in a storm", kind="trim"))
        with database.read() as session:
            assert [v.id for v in library.search(session=session, query="雪地里").items] == [1]
            found = library.search(session=session, query="lighthouse").items  # the insert trigger still runs
            assert [(v.id, v.kind) for v in found] == [(2, "trim")]
    finally:
        database.dispose()


_ROW: dict[str, object] = {
    "path": "videos/2.mp4",
    "negative_prompt": "",
    "seed": 2,
    "model": "tiny-1.3b",
    "width": 160,
    "height": 96,
    "num_frames": 17,
    "fps": 16,
    "duration_s": 1.0,
    "steps": 4,
    "guidance": 5.0,
    "flow_shift": 3.0,
    "recipe": {},
}


def test_a_trim_whose_parent_is_deleted_meanwhile_saves_nothing(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    parent = make_video(studio)
    real_trim = trims.trim
    cuts = []

    def trim_then_delete_the_parent(*args: Any, **kwargs: Any) -> trims.TrimResult:
        result = real_trim(*args, **kwargs)
        cuts.append(result)
        studio.videos.delete(parent.id)  # e.g. from another tab, while the cut was being written
        return result

    monkeypatch.setattr(trims, "trim", trim_then_delete_the_parent)
    with pytest.raises(library.VideoNotFound, match=f"video_id: no video {parent.id}"):
        studio.videos.trim(parent.id, start_s=0.5, end_s=1.5)

    assert len(cuts) == 1  # a frame-accurate cut lands on the plan: one pass, its recipe written up front
    assert row_count(studio) == 0 and media_files(studio) == []
