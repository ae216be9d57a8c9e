"""Edits that make new videos from stored ones: trims and tiled comparisons. Sources are only ever read.

Sources are read from local copies (a remote store downloads them into its cache first); the new files are encoded
locally, then published to the media store with their row (studio.store.library.add).
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import numpy as np

from studio.domain import axes, comparisons
from studio.domain.errors import InvalidInput
from studio.domain.recipe import Recipe
from studio.media import content_check, mp4, tiles, trims
from studio.media.storage import MediaStore
from studio.services.grids import read_grid
from studio.store import grids, jobs, library
from studio.store.database import Database
from studio.store.rows import Video


class Editor:
    """Writes edited copies into the history (new rows and files; the originals never change)."""

    def __init__(
        self, *, db: Database, media: MediaStore, content_check: content_check.ContentChecker | None = None
    ) -> None:
        self.db = db
        self.media = media
        self.content_check = content_check

    def _verdict(self, path: Path, sources: list[Video]) -> content_check.Verdict | None:
        """An edit's content verdict: its own frames', raised to its sources' (a cut of a flagged video stays so)."""
        own = self.content_check.check_video(path) if self.content_check else None
        return content_check.for_edit(own, sources)

    def group_videos(self, group_id: str) -> list[Video]:
        """The group's generated videos (not its exported comparison), in the order their seeds were submitted."""
        with self.db.read() as session:
            seeds = [job.seed for job in jobs.group(session=session, group_id=group_id)]
            videos = library.group(session=session, group_id=group_id, kind="generated")
        return [videos[k] for k in comparisons.seed_order(seeds, [video.seed for video in videos])]

    def export_group(self, group_id: str) -> Video:
        """Tile the group's videos into one labelled comparison ("seed N"), saved with kind "comparison".

        Raises:
            InvalidInput: field "group_id": no such group, a job of the group has not finished, or fewer than 2 or
                more than 8 videos were made.
        """
        # 1. Every job of the group has ended, and at least two made a video
        with self.db.read() as session:
            group_jobs = jobs.group(session=session, group_id=group_id)
            is_grid = grids.find(session=session, group_id=group_id) is not None
        if is_grid:
            return self.export_grid(group_id)
        members = self.group_videos(group_id)
        if not group_jobs and not members:
            raise InvalidInput("group_id", f"no job or video belongs to group {group_id!r}")
        waiting = [job for job in group_jobs if not job.status.is_final]
        if waiting:
            raise InvalidInput(
                "group_id", f"{len(waiting)} of its {len(group_jobs)} jobs have not finished; export once they have"
            )
        if not comparisons.MIN_SEEDS <= len(members) <= comparisons.MAX_SEEDS:
            raise InvalidInput(
                "group_id",
                f"a comparison takes {comparisons.MIN_SEEDS}–{comparisons.MAX_SEEDS} finished videos; this group has "
                f"{len(members)}",
            )
        # 2. Tile and save
        labels = [comparisons.group_label(video.seed) for video in members]
        info = comparisons.comparison_info(
            group_id=group_id, seeds=[v.seed for v in members], video_ids=[v.id for v in members]
        )
        return self._save_comparison(members, labels, info, group_id=group_id)

    def export_videos(self, video_ids: list[int]) -> Video:
        """Tile 2–4 videos picked from the history into one comparison ("seed N · #id"); it belongs to no group.

        Raises:
            InvalidInput: field "video_ids": fewer than 2 or more than 4 ids, or one given twice.
            VideoNotFound: an id names no video.
        """
        if not comparisons.MIN_SEEDS <= len(video_ids) <= comparisons.MAX_PICKED:
            raise InvalidInput(
                "video_ids",
                f"pick {comparisons.MIN_SEEDS}–{comparisons.MAX_PICKED} videos to compare (got {len(video_ids)})",
            )
        twice = next((video_id for n, video_id in enumerate(video_ids) if video_id in video_ids[:n]), None)
        if twice is not None:
            raise InvalidInput("video_ids", f"video {twice} is picked twice; pick each video once")
        with self.db.read() as session:
            members = [library.get(session=session, video_id=video_id) for video_id in video_ids]
        labels = [comparisons.picked_label(video.seed, video.id) for video in members]
        info = comparisons.comparison_info(group_id=None, seeds=[v.seed for v in members], video_ids=list(video_ids))
        return self._save_comparison(members, labels, info, group_id=None)

    def export_grid(self, group_id: str) -> Video:
        """Tile an X/Y comparison's cells as its grid (rows × columns), each labelled with the values it differs by.

        Its recipe records the axes and every cell's video (axes.grid_info), so importing it rebuilds the comparison.

        Raises:
            InvalidInput: field "group_id": a cell is still running, or ended without a video (retry it first).
        """
        grid = read_grid(self.db, group_id)
        if grid is None:
            raise InvalidInput("group_id", f"no comparison {group_id!r}")
        if not grid.is_final:
            waiting = sum(1 for cell in grid.cells if cell.job is not None and not cell.job.is_final)
            raise InvalidInput("group_id", f"{waiting} of its {len(grid.cells)} cells have not finished; export then")
        missing = [cell.label for cell in grid.cells if cell.video is None]
        if missing:
            raise InvalidInput("group_id", f"{', '.join(missing)} made no video; retry those cells, then export")
        members = [cell.video for cell in grid.cells if cell.video is not None]
        labels = [cell.label for cell in grid.cells]
        info = axes.grid_info(group_id, grid.x, grid.y, [(c.x, c.y, c.video.id) for c in grid.cells if c.video])
        shape = (grid.rows, grid.cols) if grid.y is not None else None
        headers = (list(grid.x.labels), list(grid.y.labels)) if grid.y is not None else None
        return self._save_comparison(members, labels, info, group_id=group_id, shape=shape, headers=headers)

    def _save_comparison(
        self,
        members: list[Video],
        labels: list[str],
        info: dict[str, Any],
        *,
        group_id: str | None,
        shape: tuple[int, int] | None = None,
        headers: tuple[list[str], list[str]] | None = None,
    ) -> Video:
        # The recipe is the first clip's (its generation settings, without any edit of it) plus what was tiled.
        first = Recipe.from_dict(members[0].recipe)
        stored = {**first.to_dict(), **info}
        sources = [self._source(video) for video in members]
        video_tmp, poster_tmp = self._incoming("comparison")
        try:
            tiled = tiles.tile(sources, labels, video_tmp, recipe=stored, shape=shape, headers=headers)
            mp4.write_poster(_first_frame(video_tmp), poster_tmp)
            row_recipe = dataclasses.replace(first, width=tiled.width, height=tiled.height, num_frames=tiled.num_frames)
            return self._save(video_tmp, poster_tmp, row_recipe, stored, members, group_id=group_id, kind="comparison")
        finally:
            video_tmp.unlink(missing_ok=True)
            poster_tmp.unlink(missing_ok=True)

    def trim(self, video_id: int, *, start_s: float, end_s: float, lossless: bool = False) -> Video:
        """Save the part of a video between two points as a new video (kind "trim", parent_id = `video_id`).

        The source file is only read. Frame-accurate by default; `lossless` copies the H.264 packets instead, and
        the cut then lands on the frames around the points that can be copied (see edits.trim): the MP4's recipe
        records the plan and where the cut landed, and the row's frames and duration are those of the new file.

        Raises:
            VideoNotFound: no video with that id (also when it is deleted before the copy is saved).
            InvalidInput: field "source" when its file is missing on disk (nothing is written), "start_s"/"end_s" for a
                bad range.
        """
        # 1. The source: its row, and its file, which is only ever read
        with self.db.read() as session:
            parent = library.get(session=session, video_id=video_id)
        source = self._source(parent)
        video_tmp, poster_tmp = self._incoming(f"trim-{video_id}")
        cut = video_tmp.with_name(f"cut-{video_tmp.name}")
        try:
            # 2. Cut, carrying the recipe of a cut that lands on the plan (a frame-accurate one always does)
            plan = trims.plan_trim(start_s=start_s, end_s=end_s, fps=parent.fps, num_frames=parent.num_frames)
            planned = _trimmed_recipe(parent, plan, lossless=lossless, landed=(plan.start_s, plan.end_s))
            result = trims.trim(source, cut, start_s=start_s, end_s=end_s, lossless=lossless, recipe=planned)
            written = result.info
            stored = _trimmed_recipe(
                parent, result.plan, lossless=lossless, landed=(result.actual_start_s, result.actual_end_s)
            )
            if stored == planned:
                os.replace(cut, video_tmp)
            else:
                # A lossless cut landed on the copyable frames around the points, known only now: a stream copy of
                # the whole cut (no frame changes) puts the recipe that says so on it.
                end_of_cut = written.num_frames / written.fps
                trims.trim(cut, video_tmp, start_s=0.0, end_s=end_of_cut, lossless=True, recipe=stored)
            mp4.write_poster(_first_frame(video_tmp), poster_tmp)

            # 3. Save: the row describes the new file; the parent must still exist when it is saved
            row_recipe = dataclasses.replace(
                Recipe.from_dict(parent.recipe),
                width=written.width,
                height=written.height,
                num_frames=written.num_frames,
            )
            return self._save(video_tmp, poster_tmp, row_recipe, stored, [parent], parent_id=video_id, kind="trim")
        finally:
            for path in (cut, video_tmp, poster_tmp):
                path.unlink(missing_ok=True)

    def _save(
        self,
        video_file: Path,
        poster_file: Path,
        row_recipe: Recipe,
        stored: dict[str, Any],
        sources: list[Video],
        *,
        kind: str,
        parent_id: int | None = None,
        group_id: str | None = None,
    ) -> Video:
        """Add an edit to the history with its content verdict; every source must still exist when it is saved."""
        verdict = self._verdict(video_file, sources)
        with self.db.write() as session:
            for source in sources:
                library.get(session=session, video_id=source.id)
            video = library.add(
                session=session,
                store=self.media,
                recipe=row_recipe,
                video_file=video_file,
                poster_file=poster_file,
                parent_id=parent_id,
                group_id=group_id,
                kind=kind,
                stored_recipe=stored,
            )
            content_check.apply(video, verdict)
            return video

    def _source(self, video: Video) -> Path:
        """A local copy of a source's MP4; where it would be when the store lacks it (the edit then says so)."""
        return self.media.local_path(video.path, missing_ok=True)

    def _incoming(self, prefix: str) -> tuple[Path, Path]:
        """Fresh temp paths for an edit's MP4 and poster in the local `incoming/` (emptied at startup)."""
        stem = f"{prefix}-{uuid.uuid4().hex[:12]}"
        folder = library.incoming_dir(self.media.local_dir)
        return folder / f"{stem}.mp4", folder / f"{stem}.jpg"


def _trimmed_recipe(
    parent: Video, plan: trims.TrimPlan, *, lossless: bool, landed: tuple[float, float]
) -> dict[str, Any]:
    """What a trim's MP4 and row record: the parent's recipe plus the plan and where the cut landed (seconds)."""
    trim: dict[str, Any] = {
        "parent_id": parent.id,
        "start_s": plan.start_s,
        "end_s": plan.end_s,
        "start_frame": plan.start_frame,
        "end_frame": plan.end_frame,
        "lossless": lossless,
        "actual_start_s": landed[0],
        "actual_end_s": landed[1],
    }
    # A trim of a trim replaces the parent's "trim" (its frames count in the parent): lineage stays flat, in parent_id.
    return {**parent.recipe, "trim": trim}


def _first_frame(path: Path) -> np.ndarray:
    """The first frame of a video as a (1, H, W, 3) uint8 stack, for media.write_poster."""
    reader = imageio_ffmpeg.read_frames(str(path))
    try:
        width, height = next(reader)["size"]
        pixels = next(reader)
    finally:
        reader.close()  # stops ffmpeg: one frame is all we need
    return np.frombuffer(pixels, dtype=np.uint8).reshape(1, height, width, 3)
