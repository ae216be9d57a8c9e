"""The history on a remote media store (a real S3 endpoint, moto): files published with the row, deleted once the
deletion commits, and objects without a row set aside by the start-up sweep only after the grace period."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.domain.presets import PRESETS
from studio.domain.recipe import RecipeRequest, build_recipe
from studio.media.storage import S3Store
from studio.store import housekeeping, library
from studio.store.database import Database
from studio.store.rows import Video
from tests.local_services import S3Server

RECIPE = build_recipe(RecipeRequest(prompt="a lighthouse", seed=3), PRESETS["tiny-1.3b"])


@pytest.fixture
def store(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> S3Store:
    """A fresh bucket, with this machine's cache in tmp_path/cache."""
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    bucket = s3_server.create_bucket()
    return S3Store(bucket=bucket, prefix="media", endpoint_url=s3_server.endpoint_url, cache_dir=tmp_path / "cache")


def bucket_keys(store: S3Store, prefix: str = "") -> list[str]:
    return sorted(item.key for item in store.objects(prefix))


def add(db: Database, store: S3Store, name: str) -> Video:
    folder = library.incoming_dir(store.local_dir)
    video_file, poster_file = folder / f"{name}.mp4", folder / f"{name}.jpg"
    video_file.write_bytes(b"video " + name.encode())
    poster_file.write_bytes(b"poster")
    with db.write() as session:
        return library.add(session=session, store=store, recipe=RECIPE, video_file=video_file, poster_file=poster_file)


def test_add_publishes_the_files_and_keeps_a_local_copy(db: Database, store: S3Store) -> None:
    video = add(db, store, "job-1")

    assert bucket_keys(store) == [f"posters/{video.id}.jpg", f"videos/{video.id}.mp4"]
    assert (store.local_dir / video.path).read_bytes() == b"video job-1"  # the upload is this machine's cache
    assert list((store.local_dir / library.INCOMING).iterdir()) == []


def test_a_rolled_back_add_takes_its_published_files_with_it(db: Database, store: S3Store) -> None:
    folder = library.incoming_dir(store.local_dir)
    video_file = folder / "job-2.mp4"
    video_file.write_bytes(b"video")

    with pytest.raises(RuntimeError, match="insert failed"), db.write() as session:
        video = library.add(session=session, store=store, recipe=RECIPE, video_file=video_file, poster_file=None)
        assert store.exists(video.path)  # published before the commit: no reader ever sees the row without it
        raise RuntimeError("insert failed")

    assert bucket_keys(store) == []
    assert list((store.local_dir / library.VIDEOS).iterdir()) == []


def test_delete_removes_the_objects_once_the_deletion_commits(db: Database, store: S3Store) -> None:
    kept, deleted = add(db, store, "kept"), add(db, store, "deleted")

    with pytest.raises(RuntimeError, match="rolls back"), db.write() as session:
        library.delete(session=session, store=store, video_id=kept.id)
        raise RuntimeError("rolls back")
    assert store.exists(kept.path) and (store.local_dir / kept.path).exists()  # the cached copy is put back

    with db.write() as session:
        library.delete(session=session, store=store, video_id=deleted.id)
        assert store.exists(deleted.path)  # until the commit: a rollback must find it there

    assert bucket_keys(store) == [f"posters/{kept.id}.jpg", f"videos/{kept.id}.mp4"]
    assert not (store.local_dir / deleted.path).exists()


def test_sweep_sets_aside_only_rowless_objects_older_than_the_grace_period(
    db: Database, store: S3Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    owned = add(db, store, "owned")
    rowless = tmp_path / "999.mp4"
    rowless.write_bytes(b"a crash between the upload and the commit")
    store.publish("videos/999.mp4", rowless)

    # 1. Just written: another machine may be about to commit its row, so it stays.
    with db.write() as session:
        housekeeping.sweep(session=session, store=store)
    assert store.exists("videos/999.mp4")

    # 2. Past the grace period: set aside in the bucket (and locally), never deleted at once.
    monkeypatch.setattr(housekeeping, "PUBLISH_GRACE_S", 0.0)
    with db.write() as session:
        housekeeping.sweep(session=session, store=store)
    assert bucket_keys(store) == ["orphans/videos/999.mp4", f"posters/{owned.id}.jpg", f"videos/{owned.id}.mp4"]
    assert (store.local_dir / library.ORPHANS / "videos/999.mp4").exists()

    # 3. Orphans kept ORPHAN_KEEP_DAYS are deleted.
    monkeypatch.setattr(housekeeping, "ORPHAN_KEEP_DAYS", 0)
    with db.write() as session:
        housekeeping.sweep(session=session, store=store)
    assert bucket_keys(store, f"{library.ORPHANS}/") == []
    assert store.exists(owned.path) and store.exists(str(owned.poster_path))
