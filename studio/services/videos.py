"""The history as the surfaces use it: search, read, favorite, delete, trim, export, and recipes read from MP4s.

Part of the facade: `studio.videos`. Every operation opens its own transaction; edits pass the same admission as
jobs (edits per hour, free disk). Files come from the media store: local paths for the UI and edits (a remote
store downloads into its cache first), short-lived direct URLs for browsers when the store is remote.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from pathlib import Path
from typing import Any, Literal

from studio.domain.errors import InvalidInput, NotFound
from studio.domain.naming import download_name
from studio.media import mp4, trims
from studio.media.storage import MediaStore
from studio.services.admission import Admission
from studio.services.editor import Editor
from studio.store import library
from studio.store.database import Database
from studio.store.rows import Video
from studio.store.search import VideoPage

logger = logging.getLogger(__name__)
DOWNLOADS = "downloads"  # in the local media folder: each video's MP4 linked under its download name
MAX_QUERY_CHARS = 500  # a search longer than this is refused before the database sees it
# How long a direct link to a remote store's file works: a viewer can open a page, wait, then play and seek a clip
# of a few seconds; a link that leaked, or that a revoked share handed out, stops working soon after.
DIRECT_URL_SECONDS = 900


class MediaMissing(NotFound):
    """A video's row names a file the media store does not hold."""


