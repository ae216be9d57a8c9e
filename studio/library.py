"""The video history: a file on disk and its row are saved, and deleted, as one unit.

Files live under the media folder as `videos/<id>.mp4` and `posters/<id>.jpg`: names come from ids,
never from prompts.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from studio.recipe import Recipe
from studio.records import Video

log = logging.getLogger(__name__)

VIDEOS = "videos"
POSTERS = "posters"
INCOMING = "incoming"  # encoder output waiting to be added; emptied at startup


class VideoNotFound(LookupError):
    """No video with that id."""


def incoming_dir(media_dir: Path) -> Path:
    folder = media_dir / INCOMING
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def add(
    *,
    session: Session,
    media_dir: Path,
    recipe: Recipe,
    video_file: Path,
    poster_file: Path | None,
    job_id: int | None = None,
    parent_id: int | None = None,
    timings: dict[str, float] | None = None,
) -> Video:
    """Insert the row and move the files into place; if the transaction rolls back, the files go too."""
    timings = timings or {}
    video = Video(
        job_id=job_id,
        parent_id=parent_id,
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
        recipe=recipe.to_dict(),
        **{k: v for k, v in timings.items() if k in ("load_s", "denoise_s", "decode_s", "encode_s")},
    )
    session.add(video)
    session.flush()  # assigns the id the file names come from

    moved: list[Path] = []
    event.listen(session, "after_rollback", lambda _s: _remove(moved), once=True)
    video.path = _move(video_file, media_dir, f"{VIDEOS}/{video.id}.mp4", moved)
    if poster_file is not None:
        video.poster_path = _move(poster_file, media_dir, f"{POSTERS}/{video.id}.jpg", moved)
    session.flush()
    return video


def get(*, session: Session, video_id: int) -> Video:
    video = session.get(Video, video_id)
    if video is None:
        raise VideoNotFound(f"video_id: no video {video_id}")
    return video


def for_job(*, session: Session, job_id: int) -> Video | None:
    return session.scalars(select(Video).where(Video.job_id == job_id)).first()


def recent(*, session: Session, limit: int = 12, offset: int = 0) -> list[Video]:
    """Newest first."""
    return list(session.scalars(select(Video).order_by(Video.id.desc()).limit(limit).offset(offset)))


def file_path(media_dir: Path, relative: str) -> Path:
    """The absolute path of a stored file, refusing anything outside the media folder."""
    path = (media_dir / relative).resolve()
    if not path.is_relative_to(media_dir.resolve()):
        raise ValueError(f"path: {relative!r} is outside the media folder")
    return path


def sweep(*, session: Session, media_dir: Path) -> list[Path]:
    """At startup: delete encoder leftovers and files that no row owns (a crash between move and commit)."""
    owned = set()
    for path, poster in session.execute(select(Video.path, Video.poster_path)):
        owned.add(path)
        if poster:
            owned.add(poster)
    removed: list[Path] = []
    for sub in (INCOMING, VIDEOS, POSTERS):
        folder = media_dir / sub
        if not folder.is_dir():
            continue
        for file in folder.iterdir():
            if file.is_file() and (sub == INCOMING or f"{sub}/{file.name}" not in owned):
                file.unlink(missing_ok=True)
                removed.append(file)
    if removed:
        log.warning("removed %d media files that no video row owns: %s", len(removed), [p.name for p in removed])
    return removed


def _move(source: Path, media_dir: Path, relative: str, moved: list[Path]) -> str:
    target = media_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)
    moved.append(target)
    return relative


def _remove(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
