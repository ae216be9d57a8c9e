"""The history as the surfaces use it: search, read, favorite, delete, trim, export, and recipes read from MP4s.

Part of the facade: `studio.videos`. Every operation opens its own transaction; edits pass the same admission as
jobs (edits per hour, free disk).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from studio.domain.errors import InvalidInput
from studio.media import mp4, trims
from studio.services.admission import Admission
from studio.services.editor import Editor
from studio.store import library
from studio.store.database import Database
from studio.store.rows import Video
from studio.store.search import VideoPage

MAX_QUERY_CHARS = 500  # a search longer than this is refused before the database sees it


class Videos:
    """The studio's videos: rows, their files, and edits that make new ones (the originals never change)."""

    def __init__(self, *, db: Database, media_dir: Path, editor: Editor, admission: Admission) -> None:
        self.db = db
        self.media_dir = media_dir
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
    ) -> VideoPage:
        """One page of the history, newest first, matching words of the prompt or negative prompt.

        Raises:
            InvalidInput: field "q" (the search) longer than MAX_QUERY_CHARS.
        """
        if len(query) > MAX_QUERY_CHARS:
            raise InvalidInput("q", f"{len(query)} characters is over the limit of {MAX_QUERY_CHARS}")
        with self.db.read() as session:
            return library.search(
                session=session, query=query, model=model, favorite=favorite, limit=limit, offset=offset
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
        """The video's MP4 (its path comes from the row, never from a request)."""
        return library.file_path(self.media_dir, video.path)

    def poster(self, video: Video) -> Path | None:
        return library.file_path(self.media_dir, video.poster_path) if video.poster_path else None

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
            raise InvalidInput("file", "not a video this studio can read, or its recipe is malformed") from exc

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
            library.delete(session=session, media_dir=self.media_dir, video_id=video_id)

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