class Videos:
    """The studio's videos: rows, their files, and edits that make new ones (the originals never change)."""

    def __init__(
        self, *, db: Database, media: MediaStore, editor: Editor, admission: Admission, redirect: bool = False
    ) -> None:
        self.db = db
        self.media = media
        self.redirect = redirect  # a remote store's files: a redirect to the store (else this server sends them)
        self.editor = editor
        self.admission = admission

    # -- reading ---------------------------------------------------------------------------------

    def search(
        self,
        query: str = "",
        *,
        model: str | None = None,
        favorite: bool | None = None,
        limit: int = 24,
        offset: int = 0,
        comparison: bool | None = None,
        image_to_video: bool | None = None,
    ) -> VideoPage:
        """One page of the history, newest first, matching words of the prompt or negative prompt.

        Raises:
            InvalidInput: field "q" (the search) longer than MAX_QUERY_CHARS.
        """
        if len(query) > MAX_QUERY_CHARS:
            raise InvalidInput("q", f"{len(query)} characters is over the limit of {MAX_QUERY_CHARS}")
        with self.db.read() as session:
            return library.search(
                session=session,
                query=query,
                model=model,
                favorite=favorite,
                limit=limit,
                offset=offset,
                comparison=comparison,
                image_to_video=image_to_video,
            )

    def models(self) -> list[str]:
        """The models that made at least one video (the choices of the history's model filter)."""
        with self.db.read() as session:
            return library.models(session=session)

    def recent(self, limit: int = 12) -> list[Video]:
        with self.db.read() as session:
            return library.recent(session=session, limit=limit)

    def get(self, video_id: int) -> Video:
        """Raises VideoNotFound."""
        with self.db.read() as session:
            return library.get(session=session, video_id=video_id)

    def file(self, video: Video) -> Path:
        """A local copy of the video's MP4 (its key comes from the row, never from a request).

        Where it would be when the store lacks it: the players and the API check for the file, as they always did.
        """
        return self.media.local_path(video.path, missing_ok=True)

    def download_file(self, video: Video) -> Path:
        """The video's MP4 under the name a download should get ("wan-0042-seed1234-red-fox.mp4", naming.download_name).

        Gradio's download button names the file after its path, so this is a hard link (a copy where links are not
        possible) at `downloads/<id>/<name>` in the local media folder, the one folder Gradio serves; `delete` removes
        it with the video. Where the store lacks the file, the path of the missing MP4 (as `file`).
        """
        source = self.file(video)
        target = self.media.local_dir / DOWNLOADS / str(video.id) / download_name(video.id, video.seed, video.prompt)
        if target.is_file() or not source.is_file():
            return target if target.is_file() else source
        target.parent.mkdir(parents=True, exist_ok=True)
        scratch = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}")
        try:
            os.link(source, scratch)
        except OSError:
            shutil.copyfile(source, scratch)
        os.replace(scratch, target)
        return target

    def poster(self, video: Video) -> Path | None:
        return self.media.local_path(video.poster_path, missing_ok=True) if video.poster_path else None

    @property
    def media_is_remote(self) -> bool:
        """Whether browsers get the files from the store itself (`media_url` s3://… and `media_redirect`), not from
        this server (which otherwise sends them from its local copy, fetched from the store on first use)."""
        return self.media.is_remote and self.redirect

    def direct_url(self, video: Video, which: Literal["file", "poster"], *, download_name: str | None = None) -> str:
        """A direct link to a remote store's MP4 or poster, good for DIRECT_URL_SECONDS; players may send `Range`.

        Only for a remote store (`media_is_remote`). `download_name` is the file name a browser saves it as.

        Raises:
            MediaMissing: the video has no poster, or the store does not hold the file.
        """
        key = video.path if which == "file" else video.poster_path
        if key is None:
            raise MediaMissing("video_id", f"video {video.id} has no {which}")
        if not self.media.exists(key):  # a HEAD request: a 404 here beats a player's opaque error at the store
            raise MediaMissing("video_id", f"the {which} of video {video.id} is missing from the media store")
        url = self.media.presigned_url(key, expires_s=DIRECT_URL_SECONDS, download_name=download_name)
        if url is None:
            raise ValueError("direct_url: the media store is local; serve file() or poster()")
        return url

    def direct_url_origin(self) -> str | None:
        """Where direct links point (scheme://host[:port]): a page that plays them must allow it. None: local."""
        return self.media.url_origin if self.media_is_remote else None

    def of_group(self, group_id: str) -> list[Video]:
        """The group's generated videos (not its exported comparison), in the order their seeds were submitted."""
        return self.editor.group_videos(group_id)

    def exports_of_group(self, group_id: str) -> list[Video]:
        """Comparison videos exported from a group, oldest first."""
        with self.db.read() as session:
            return library.group(session=session, group_id=group_id, kind="comparison")

    def plan_trim(self, video_id: int, *, start_s: float, end_s: float) -> trims.TrimPlan:
        """The frames a trim between two points would keep (nothing is written).

        Raises:
            VideoNotFound; InvalidInput: field "start_s" or "end_s".
        """
        video = self.get(video_id)
        return trims.plan_trim(start_s=start_s, end_s=end_s, fps=video.fps, num_frames=video.num_frames)

    @staticmethod
    def read_recipe(upload: Path) -> dict[str, Any] | None:
        """The recipe an uploaded MP4 carries (None: not made by this studio). The caller names only uploads.

        Raises:
            InvalidInput: field "file": not a video this studio can read, or a recipe too large or too deep.
        """
        try:
            return mp4.read_recipe(upload)
        except (ValueError, FileNotFoundError) as exc:
            # A person sees this: a short reason, never ffmpeg's log or the server's temp paths (the log keeps them).
            logger.info("reading the recipe of an upload failed: %s", exc)
            reason = exc.reason if isinstance(exc, mp4.UnreadableVideo) else "the upload could not be read"
            raise InvalidInput("file", f"This file is not a playable MP4 made by Wan Studio ({reason})") from exc

    # -- changing --------------------------------------------------------------------------------

    def set_favorite(self, video_id: int, favorite: bool) -> Video:
        """Raises VideoNotFound."""
        with self.db.write() as session:
            return library.set_favorite(session=session, video_id=video_id, favorite=favorite)

    def delete(self, video_id: int) -> None:
        """Delete a video's row, MP4 and poster as one unit (library.delete).

        Only that video goes: the other videos of its group, comparisons already exported from it (files of their
        own) and its trimmed copies (their parent_id becomes NULL) stay. A trim of it that is still being written
        fails with VideoNotFound and saves nothing; an export reading it either finishes from the file ffmpeg has
        open or fails with InvalidInput, and saves nothing half-made.

        Raises:
            VideoNotFound: no video with that id.
        """
        with self.db.write() as session:
            library.delete(session=session, store=self.media, video_id=video_id)
        # Its named download link holds the MP4's bytes too: it goes with the video.
        shutil.rmtree(self.media.local_dir / DOWNLOADS / str(video_id), ignore_errors=True)

    def trim(
        self, video_id: int, *, start_s: float, end_s: float, lossless: bool = False, owner: str | None = None
    ) -> Video:
        """Save part of a video as a new video linked to it (see Editor.trim); admitted as an edit.

        Raises: as Editor.trim, plus RateLimited (too many edits by `owner`) and OutOfSpace.
        """
        self.admission.admit_edit(owner)
        return self.editor.trim(video_id, start_s=start_s, end_s=end_s, lossless=lossless)

    def export_group(self, group_id: str, *, owner: str | None = None) -> Video:
        """Tile the group's videos into one labelled comparison (see Editor.export_group); admitted as an edit."""
        self.admission.admit_edit(owner)
        return self.editor.export_group(group_id)

    def export_picked(self, video_ids: list[int], *, owner: str | None = None) -> Video:
        """Tile 2–4 history videos into one comparison (see Editor.export_videos); admitted as an edit."""
        self.admission.admit_edit(owner)
        return self.editor.export_videos(video_ids)
