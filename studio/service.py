"""Studio: the composition root. Settings → database → recovery → worker (which loads the model)."""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from studio import compare, content, destinations, hosting, jobs, library
from studio.admission import Admission
from studio.config import Settings
from studio.db import Database
from studio.editing import Editor
from studio.generation import Pipeline
from studio.job_view import JobView
from studio.metrics import Metrics
from studio.presets import Preset
from studio.recipe import RecipeError, RecipeRequest, build_recipe, check_length
from studio.records import JobStatus, Video, utcnow
from studio.worker import ModelState, Worker
from studio.zero_gpu import ZeroGpuPipeline

log = logging.getLogger(__name__)


class Studio:
    """Owns the database and the worker; the UI and the API talk only to this."""

    def __init__(self, settings: Settings, *, preset: Preset, pipeline: Pipeline | None = None) -> None:
        self.settings = settings
        self.preset = preset
        self.media_dir: Path = settings.media_dir
        self.db = Database(settings.resolved_database_url)
        if pipeline is None:
            from studio.pipeline import ResidentPipeline

            device = None if settings.device == "auto" else settings.device
            pipeline = ResidentPipeline(
                preset,
                models_dir=settings.models_dir,
                device=device,
                memory_strategy=settings.memory_strategy,
                attention_backend=settings.attention_backend,
                compile_blocks=settings.compile,
                quantize=settings.quantize,
            )
        if hosting.on_zero_gpu():  # a GPU exists only inside spaces.GPU: every job's generation runs through it
            pipeline = ZeroGpuPipeline(pipeline, preset=preset, channel_dir=library.incoming_dir(self.media_dir))
        self.pipeline = pipeline
        self.metrics = Metrics(self.job_counts)
        self.job_end_listeners: list[Callable[[int], None]] = []  # e.g. the REST API's callbacks
        self.admission = Admission(settings, media_dir=self.media_dir, retry_after=self._retry_after)
        self.callback_allow = destinations.parse_allow_list(settings.callback_allow)
        self.content = content.ContentChecker.from_settings(settings)
        self.worker = Worker(
            db=self.db,
            pipeline=pipeline,
            media_dir=self.media_dir,
            metrics=self.metrics,
            on_job_end=self._job_ended,
            content_check=self.content,
            batch=self._batch_seeds(settings, pipeline),
        )
        self.editor = Editor(db=self.db, media_dir=self.media_dir, content_check=self.content)
        self.interrupted_at_start: list[int] = []
        self.public_link: str | None = None  # set by app.py when --share opens (or fails to open) a link

    @staticmethod
    def _batch_seeds(settings: Settings, pipeline: Pipeline) -> bool:
        """Batch a comparison's seeds where that is measured faster: on the CPU (0.66–0.80× the sequential time
        with the tiny models, README Performance). On a GPU it is unmeasured and needs N× the activations: off."""
        if settings.batch_seeds != "auto":
            return settings.batch_seeds == "on"
        return str(getattr(pipeline, "device", "cpu")).startswith("cpu")

    def start(self) -> None:
        """Migrate, recover from the last run, then start the worker (the model loads in the background)."""
        # 1. Schema
        self.media_dir.mkdir(parents=True, exist_ok=True)
        self.db.upgrade()
        # 2. Recovery: a restart is a normal event
        with self.db.write() as session:
            self.interrupted_at_start = jobs.recover_interrupted(session=session)
            library.sweep(session=session, media_dir=self.media_dir)
        if self.interrupted_at_start:
            log.warning("jobs interrupted by the last shutdown: %s", self.interrupted_at_start)
        # 3. Worker
        self.worker.start()

    def stop(self) -> None:
        self.worker.stop()
        self.db.dispose()

    # -- model ---------------------------------------------------------------------------------

    @property
    def model_state(self) -> ModelState:
        return self.worker.state

    @property
    def model_error(self) -> str | None:
        return self.worker.load_error

    def count_tokens(self, text: str) -> int | None:
        """Tokens the text encoder sees, once the model is loaded (None before).

        Raises:
            RecipeError: field "prompt": longer than any prompt may be; nothing was tokenized.
        """
        check_length("prompt", text)
        if self.worker.state is not ModelState.READY:
            return None
        return self.pipeline.count_tokens(text)

    # -- jobs ----------------------------------------------------------------------------------

    def submit(self, request: RecipeRequest, *, callback_url: str | None = None, owner: str | None = None) -> JobView:
        """Validate, persist and queue a job; returns at once. `owner` ("user:…", "ip:…") is rate-limited.

        Raises:
            RecipeError: bad input, naming the field and the allowed range (a callback_url that may not be called too).
            QueueFull: `max_queued` jobs are already waiting (RateLimited: this owner is over its limits).
            OutOfSpace: the media disk is nearly full.
        """
        recipe = build_recipe(request, self.preset)
        if callback_url is not None:
            try:
                destinations.check_url(callback_url, self.callback_allow)
            except destinations.DestinationRefused as exc:
                raise RecipeError("callback_url", str(exc).removeprefix("callback_url: ")) from exc
        with self.db.write() as session:  # the checks and the insert are one transaction: limits hold under load
            self.admission.check_jobs(session, count=1, owner=owner)
            job = jobs.enqueue(session=session, recipe=recipe, callback_url=callback_url, owner=owner)
        self.worker.wake()
        return self.job(job.id)

    def submit_group(
        self, request: RecipeRequest, seeds: list[int], *, owner: str | None = None
    ) -> tuple[str, list[JobView]]:
        """Queue one job per seed, all with `request`'s other settings, under a new group id; all or none.

        Returns the group id and the jobs in seed order.

        Raises:
            RecipeError: bad input (field "seeds" for the seeds: 2–8, each 0…MAX_SEED and each once).
            QueueFull: the queue has no room for every job of the group; none was queued.
            OutOfSpace: the media disk is nearly full.
        """
        # 1. Validate everything before touching the queue
        compare.check_seeds(seeds)
        recipes = [build_recipe(dataclasses.replace(request, seed=seed), self.preset) for seed in seeds]
        group_id = uuid.uuid4().hex
        # 2. One transaction: the room check and every insert, so the cap holds and a group is never half queued
        with self.db.write() as session:
            self.admission.check_jobs(session, count=len(recipes), owner=owner)
            ids = [
                jobs.enqueue(session=session, recipe=recipe, group_id=group_id, owner=owner).id for recipe in recipes
            ]
        self.worker.wake()
        with self.db.read() as session:
            return group_id, [JobView.of(session, jobs.get(session=session, job_id=job_id)) for job_id in ids]

    def owed_callbacks(self, *, within: timedelta) -> list[int]:
        """Jobs that ended in the last `within` whose callback was never delivered or given up (a restart cut it)."""
        with self.db.read() as session:
            return jobs.owed_callbacks(session=session, since=utcnow() - within)

    def callback_done(self, job_id: int) -> None:
        with self.db.write() as session:
            jobs.callback_done(session=session, job_id=job_id)

    def job_counts(self) -> dict[JobStatus, int]:
        with self.db.read() as session:
            return jobs.count_by_status(session=session)

    def _retry_after(self) -> int:
        """Seconds until a queue slot is likely free: one typical recent job (10 s before any has run)."""
        with self.db.read() as session:
            typical = jobs.typical_run_seconds(session=session)
        return max(1, round(typical)) if typical is not None else 10

    def _job_ended(self, job_id: int) -> None:
        for listener in self.job_end_listeners:
            try:
                listener(job_id)
            except Exception:
                log.exception("job-end listener failed for job %s", job_id)

    def cancel(self, job_id: int) -> JobView:
        """A queued job is canceled at once; a running one stops before its next transformer block."""
        with self.db.write() as session:
            running = jobs.request_cancel(session=session, job_id=job_id).status is JobStatus.RUNNING
        if running:
            self.worker.cancel_soon(job_id)
        return self.job(job_id)

    def wait(self, job_id: int, *, timeout: float, since: JobView | None = None) -> JobView:
        """The job once it differs from `since` (or is final), or as it is after `timeout` seconds.

        Wakes on the worker's updates in this process and re-reads the row at least every 0.5 s, so jobs run by
        another process sharing the database are followed too.
        """
        deadline = time.monotonic() + timeout
        while True:
            seen = self.worker.update_count
            view = self.job(job_id)
            left = deadline - time.monotonic()
            if view.is_final or (since is not None and view != since) or left <= 0:
                return view
            self.worker.wait_for_update(seen, min(left, 0.5))

    async def wait_async(self, job_id: int, *, timeout: float, since: JobView | None = None) -> JobView:
        """`wait` for the event loop: holds no thread while it waits (event streams, /generate, the UI's followers)."""
        deadline = time.monotonic() + timeout
        while True:
            seen = self.worker.update_count
            view = self.job(job_id)  # an indexed read of one row: about a millisecond
            left = deadline - time.monotonic()
            if view.is_final or (since is not None and view != since) or left <= 0:
                return view
            await self.worker.wait_for_update_async(seen, min(left, 0.5))

    def retry(self, job_id: int, *, owner: str | None = None) -> JobView:
        """Queue a failed, interrupted or canceled job again, admitted like any new job of `owner`.

        Raises:
            JobNotFound, InvalidTransition: no such job, or one that cannot be retried.
            QueueFull / RateLimited / OutOfSpace: as `submit`.
        """
        with self.db.write() as session:
            self.admission.check_jobs(session, count=1, owner=owner)
            job = jobs.retry(session=session, job_id=job_id, owner=owner)
        self.worker.wake()
        return self.job(job.id)

    def job(self, job_id: int) -> JobView:
        with self.db.read() as session:
            job = jobs.get(session=session, job_id=job_id)
            return JobView.of(session, job)

    def list_jobs(self, *, status: JobStatus | None = None, limit: int = 50, offset: int = 0) -> list[JobView]:
        with self.db.read() as session:
            found = jobs.list_jobs(session=session, status=status, limit=limit, offset=offset)
            return [JobView.of(session, job) for job in found]

    # -- videos --------------------------------------------------------------------------------

    def recent_videos(self, limit: int = 12) -> list[Video]:
        with self.db.read() as session:
            return library.recent(session=session, limit=limit)

    def video_file(self, video: Video) -> Path:
        return library.file_path(self.media_dir, video.path)

    def video(self, video_id: int) -> Video:
        """Raises VideoNotFound."""
        with self.db.read() as session:
            return library.get(session=session, video_id=video_id)

    def set_favorite(self, video_id: int, favorite: bool) -> Video:
        """Raises VideoNotFound."""
        with self.db.write() as session:
            return library.set_favorite(session=session, video_id=video_id, favorite=favorite)

    def delete_video(self, video_id: int) -> None:
        """Delete a video's row, MP4 and poster as one unit (library.delete).

        Only that video goes: the other videos of its group, comparisons already exported from it (files of their
        own) and its trimmed copies (their parent_id becomes NULL) stay. A trim of it that is still being written
        fails with VideoNotFound and saves nothing; an export reading it either finishes from the file ffmpeg has
        open or fails with EditError, and saves nothing half-made.

        Raises:
            VideoNotFound: no video with that id.
        """
        with self.db.write() as session:
            library.delete(session=session, media_dir=self.media_dir, video_id=video_id)

    # -- seed groups -----------------------------------------------------------------------------

    def group_jobs(self, group_id: str) -> list[JobView]:
        """The jobs of a group (retries included), oldest first; empty for an unknown group."""
        with self.db.read() as session:
            return [JobView.of(session, job) for job in jobs.group(session=session, group_id=group_id)]

    def group_videos(self, group_id: str) -> list[Video]:
        """The group's generated videos (not its exported comparison), in the order their seeds were submitted."""
        return self.editor.group_videos(group_id)

    def export_group(self, group_id: str, *, owner: str | None = None) -> Video:
        """Tile the group's videos into one labelled comparison (see Editor.export_group); admitted as an edit."""
        self.admission.admit_edit(owner)
        return self.editor.export_group(group_id)

    def export_videos(self, video_ids: list[int], *, owner: str | None = None) -> Video:
        """Tile 2–4 history videos into one comparison (see Editor.export_videos); admitted as an edit."""
        self.admission.admit_edit(owner)
        return self.editor.export_videos(video_ids)

    def trim(
        self, video_id: int, *, start_s: float, end_s: float, lossless: bool = False, owner: str | None = None
    ) -> Video:
        """Save part of a video as a new video linked to it (see Editor.trim); admitted as an edit.

        Raises: as Editor.trim, plus RateLimited (too many edits by `owner`) and OutOfSpace.
        """
        self.admission.admit_edit(owner)
        return self.editor.trim(video_id, start_s=start_s, end_s=end_s, lossless=lossless)
