"""Studio: the composition root. Settings → database → recovery → worker (which loads the model)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from studio import jobs, library
from studio.config import Settings
from studio.db import Database
from studio.generation import Pipeline
from studio.metrics import Metrics
from studio.presets import Preset
from studio.recipe import Recipe, RecipeRequest, build_recipe
from studio.records import Job, JobStatus, Video
from studio.worker import ModelState, Worker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobView:
    """A snapshot of a job for the surfaces (UI, API): plain values, no session attached."""

    id: int
    status: JobStatus
    recipe: Recipe
    step: int
    total_steps: int
    progress: float
    eta_s: float | None
    error: str | None
    error_kind: str | None
    queue_position: int | None
    video: Video | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    timings: dict[str, float | None]
    callback_url: str | None

    @property
    def is_final(self) -> bool:
        return self.status.is_final


class QueueFull(RuntimeError):
    """The queue holds `max_queued` jobs already; try again after `retry_after_s`."""

    def __init__(self, queued: int, retry_after_s: int) -> None:
        super().__init__(f"the queue is full ({queued} jobs waiting); try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s


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
            pipeline = ResidentPipeline(preset, models_dir=settings.models_dir, device=device)
        self.pipeline = pipeline
        self.metrics = Metrics(self.job_counts)
        self.job_end_listeners: list[Callable[[int], None]] = []  # e.g. the REST API's callbacks
        self.worker = Worker(
            db=self.db, pipeline=pipeline, media_dir=self.media_dir, metrics=self.metrics, on_job_end=self._job_ended
        )
        self.interrupted_at_start: list[int] = []

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
        """Tokens the text encoder sees, once the model is loaded (None before)."""
        if self.worker.state is not ModelState.READY:
            return None
        return self.pipeline.count_tokens(text)

    # -- jobs ----------------------------------------------------------------------------------

    def submit(self, request: RecipeRequest, *, callback_url: str | None = None) -> JobView:
        """Validate, persist and queue a job; returns at once.

        Raises:
            RecipeError: bad input, naming the field and the allowed range.
            QueueFull: `max_queued` jobs are already waiting.
        """
        recipe = build_recipe(request, self.preset)
        with self.db.write() as session:  # the count and the insert are one transaction: the cap holds under load
            queued = jobs.queued_count(session=session)
            if queued >= self.settings.max_queued:
                raise QueueFull(queued, self._retry_after())
            job = jobs.enqueue(session=session, recipe=recipe, callback_url=callback_url)
        self.worker.wake()
        return self.job(job.id)

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
        with self.db.write() as session:
            jobs.request_cancel(session=session, job_id=job_id)
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

    def retry(self, job_id: int) -> JobView:
        with self.db.write() as session:
            job = jobs.retry(session=session, job_id=job_id)
        self.worker.wake()
        return self.job(job.id)

    def job(self, job_id: int) -> JobView:
        with self.db.read() as session:
            job = jobs.get(session=session, job_id=job_id)
            return self._view(session, job)

    def list_jobs(self, *, status: JobStatus | None = None, limit: int = 50, offset: int = 0) -> list[JobView]:
        with self.db.read() as session:
            found = jobs.list_jobs(session=session, status=status, limit=limit, offset=offset)
            return [self._view(session, job) for job in found]

    @staticmethod
    def _view(session: Session, job: Job) -> JobView:
        return JobView(
            id=job.id,
            status=job.status,
            recipe=Recipe.from_dict(job.recipe),
            step=job.step,
            total_steps=job.total_steps,
            progress=job.progress,
            eta_s=job.eta_s,
            error=job.error,
            error_kind=job.error_kind,
            queue_position=jobs.queue_position(session=session, job=job),
            video=library.for_job(session=session, job_id=job.id) if job.status is JobStatus.SUCCEEDED else None,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            timings={name: getattr(job, name) for name in ("load_s", "denoise_s", "decode_s", "encode_s")},
            callback_url=job.callback_url,
        )

    # -- videos --------------------------------------------------------------------------------

    def recent_videos(self, limit: int = 12) -> list[Video]:
        with self.db.read() as session:
            return library.recent(session=session, limit=limit)

    def video_file(self, video: Video) -> Path:
        return library.file_path(self.media_dir, video.path)
