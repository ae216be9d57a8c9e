"""The video history: a video's files in the media store and its row are saved, and deleted, as one unit.

Files are stored under the keys `videos/<id>.mp4` and `posters/<id>.jpg`: names come from ids, never from prompts.
The store is the local media folder or a bucket shared by many machines (studio.media.storage); the store layer
cannot import the media layer, so `MediaFiles` says what this module needs of one.

Searching it is studio.store.search; `search` and `VideoPage` are re-exported here as part of the history's API.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from studio.domain.errors import InvalidInput, NotFound
from studio.domain.recipe import Recipe, check_stored
from studio.store.rows import TIMINGS, VIDEO_KINDS, Video
from studio.store.search import VideoPage as VideoPage  # re-exported: part of the history's API
from studio.store.search import search as search

log = logging.getLogger(__name__)

VIDEOS = "videos"
POSTERS = "posters"
INCOMING = "incoming"  # encoder output waiting to be added; emptied at startup
TRASH = "trash"  # files of a deletion that has not committed yet; emptied (or put back) at startup
ORPHANS = "orphans"  # files found without a row at startup: kept aside ORPHAN_KEEP_DAYS, never deleted at once


class VideoNotFound(NotFound):
    """No video with that id."""


class StoredFile(Protocol):
    @property
    def key(self) -> str: ...

    @property
    def modified(self) -> float: ...  # seconds since the epoch


class MediaFiles(Protocol):
    """What the history needs of a media store; studio.media.storage.MediaStore is one (see its docstrings)."""

    local_dir: Path  # local copies: the store itself, or a remote store's cache
    is_remote: bool

    def publish(self, key: str, local_file: Path) -> None: ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...

    def objects(self, prefix: str) -> Iterable[StoredFile]: ...

    def move(self, key: str, new_key: str) -> None: ...


def incoming_dir(media_dir: Path) -> Path:
    folder = media_dir / INCOMING
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def add(
    *,
    session: Session,
    store: MediaFiles,
    recipe: Recipe,
    video_file: Path,
    poster_file: Path | None,
    job_id: int | None = None,
    parent_id: int | None = None,
    timings: dict[str, float] | None = None,
    group_id: str | None = None,
    kind: str = "generated",
    stored_recipe: dict[str, Any] | None = None,
) -> Video:
    """Insert the row and publish the files to the store; if the transaction rolls back, the files go too.

    The files are published before the commit (their keys come from the row's id) and the row is seen only once it
    commits, so no reader ever finds a row whose files are not in the store.

    The row's size, frames and duration come from `recipe`. An edit passes a copy that describes its own file, and
    as `stored_recipe` what its MP4 carries (the source's recipe plus what the edit did; for a generated video, the
    recipe plus the precision of the weights); otherwise the row stores `recipe` itself.

    Raises:
        InvalidInput: `kind` is not one of VIDEO_KINDS, or `stored_recipe` is too large or too deep ("recipe").
    """
    if kind not in VIDEO_KINDS:
        raise InvalidInput("kind", f"{kind!r} is not one of {', '.join(VIDEO_KINDS)}")
    timings = timings or {}
    video = Video(
        job_id=job_id,
        parent_id=parent_id,
        group_id=group_id,
        kind=kind,
        path="",
        prompt=recipe.prompt,
        negative_prompt=recipe.negative_prompt,
        seed=recipe.seed,
        model=recipe.model,
        width=recipe.width,
        height=recipe.height,
        num_frames=recipe.num_frames,
        fps=recipe.fps,
        duration_s=recipe.duration_s,
        steps=recipe.steps,
        guidance=recipe.guidance,
        guidance_2=recipe.guidance_2,
        flow_shift=recipe.flow_shift,
        recipe=recipe.to_dict() if stored_recipe is None else check_stored(stored_recipe),
        **{k: v for k, v in timings.items() if k in TIMINGS},
    )
    session.add(video)
    session.flush()  # assigns the id the file names come from

    published: list[str] = []
    event.listen(session, "after_rollback", lambda _s: _unpublish(store, published), once=True)
    video.path = _publish(store, video_file, f"{VIDEOS}/{video.id}.mp4", published)
    if poster_file is not None:
        video.poster_path = _publish(store, poster_file, f"{POSTERS}/{video.id}.jpg", published)
    session.flush()
    return video


def get(*, session: Session, video_id: int) -> Video:
    video = session.get(Video, video_id)
    if video is None:
        raise VideoNotFound("video_id", f"no video {video_id}")
    return video


def for_job(*, session: Session, job_id: int) -> Video | None:
    return session.scalars(select(Video).where(Video.job_id == job_id)).first()


def recent(*, session: Session, limit: int = 12, offset: int = 0) -> list[Video]:
    """Newest first."""
    return list(session.scalars(select(Video).order_by(Video.id.desc()).limit(limit).offset(offset)))


def models(*, session: Session) -> list[str]:
    """The models that made at least one video, sorted: the choices of the history's model filter."""
    return list(session.scalars(select(Video.model).distinct().order_by(Video.model)))


def children(*, session: Session, video_id: int) -> list[Video]:
    """Videos made from this one (e.g. trimmed copies), oldest first; none for an unknown id."""
    return list(session.scalars(select(Video).where(Video.parent_id == video_id).order_by(Video.id)))


def group(*, session: Session, group_id: str, kind: str | None = None) -> list[Video]:
    """The videos of one group (made together), oldest first; only those of one `kind` when it is given."""
    query = select(Video).where(Video.group_id == group_id).order_by(Video.id)
    if kind is not None:
        query = query.where(Video.kind == kind)
    return list(session.scalars(query))


def set_favorite(*, session: Session, video_id: int, favorite: bool) -> Video:
    video = get(session=session, video_id=video_id)
    video.favorite = favorite
    session.flush()
    return video


def delete(*, session: Session, store: MediaFiles, video_id: int) -> None:
    """Delete the row and its files as one unit; videos made from it stay (their parent_id becomes NULL).

    The local files move into `trash/` inside the transaction: they are deleted once it commits and put back if it
    rolls back. A crash in between leaves them in `trash/`, where `sweep` puts back the files whose row survived
    and deletes the rest. A remote store's objects cannot move with the transaction: they are deleted once it
    commits, and a crash in between leaves objects without a row, which `sweep` sets aside.

    Raises:
        VideoNotFound: no video with that id.
    """
    # 1. The row first: if the DELETE fails, no file has moved.
    video = get(session=session, video_id=video_id)
    relatives = [video.path] if video.poster_path is None else [video.path, video.poster_path]
    session.delete(video)
    session.flush()

    # 2. The files, into the trash; the transaction's outcome decides where they end up.
    trashed: list[tuple[Path, Path]] = []  # (home, in the trash)

    def committed() -> None:
        _purge(trashed)
        if store.is_remote:
            _delete_objects(store, relatives)

    _on_outcome(session, committed=committed, rolled_back=lambda: _restore(trashed))
    for relative in relatives:
        home = file_path(store.local_dir, relative)
        in_trash = file_path(store.local_dir, f"{TRASH}/{relative}")
        in_trash.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(home, in_trash)
        except FileNotFoundError:
            if not store.is_remote:  # a remote store's local copy is only a cache: often there is none
                log.warning("video %d: %s was already missing", video_id, relative)
            continue
        trashed.append((home, in_trash))


def file_path(media_dir: Path, relative: str) -> Path:
    """The absolute path of a stored file, refusing anything outside the media folder."""
    path = (media_dir / relative).resolve()
    if not path.is_relative_to(media_dir.resolve()):
        raise ValueError(f"path: {relative!r} is outside the media folder")
    return path


def _publish(store: MediaFiles, source: Path, key: str, published: list[str]) -> str:
    published.append(key)  # before the upload: a rollback also clears one that failed half-way
    store.publish(key, source)
    return key


def _unpublish(store: MediaFiles, keys: list[str]) -> None:
    for key in keys:
        try:
            store.delete(key)
        except Exception as error:  # the row never committed: the next start's sweep sets the file aside
            log.error("could not remove %s after a rollback (%s); the next start will set it aside", key, error)


def _delete_objects(store: MediaFiles, keys: list[str]) -> None:
    for key in keys:
        try:
            store.delete(key)
        except Exception as error:  # the row is gone: the next start's sweep sets the object aside
            log.error("could not delete %s from the media store (%s); the next start will set it aside", key, error)


def _on_outcome(session: Session, *, committed: Callable[[], None], rolled_back: Callable[[], None]) -> None:
    """Run `committed` once the whole transaction commits, or `rolled_back` at the first rollback before that."""
    settled = False

    def after_commit(_session: Session) -> None:
        nonlocal settled
        # A released savepoint fires this too, while the outer transaction can still roll back.
        if settled or session.in_nested_transaction():
            return
        settled = True
        committed()

    def after_rollback(_session: Session) -> None:
        # Any rollback, a savepoint's included, puts the files back: at worst they outlive their row until the
        # next sweep, never the reverse.
        nonlocal settled
        if not settled:
            settled = True
            rolled_back()

    event.listen(session, "after_commit", after_commit)
    event.listen(session, "after_rollback", after_rollback)


def _purge(trashed: list[tuple[Path, Path]]) -> None:
    for _home, in_trash in trashed:
        try:
            in_trash.unlink(missing_ok=True)
        except OSError as error:  # the row is gone: sweep deletes the file at the next start
            log.warning("could not delete %s (%s); the next start will", in_trash, error)


def _restore(trashed: list[tuple[Path, Path]]) -> None:
    for home, in_trash in reversed(trashed):
        try:
            os.replace(in_trash, home)
        except OSError as error:  # the row survived: sweep puts the file back at the next start
            log.error("could not put %s back (%s); the next start will", home, error)
