"""Studio: the composition root. Settings → database → recovery → worker (which loads the model)."""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path

from studio.config import Settings
from studio.domain import comparisons, destinations
from studio.domain.errors import Unavailable
from studio.domain.preset_types import Preset
from studio.domain.recipe import RecipeRequest, check_length
from studio.engine.contract import Pipeline
from studio.media import content_check, storage
from studio.services import job_queue
from studio.services.admission import Admission
from studio.services.continuation import Joiner, next_clip_request
from studio.services.editor import Editor
from studio.services.grids import Grids
from studio.services.health import FleetState, Health, ModelInfo, studio_model_info
from studio.services.job_queue import JobQueue
from studio.services.job_view import JobView
from studio.services.metrics import Metrics
from studio.services.model_switch import resident_pipeline, studio_pipeline
from studio.services.models import ModelEntry, Models
from studio.services.runners import Runners
from studio.services.shares import Shares
from studio.services.start_images import StartImages
from studio.services.updates import Updates
from studio.services.videos import Videos
from studio.services.worker import ModelState, Worker, should_batch_seeds
from studio.store.database import Database
from studio.store.rows import JobStatus, Video

log = logging.getLogger(__name__)


class Studio:
    """The facade: the UI, the API and MCP talk only to this (jobs here; `videos` and `shares` for the history).

    Owns the database, the worker (with the resident pipeline) and the limits.
    """

    def __init__(self, settings: Settings, *, preset: Preset, pipeline: Pipeline | None = None) -> None:
        self.settings = settings
        self.preset = preset
        self.media_dir: Path = settings.media_dir
        self.media = storage.open_store(settings)  # the videos' files: media_dir itself, or a bucket it caches
        self.db = Database(settings.resolved_database_url)
        self.models = Models(settings, own=preset, updates=Updates())  # the Models page: presets, cache, downloads
        pipeline, switchable = studio_pipeline(settings, preset, pipeline, on_progress=self.models.report)
        self.pipeline = pipeline  # None: this process runs no jobs (a fleet server, `--workers 0`)
        self.metrics = Metrics(self.job_counts, functools.partial(job_queue.queued_by_model, self.db))
        self.job_end_listeners: list[Callable[[int], None]] = []  # e.g. the REST API's callbacks
        self.admission = Admission(
            settings, media_dir=self.media_dir, retry_after=functools.partial(job_queue.retry_after_s, self.db)
        )
        self.callback_allow = destinations.parse_allow_list(settings.callback_allow)
        self.content = content_check.ContentChecker.from_settings(settings)
        self.worker: Worker | None = None
        if pipeline is not None:
            self.worker = Worker(
                db=self.db,
                pipeline=pipeline,
                media=self.media,
                metrics=self.metrics,
                on_job_end=self._job_ended,
                content_check=self.content,
                batch=should_batch_seeds(settings, pipeline) and not settings.uses_fleet,
                model=preset.key,
                pipeline_for=self._pipeline_for if switchable else None,
            )
        self.runners = Runners(settings=settings, model=preset.key, db=self.db, worker=self.worker)
        self.updates = self.runners.updates
        self.engine = self.runners.engine  # the fleet's job engine (Postgres), else None
        self.fleet_worker = self.runners.fleet_worker
        self.queue = JobQueue(db=self.db, admission=self.admission, runners=self.runners)  # the jobs section delegates
        self.editor = Editor(db=self.db, media=self.media, content_check=self.content)
        self.videos = Videos(
            db=self.db, media=self.media, editor=self.editor, admission=self.admission, redirect=settings.media_redirect
        )
        self.shares = Shares(db=self.db)
        self.grids = Grids(db=self.db, preset=preset, admission=self.admission, hand_over=self.runners.hand_over)
        # Image-to-video: start/end images by content hash; Continue and Join (studio.services.continuation)
        self.images = StartImages(db=self.db, media=self.media, max_upload_bytes=settings.max_upload_mb * 2**20)
        self.joiner = Joiner(db=self.db, media=self.media, content=self.content)
        runner = getattr(pipeline, "inner", pipeline)  # ZeroGpuPipeline runs its inner pipeline in a forked process
        if runner is not None and hasattr(runner, "image_source"):
            runner.image_source = self.images.source()
        self.interrupted_at_start: list[int] = []
        self._opened = self._started = self._stopped = False
        self.public_link: str | None = None  # set by app.py when --share opens (or fails to open) a link

    def _pipeline_for(self, key: str) -> Pipeline:
        """A new (unloaded) resident pipeline for another model: the worker switches to it."""
        return resident_pipeline(self.settings, self.models.get(key), on_progress=self.models.report)

    def open(self) -> None:
        """Migrate the database and recover from the last run (a restart is a normal event); nothing starts running.

        The web app opens the studio before it builds the UI (whose first values come from the database); opening an
        open studio does nothing.
        """
        if self._opened:
            return
        self._opened = True
        # 1. Schema
        self.media_dir.mkdir(parents=True, exist_ok=True)
        self.db.upgrade()
        # 2. Recovery: jobs left running are interrupted (one process owning the queue); files without a row set aside
        self.interrupted_at_start = self.runners.recover(self.media)
        if self.interrupted_at_start:
            log.warning("jobs interrupted by the last shutdown: %s", self.interrupted_at_start)

    def start(self) -> None:
        """Open the studio, then start the worker (the model loads in the background) or join the fleet.

        Starting a started studio does nothing (the API's lifespan starts it; tests may have already).
        """
        if self._started:
            return
        self.open()
        self._started = True
        self.runners.start()

    def stop(self) -> None:
        """Stop the worker after its current job and close the database; a second stop does nothing."""
        if not self._started or self._stopped:
            return
        self._stopped = True
        self.runners.stop()
        self.db.dispose()

    # -- model ---------------------------------------------------------------------------------

    @property
    def model_state(self) -> ModelState:
        return self.model_info().state

    @property
    def model_error(self) -> str | None:
        return self.model_info().error

    def model_info(self) -> ModelInfo:
        """The model, its state and how its pipeline runs (the model line): this process's worker, or the fleet's."""
        return studio_model_info(preset=self.preset, models=self.models, worker=self.worker, db=self.db)

    def health(self) -> Health:
        """The model, the worker, the queue and (Postgres) the fleet in one value: what /health shows."""
        fleet_state = FleetState.read(self.db, self.preset.key) if self.engine is not None else None
        queue_depth = self.job_counts().get(JobStatus.QUEUED, 0)
        return Health.of(self.model_info(), self.worker, queue_depth=queue_depth, fleet=fleet_state)

    # -- models (the Models page) ----------------------------------------------------------------

    @property
    def loaded_model(self) -> str | None:
        """The model this process's worker holds (or is loading); None without a worker."""
        return self.worker.model if self.worker is not None else None

    def model_list(self) -> list[ModelEntry]:
        """Every model the studio knows, with its cache state and any transfer in progress."""
        return [self.model_entry(preset.key) for preset in self.models.presets()]

    def model_entry(self, key: str) -> ModelEntry:
        """Raises NotFound (field "model") for an unknown key."""
        return self.models.live_entry(key, worker=self.worker, next_model=self.preset.key)

    def download_model(self, key: str) -> ModelEntry:
        """Fetch a hub model into the cache in the background (Conflict: not a hub model, or already downloading)."""
        self.models.download(key)
        return self.model_entry(key)

    def delete_model(self, key: str) -> ModelEntry:
        """Remove a hub model from the cache (Conflict: it is loaded, downloading, or not a hub model)."""
        self.models.delete(key, loaded=self.loaded_model)
        return self.model_entry(key)

    def use_model(self, key: str) -> ModelEntry:
        """Make `key` the model new jobs are made for and load it in place of the resident one.

        Jobs already queued keep their own model: the worker switches when the next one in line needs another.

        Raises:
            NotFound: no such model. Unavailable: this process cannot switch (a fleet server, a fleet worker).
        """
        preset = self.models.get(key)
        if self.worker is None or self.worker.pipeline_for is None:
            raise Unavailable(
                "switching models needs the single-process studio (a fleet worker serves the model it started with)",
                field="model",
            )
        self.preset = preset
        self.grids.preset = preset  # new comparisons are built for the chosen model too
        self.worker.request_model(key)
        return self.model_entry(key)

    def count_tokens(self, text: str) -> int | None:
        """Tokens the text encoder sees, once the model is loaded (None before).

        Raises:
            InvalidInput: field "prompt": longer than any prompt may be; nothing was tokenized.
        """
        check_length("prompt", text)
        return self.worker.count_tokens(text) if self.worker is not None else None  # None: no model here (fleet server)

    # -- jobs ----------------------------------------------------------------------------------

    def submit(self, request: RecipeRequest, *, callback_url: str | None = None, owner: str | None = None) -> JobView:
        """Validate, persist and queue a job; returns at once. `owner` ("user:…", "ip:…") is rate-limited.

        Raises:
            InvalidInput: bad input, naming the field and the allowed range (a callback_url that may not be called too).
            QueueFull: `max_queued` jobs are already waiting (RateLimited: this owner is over its limits).
            OutOfSpace: the media disk is nearly full.
        """
        recipe = self.images.build_recipe(request, self.preset)
        if callback_url is not None:
            destinations.check_url(callback_url, self.callback_allow)
        return self.queue.submit(recipe, callback_url=callback_url, owner=owner)

    def submit_group(
        self, request: RecipeRequest, seeds: list[int], *, owner: str | None = None
    ) -> tuple[str, list[JobView]]:
        """Queue one job per seed, all with `request`'s other settings, under a new group id; all or none.

        Returns the group id and the jobs in seed order.

        Raises:
            InvalidInput: bad input (field "seeds" for the seeds: 2–8, each 0…MAX_SEED and each once).
            QueueFull: the queue has no room for every job of the group; none was queued.
            OutOfSpace: the media disk is nearly full.
        """
        # Validate everything before touching the queue
        comparisons.check_seeds(seeds)
        recipes = [self.images.build_recipe(dataclasses.replace(request, seed=seed), self.preset) for seed in seeds]
        return self.queue.submit_group(recipes, owner=owner)

    def compare(
        self,
        request: RecipeRequest,
        *,
        mode: comparisons.SeedMode,
        seeds: str | Sequence[int] = "",
        count: int = 4,
        start: int = 0,
        owner: str | None = None,
    ) -> tuple[str, list[JobView]]:
        """A seed comparison: the seeds `mode` gives (comparisons.seeds_for) queued as one group (submit_group).

        Raises: as comparisons.seeds_for ("seeds", "count", "start", "mode") and submit_group.
        """
        chosen = comparisons.seeds_for(mode, seeds=seeds, count=count, start=start)
        return self.submit_group(request, chosen, owner=owner)

    def owed_callbacks(self, *, within: timedelta) -> list[int]:
        """Jobs that ended in the last `within` whose callback was never delivered or given up (a restart cut it)."""
        return self.queue.owed_callbacks(within=within)

    def claim_callback(self, job_id: int) -> bool:
        """Whether this process sends the job's callback: always alone; in the fleet, the one server that claims it."""
        return self.queue.claim_callback(job_id)

    def callback_done(self, job_id: int) -> None:
        self.queue.callback_done(job_id)

    def metrics_text(self) -> bytes:
        """The Prometheus exposition of the studio's metrics."""
        return self.metrics.render()

    def job_counts(self) -> dict[JobStatus, int]:
        return job_queue.count_by_status(self.db)

    def _job_ended(self, job_id: int) -> None:
        for listener in self.job_end_listeners:
            try:
                listener(job_id)
            except Exception:
                log.exception("job-end listener failed for job %s", job_id)

    def cancel(self, job_id: int) -> JobView:
        """A queued job is canceled at once; a running one stops before its next transformer block."""
        return self.queue.cancel(job_id)

    def wait(self, job_id: int, *, timeout: float, since: JobView | None = None) -> JobView:
        """The job once it differs from `since` (or is final), or as it is after `timeout` seconds.

        Wakes on the worker's updates in this process and re-reads the row at least every 0.5 s, so jobs run by
        another process sharing the database are followed too.
        """
        return self.queue.wait(job_id, timeout=timeout, since=since)

    async def wait_async(self, job_id: int, *, timeout: float, since: JobView | None = None) -> JobView:
        """`wait` for the event loop: holds no thread while it waits (event streams, /generate, the UI's followers)."""
        return await self.queue.wait_async(job_id, timeout=timeout, since=since)

    def retry(self, job_id: int, *, owner: str | None = None) -> JobView:
        """Queue a failed, interrupted or canceled job again, admitted like any new job of `owner`.

        Raises:
            JobNotFound, InvalidTransition: no such job, or one that cannot be retried.
            QueueFull / RateLimited / OutOfSpace: as `submit`.
        """
        return self.queue.retry(job_id, owner=owner)

    def job(self, job_id: int) -> JobView:
        return self.queue.job(job_id)

    def list_jobs(self, *, status: JobStatus | None = None, limit: int = 50, offset: int = 0) -> list[JobView]:
        return self.queue.list_jobs(status=status, limit=limit, offset=offset)

    # -- seed groups -----------------------------------------------------------------------------

    def group_jobs(self, group_id: str) -> list[JobView]:
        """The jobs of a group (retries included), oldest first; empty for an unknown group."""
        return self.queue.group_jobs(group_id)

    # -- image to video: Continue and Join -------------------------------------------------------

    def continue_video(self, video_id: int, *, owner: str | None = None) -> JobView:
        """Queue the next clip of a video: its last frame as the start image, the same recipe, seed + 1.

        Raises:
            VideoNotFound: no such video. InvalidInput: "start_image" when the model takes no image. As `submit`.
        """
        request = next_clip_request(video_id=video_id, preset=self.preset, videos=self.videos, images=self.images)
        return self.submit(request, owner=owner)

    def join(self, video_id: int, *, owner: str | None = None) -> Video:
        """One MP4 of the chain of continuations ending at `video_id`, saved to the history (kind "join").

        Raises:
            VideoNotFound, InvalidInput ("video_id": not a continuation), RateLimited / OutOfSpace: as edits.
        """
        self.admission.admit_edit(owner)
        return self.joiner.join(video_id)
