"""History's image-to-video filter, on SQLite and on Postgres: clips whose recipe names a start image."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from studio.domain.presets import PRESETS
from studio.domain.recipe import RecipeRequest, build_recipe
from studio.media.storage import FileStore
from studio.store import library
from studio.store.database import Database

TEXT = build_recipe(RecipeRequest(prompt="a lighthouse", seed=3), PRESETS["tiny-ti2v-5b"])
IMAGE = dataclasses.replace(TEXT, start_image="c" * 64, image_fit="crop")


def _add(db: Database, media_dir: Path, name: str, recipe: object) -> int:
    folder = library.incoming_dir(media_dir)
    video, poster = folder / f"{name}.mp4", folder / f"{name}.jpg"
    video.write_bytes(b"video")
    poster.write_bytes(b"poster")
    with db.write() as session:
        return library.add(
            session=session,
            store=FileStore(media_dir),
            recipe=recipe,
            video_file=video,
            poster_file=poster,  # type: ignore[arg-type]
        ).id


def test_the_filter_finds_clips_started_from_an_image(db: Database, media_dir: Path) -> None:
    text = _add(db, media_dir, "text", TEXT)
    image = _add(db, media_dir, "image", IMAGE)
    with db.read() as session:
        only_images = library.search(session=session, image_to_video=True).items
        only_text = library.search(session=session, image_to_video=False).items
        everything = library.search(session=session).items
    assert [v.id for v in only_images] == [image]
    assert [v.id for v in only_text] == [text]
    assert [v.id for v in everything] == [image, text]
