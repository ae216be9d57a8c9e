from pathlib import Path

import pytest

from studio import library
from studio.db import Database
from studio.presets import PRESETS
from studio.recipe import RecipeRequest, build_recipe
from studio.records import Video

RECIPE = build_recipe(RecipeRequest(prompt="a lighthouse", seed=3), PRESETS["tiny-1.3b"])


def _incoming(media_dir: Path, name: str) -> tuple[Path, Path]:
    folder = library.incoming_dir(media_dir)
    video, poster = folder / f"{name}.mp4", folder / f"{name}.jpg"
    video.write_bytes(b"video " + name.encode())
    poster.write_bytes(b"poster")
    return video, poster


def test_add_moves_files_into_id_named_places_with_the_row(db: Database, media_dir: Path) -> None:
    video_file, poster_file = _incoming(media_dir, "job-1")
    with db.write() as session:
        video = library.add(
            session=session,
            media_dir=media_dir,
            recipe=RECIPE,
            video_file=video_file,
            poster_file=poster_file,
            timings={"denoise_s": 2.0, "bogus": 1.0},
        )
    assert video.path == f"videos/{video.id}.mp4" and video.poster_path == f"posters/{video.id}.jpg"
    assert (media_dir / video.path).read_bytes() == b"video job-1"
    assert not video_file.exists() and not poster_file.exists()
    with db.read() as session:
        stored = library.get(session=session, video_id=video.id)
        assert (stored.prompt, stored.seed, stored.width, stored.num_frames, stored.denoise_s) == (
            "a lighthouse",
            3,
            RECIPE.width,
            RECIPE.num_frames,
            2.0,
        )
        assert stored.duration_s == pytest.approx(RECIPE.num_frames / RECIPE.fps)


def test_a_rolled_back_transaction_takes_the_moved_files_with_it(db: Database, media_dir: Path) -> None:
    video_file, poster_file = _incoming(media_dir, "job-2")
    with pytest.raises(RuntimeError, match="commit failed"), db.write() as session:
        video = library.add(
            session=session, media_dir=media_dir, recipe=RECIPE, video_file=video_file, poster_file=poster_file
        )
        assert (media_dir / video.path).exists()
        raise RuntimeError("commit failed")
    assert list((media_dir / library.VIDEOS).iterdir()) == []
    assert list((media_dir / library.POSTERS).iterdir()) == []
    with db.read() as session:
        assert library.recent(session=session) == []


def test_recent_is_newest_first(db: Database, media_dir: Path) -> None:
    for name in ("a", "b", "c"):
        video_file, _ = _incoming(media_dir, name)
        with db.write() as session:
            library.add(session=session, media_dir=media_dir, recipe=RECIPE, video_file=video_file, poster_file=None)
    with db.read() as session:
        ids = [v.id for v in library.recent(session=session, limit=2)]
    assert ids == [3, 2]


def test_sweep_removes_leftovers_and_orphans_but_keeps_owned_files(db: Database, media_dir: Path) -> None:
    video_file, poster_file = _incoming(media_dir, "kept")
    with db.write() as session:
        kept = library.add(
            session=session, media_dir=media_dir, recipe=RECIPE, video_file=video_file, poster_file=poster_file
        )
    orphan = media_dir / library.VIDEOS / "999.mp4"
    orphan.write_bytes(b"no row")
    leftover, _ = _incoming(media_dir, "job-7")
    with db.write() as session:
        removed = library.sweep(session=session, media_dir=media_dir)
    assert set(removed) >= {orphan, leftover}
    assert (media_dir / kept.path).exists() and (media_dir / str(kept.poster_path)).exists()
    with db.read() as session:
        assert session.get(Video, kept.id) is not None


def test_file_path_refuses_to_leave_the_media_folder(media_dir: Path) -> None:
    assert library.file_path(media_dir, "videos/1.mp4") == (media_dir / "videos/1.mp4").resolve()
    with pytest.raises(ValueError, match="outside the media folder"):
        library.file_path(media_dir, "../studio.db")


def test_get_unknown_video(db: Database) -> None:
    with pytest.raises(library.VideoNotFound, match="video_id: no video 5"), db.read() as session:
        library.get(session=session, video_id=5)
