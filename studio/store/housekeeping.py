"""Start-up housekeeping of the media: encoder leftovers go, files without a row are set aside, the trash settles,
and start images no job, video or comparison uses any more go.

A file without a row is never deleted at once (its row may be in a write-ahead log this process cannot see, and each
MP4 carries its recipe, so History's import brings it back): it waits in `orphans/` for ORPHAN_KEEP_DAYS. A stored
image is only a job's input, kept by content hash: once nothing names it for IMAGE_KEEP_DAYS it is deleted.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from studio.domain.start_image import IMAGE_FOLDER
from studio.store.library import INCOMING, ORPHANS, POSTERS, TRASH, VIDEOS, MediaFiles
from studio.store.rows import Comparison, Job, Video

log = logging.getLogger(__name__)

ORPHAN_KEEP_DAYS = 14
# An uploaded start image waits this long for the job that will use it (a person may upload now and generate later).
IMAGE_KEEP_DAYS = 7
# A remote (or shared) store: a machine publishes a video's files before its row commits, so the sweep leaves younger
# files alone (a row never takes anywhere near this long to commit after its upload).
PUBLISH_GRACE_S = 3600


def sweep(*, session: Session, store: MediaFiles, shared: bool = False) -> list[Path]:
    """At startup: delete encoder leftovers; set aside files that no row owns; settle the trash.

    A video or poster without a row (a crash between the move and the commit, or rows the database lost) is moved to
    `orphans/`, not deleted: a row may still exist in a write-ahead log this process cannot see, and each MP4 carries
    its recipe, so History's import brings it back. Orphans older than ORPHAN_KEEP_DAYS are deleted. A file in
    `trash/` whose row still exists (a crash before a deletion committed) is put back; the rest of the trash is
    emptied. Returns the local files deleted.

    With a remote store the same goes for its objects, and for the local cache; files younger than PUBLISH_GRACE_S
    are left alone, since another machine (or process) may be publishing them right now. The same grace holds for a
    local folder that several processes share (`shared`: the fleet on file:// media).
    """
    owned = set()
    for path, poster in session.execute(select(Video.path, Video.poster_path)):
        owned.add(path)
        if poster:
            owned.add(poster)
    media_dir = store.local_dir
    grace_s = PUBLISH_GRACE_S if store.is_remote or shared else 0.0
    removed: list[Path] = []

    # 1. The trash first, so that the files it puts back count as owned below.
    trash = media_dir / TRASH
    restored: list[Path] = []
    for file in sorted(trash.rglob("*")) if trash.is_dir() else []:
        if not file.is_file():
            continue
        relative = file.relative_to(trash).as_posix()
        home = media_dir / relative
        if relative in owned and not home.exists():
            home.parent.mkdir(parents=True, exist_ok=True)
            os.replace(file, home)
            restored.append(home)
        else:
            file.unlink(missing_ok=True)
            removed.append(file)
    if restored:
        log.warning("put back %d media files of deletions that did not commit: %s", len(restored), restored)

    # 2. Encoder leftovers go; files no row owns are set aside.
    set_aside: list[Path] = []
    settled = time.time() - grace_s
    for sub in (INCOMING, VIDEOS, POSTERS):
        folder = media_dir / sub
        if not folder.is_dir():
            continue
        for file in folder.iterdir():
            if not file.is_file() or (grace_s and file.stat().st_mtime > settled):
                continue
            if sub == INCOMING:
                file.unlink(missing_ok=True)
                removed.append(file)
            elif f"{sub}/{file.name}" not in owned:
                set_aside.append(_set_aside(file, media_dir / ORPHANS / sub))
    if set_aside:
        log.error(
            "%d media files have no video row; moved to %s (import an MP4 in History to restore it): %s",
            len(set_aside),
            media_dir / ORPHANS,
            [p.name for p in set_aside],
        )

    # 3. Orphans kept long enough.
    removed += _purge_old(media_dir / ORPHANS, older_than_s=ORPHAN_KEEP_DAYS * 86_400)
    if removed:
        log.warning("removed %d leftover media files: %s", len(removed), [p.name for p in removed])

    # 4. The same for a remote store's objects (the local folder above is only its cache).
    if store.is_remote:
        _sweep_objects(store, owned, settled=settled)

    # 5. Start and end images that nothing names any more.
    _sweep_images(session, store)
    return removed


def used_images(session: Session) -> set[str]:
    """The ids (content hashes) of the images any job, video or comparison's recipe names."""
    names = [
        *(column.recipe[key] for column in (Job, Video) for key in ("start_image", "end_image")),
        *(Comparison.spec[("base", key)] for key in ("start_image", "end_image")),
    ]
    used: set[str] = set()
    for name in names:  # read inside the database (json_extract, ->>): the recipes themselves stay there
        value = name.as_string()
        used.update(session.scalars(select(value).where(value.is_not(None)).distinct()))
    return used


def _sweep_images(session: Session, store: MediaFiles) -> None:
    """Delete the stored images unused for IMAGE_KEEP_DAYS: no recipe names them and they were stored before that.

    A job row naming an old image can only be committing right now on another fleet server (this runs at start-up,
    before this process takes work); the job then fails saying its image is gone, and nothing saved is touched.
    """
    used = used_images(session)
    cutoff = time.time() - IMAGE_KEEP_DAYS * 86_400
    unused = [
        item.key
        for item in store.objects(f"{IMAGE_FOLDER}/")
        if item.modified < cutoff and item.key.removeprefix(f"{IMAGE_FOLDER}/").removesuffix(".png") not in used
    ]
    for key in unused:
        store.delete(key)
    if unused:
        log.info("removed %d stored images no job, video or comparison uses: %s", len(unused), unused)


def _sweep_objects(store: MediaFiles, owned: set[str], *, settled: float) -> None:
    """Set aside a remote store's objects that no row owns and that were written before `settled`; delete the
    orphans kept ORPHAN_KEEP_DAYS."""
    set_aside: list[str] = []
    for sub in (VIDEOS, POSTERS):
        for item in list(store.objects(f"{sub}/")):
            if item.key not in owned and item.modified < settled:
                target = f"{ORPHANS}/{item.key}"
                if store.exists(target):  # an id can be used again after a lost row
                    stem, dot, suffix = target.rpartition(".")
                    target = f"{stem}-{time.time_ns()}{dot}{suffix}"
                store.move(item.key, target)
                set_aside.append(item.key)
    if set_aside:
        log.error(
            "%d stored media files have no video row; moved to %s/ in the store (import an MP4 in History to "
            "restore it): %s",
            len(set_aside),
            ORPHANS,
            set_aside,
        )
    cutoff = time.time() - ORPHAN_KEEP_DAYS * 86_400
    expired = [item.key for item in store.objects(f"{ORPHANS}/") if item.modified < cutoff]
    for key in expired:
        store.delete(key)
    if expired:
        log.warning("removed %d orphaned stored media files: %s", len(expired), expired)


def _set_aside(file: Path, folder: Path) -> Path:
    """Move `file` into `folder`, under a new name if one is taken (an id can be used again after a lost row)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / file.name
    if target.exists():
        target = folder / f"{file.stem}-{time.time_ns()}{file.suffix}"
    os.replace(file, target)
    return target


def _purge_old(folder: Path, *, older_than_s: float) -> list[Path]:
    if not folder.is_dir():
        return []
    cutoff = time.time() - older_than_s
    old = [file for file in folder.rglob("*") if file.is_file() and file.stat().st_mtime < cutoff]
    for file in old:
        file.unlink(missing_ok=True)
    return old
