"""The fleet's side of the store: its workers (a row each, with a heartbeat) and the jobs a dead worker left behind.

Postgres only in practice (the fleet runs on it), but plain SQLAlchemy: the functions also run on SQLite in tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Text, cast, column, delete, exists, func, literal, literal_column, select, table
from sqlalchemy.orm import Session

from studio.store import jobs
from studio.store.rows import FleetWorker, Job, JobStatus, as_utc, utcnow

LIVE_WITHIN_S = 15.0  # a worker whose heartbeat is older than this is not counted as serving its model
FORGET_AFTER = timedelta(days=1)  # rows of workers gone this long are deleted

# The job engine's table (procrastinate's schema, migration 0012), read here only to find jobs it never got.
_ENGINE_JOBS = table("procrastinate_jobs", column("queueing_lock"), column("status"))


def dispatch_lock(job_id: int) -> str:
    """The engine's queueing lock for a job: one waiting entry per job, however often it is handed over."""
    return f"job-{job_id}"


@dataclass(frozen=True)
class WorkerView:
    """One worker of the fleet as /health shows it."""

    name: str
    model: str
    device: str
    gpu_memory_gb: float | None
    state: str
    error: str | None
    pipeline: dict[str, Any] | None
    current_job_id: int | None
    metrics_url: str | None
    heartbeat_age_s: float
    live: bool


def register(
    *, session: Session, name: str, model: str, device: str, gpu_memory_gb: float | None, metrics_url: str | None
) -> None:
    """Add (or renew) this worker's row, in state "loading"."""
    row = session.get(FleetWorker, name) or FleetWorker(name=name)
    row.model, row.device, row.gpu_memory_gb, row.metrics_url = model, device, gpu_memory_gb, metrics_url
    row.state, row.error, row.pipeline, row.current_job_id = "loading", None, None, None
    row.started_at = row.heartbeat_at = utcnow()
    session.add(row)
    session.flush()


def beat(
    *,
    session: Session,
    name: str,
    state: str,
    error: str | None = None,
    pipeline: dict[str, Any] | None = None,
    current_job_id: int | None = None,
) -> None:
    """The worker is alive: its state, pipeline and current job, as of now."""
    row = session.get(FleetWorker, name)
    if row is None:  # forgotten while it was cut off from the database: it comes back
        return
    row.state, row.error, row.pipeline, row.current_job_id = state, error, pipeline, current_job_id
    row.heartbeat_at = utcnow()


def leave(*, session: Session, name: str) -> None:
    """The worker stopped cleanly."""
    session.execute(delete(FleetWorker).where(FleetWorker.name == name))


def workers(*, session: Session) -> list[WorkerView]:
    """Every known worker, live ones first; rows of workers gone for a day are dropped first."""
    now = utcnow()
    session.execute(delete(FleetWorker).where(FleetWorker.heartbeat_at < now - FORGET_AFTER))
    views = []
    for row in session.scalars(select(FleetWorker).order_by(FleetWorker.model, FleetWorker.name)):
        age = (now - as_utc(row.heartbeat_at)).total_seconds()
        views.append(
            WorkerView(
                name=row.name,
                model=row.model,
                device=row.device,
                gpu_memory_gb=row.gpu_memory_gb,
                state=row.state,
                error=row.error,
                pipeline=row.pipeline,
                current_job_id=row.current_job_id,
                metrics_url=row.metrics_url,
                heartbeat_age_s=round(age, 1),
                live=age <= LIVE_WITHIN_S,
            )
        )
    return sorted(views, key=lambda view: not view.live)


def live_models(*, session: Session) -> set[str]:
    """Models with at least one live worker (loading or ready)."""
    since = utcnow() - timedelta(seconds=LIVE_WITHIN_S)
    query = select(FleetWorker.model).where(FleetWorker.heartbeat_at >= since, FleetWorker.state != "failed")
    return set(session.scalars(query))


def queued_by_model(*, session: Session) -> dict[str, int]:
    """Jobs waiting, per model: the queue depth each model's workers face."""
    rows = session.execute(select(Job.model, func.count()).where(Job.status == JobStatus.QUEUED).group_by(Job.model))
    return {model: int(count) for model, count in rows}


def undispatched(*, session: Session, older_than: datetime) -> list[tuple[int, str]]:
    """Queued jobs (id, model) created before `older_than` that wait for no worker in the job engine.

    What a crash between saving a job and handing it to the engine leaves (or an entry a worker took but whose run
    never began); the caller hands them over again. A duplicate entry is harmless: only one run can claim the job.
    """
    handed = exists().where(
        _ENGINE_JOBS.c.queueing_lock == literal("job-") + cast(Job.id, Text),
        _ENGINE_JOBS.c.status == literal_column("'todo'"),  # an enum of the engine's: compared as its literal
    )
    query = (
        select(Job.id, Job.model)
        .where(Job.status == JobStatus.QUEUED, Job.created_at < older_than, ~handed)
        .order_by(Job.id)
    )
    return [(job_id, model) for job_id, model in session.execute(query)]


def requeue_stalled(*, session: Session, job_id: int, max_attempts: int) -> str:
    """A job whose worker stopped answering: queue it again, or end it after `max_attempts` runs.

    Returns what the job engine should do with its entry: "retry" (the job is queued again), or "drop" (the job is
    final: interrupted now, or already ended).
    """
    job = session.scalars(select(Job).where(Job.id == job_id).with_for_update()).first()
    if job is None or job.status.is_final:
        return "drop"
    if job.status is JobStatus.QUEUED:  # the engine took it but the worker died before claiming it
        return "retry"
    if job.cancel_requested:  # asked to stop, then its worker died: it is stopped
        jobs.transition(job, JobStatus.CANCELED)
        return "drop"
    if job.attempts >= max_attempts:
        jobs.transition(job, JobStatus.INTERRUPTED)
        job.error = f"its worker stopped answering during each of {job.attempts} runs; retry it to run it again"
        job.error_kind = "interrupted"
        return "drop"
    jobs.transition(job, JobStatus.QUEUED)
    job.worker, job.step, job.progress, job.eta_s, job.started_at = None, 0, 0.0, None, None
    return "retry"
