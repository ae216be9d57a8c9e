"""JobView: a snapshot of a job for the surfaces (UI, API), made from its row in one session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from studio.domain.recipe import Recipe
from studio.store import jobs, library
from studio.store.rows import TIMINGS, Job, JobStatus, Video


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
    group_id: str | None = None  # set for the jobs of a seed comparison (`Studio.submit_group`)
    waiting_for: str | None = None  # fleet: a queued job's model has no live worker ("waiting for a worker …")

    @property
    def is_final(self) -> bool:
        return self.status.is_final

    @classmethod
    def of(cls, session: Session, job: Job, *, served: set[str] | None = None) -> JobView:
        """The view of `job`, read in `session` (its queue position and video included).

        `served`: in the fleet, the models some live worker serves; a queued job of another model says so.
        """
        waiting_for = None
        if served is not None and job.status is JobStatus.QUEUED and job.model not in served:
            waiting_for = f"waiting for a worker that serves {job.model}"
        return cls(
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
            timings={name: getattr(job, name) for name in TIMINGS},
            callback_url=job.callback_url,
            group_id=job.group_id,
            waiting_for=waiting_for,
        )
