"""Start-up housekeeping of stored start images, on SQLite and on Postgres: an image no job, video or comparison names
goes once it is older than IMAGE_KEEP_DAYS; every image a recipe names stays, however old."""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

from studio.domain.presets import PRESETS
from studio.domain.recipe import RecipeRequest, build_recipe
from studio.media.storage import FileStore
from studio.store import grids, housekeeping, jobs, library
from studio.store.database import Database

TEXT = build_recipe(RecipeRequest(prompt="a lighthouse", seed=3), PRESETS["tiny-ti2v-5b"])


def _image(media_dir: Path, letter: str, *, days_old: float) -> Path:
    path = media_dir / "images" / f"{letter * 64}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"png " + letter.encode())
    when = time.time() - days_old * 86_400
    os.utime(path, (when, when))
    return path


def test_only_old_images_that_nothing_names_are_deleted(db: Database, media_dir: Path) -> None:
    old = housekeeping.IMAGE_KEEP_DAYS + 1
    of_a_job, of_a_video, end_of_a_video = (_image(media_dir, c, days_old=old) for c in "abc")
    of_a_comparison, unused_old = _image(media_dir, "d", days_old=old), _image(media_dir, "e", days_old=old)
    unused_recent = _image(media_dir, "f", days_old=housekeeping.IMAGE_KEEP_DAYS - 1)

    video_file, poster_file = (library.incoming_dir(media_dir) / name for name in ("clip.mp4", "clip.jpg"))
    video_file.write_bytes(b"video")
    poster_file.write_bytes(b"poster")
    with db.write() as session:
        jobs.enqueue(session=session, recipe=dataclasses.replace(TEXT, start_image="a" * 64, image_fit="crop"))
        video_recipe = dataclasses.replace(TEXT, start_image="b" * 64, end_image="c" * 64, image_fit="crop")
        library.add(
            session=session,
            store=FileStore(media_dir),
            recipe=video_recipe,
            video_file=video_file,
            poster_file=poster_file,
        )
        base = {"prompt": "a lighthouse", "start_image": "d" * 64}
        grids.add(session=session, group_id="g1", spec={"base": base, "x": {}, "y": None}, cells=[], owner=None)

    with db.write() as session:
        assert housekeeping.used_images(session) == {c * 64 for c in "abcd"}
        housekeeping.sweep(session=session, store=FileStore(media_dir))

    assert not unused_old.exists()
    assert all(p.exists() for p in (of_a_job, of_a_video, end_of_a_video, of_a_comparison, unused_recent))


def test_an_empty_history_has_no_used_images_and_sweeps_without_an_images_folder(db: Database, media_dir: Path) -> None:
    with db.write() as session:
        assert housekeeping.used_images(session) == set()
        housekeeping.sweep(session=session, store=FileStore(media_dir))
    assert not (media_dir / "images").exists()
