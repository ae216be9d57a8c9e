"""The durable job queue: every status change goes through `transition`, which never leaves a final state.

Functions are keyword-only and take the session explicitly; the caller owns the transaction
(`Database.write()` starts it with `BEGIN IMMEDIATE` on SQLite).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from studio.domain.errors import Conflict, NotFound
from studio.domain.recipe import Recipe
from studio.store.rows import TIMINGS, Job, JobStatus, utcnow

_ALLOWED: dict[JobStatus, set[JobStatus]] = {
    JobStatus.QUEUED: {JobStatus.RUNNING, JobStatus.CANCELED},
    JobStatus.RUNNING: {
        JobStatus.SUCCEEDED,
        JobStatus.FAILED,
        JobStatus.CANCELED,
        JobStatus.INTERRUPTED,
        JobStatus.QUEUED,  # fleet: its worker died mid-job and it runs again (store/fleet.py requeue_stalled)
    },
}
RETRYABLE = (JobStatus.FAILED, JobStatus.INTERRUPTED, JobStatus.CANCELED)
OUT_OF_MEMORY = "out_of_memory"
CALLBACK_LEASE = timedelta(minutes=10)  # fleet: a claimed callback is another server's to send for this long


class InvalidTransition(Conflict):
    """A status change the queue does not allow (e.g. out of a final state)."""

    def __init__(self, message: str) -> None:
        super().__init__("job_id", message)


class JobNotFound(NotFound):
    """No job with that id."""


def transition(job: Job, to: JobStatus) -> None:
    """Move a job to a new status, stamping start and finish times."""
    if to not in _ALLOWED.get(job.status, set()):
        raise InvalidTransition(f"job {job.id}: cannot go from {job.status.value} to {to.value}")
    job.status = to
    if to is JobStatus.RUNNING:
        job.started_at = utcnow()
        job.attempts = (job.attempts or 0) + 1
    if to.is_final:
        job.finished_at = utcnow()
        job.eta_s = None


def enqueue(
    *,
    session: Session,
    recipe: Recipe,
    retry_of: int | None = None,
    callback_url: str | None = None,
    group_id: str | None = None,
    owner: str | None = None,
) -> Job:
    """Persist a new queued job for a validated recipe; `group_id` ties the jobs of a seed comparison together."""
    job = Job(
        status=JobStatus.QUEUED,
        model=recipe.model,
        prompt=recipe.prompt,
        seed=recipe.seed,
        recipe=recipe.to_dict(),
        total_steps=recipe.steps,
        retry_of=retry_of,
        callback_url=callback_url,
        owner=owner,
        group_id=group_id,
    )
    session.add(job)
    session.flush()
    return job


def get(*, session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id) if 0 < job_id < 2**63 else None  # larger ids overflow the driver
    if job is None:
        raise JobNotFound("job_id", f"no job {job_id}")
    return job


def claim_next(*, session: Session, worker: str) -> Job | None:
    """Mark the oldest queued job running and return it (None when the queue is empty).

    Safe across threads and processes: SQLite's `BEGIN IMMEDIATE` serializes claimers, Postgres skips
    rows another worker has locked.
    """
    query = select(Job).where(Job.status == JobStatus.QUEUED).order_by(Job.id).limit(1)
    if session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update(skip_locked=True)
    job = session.scalars(query).first()
    if job is None:
        return None
    transition(job, JobStatus.RUNNING)
    job.worker = worker
    session.flush()
    return job


def claim_group_mates(*, session: Session, job: Job, worker: str, limit: int = 7) -> list[Job]:
    """Also claim the queued jobs of `job`'s comparison group that differ from it only in their seed."""
    if job.group_id is None:
        return []
    same = {k: v for k, v in job.recipe.items() if k != "seed"}
    queued = session.scalars(
        select(Job).where(Job.group_id == job.group_id, Job.status == JobStatus.QUEUED).order_by(Job.id)
    )
    mates = [m for m in queued if {k: v for k, v in m.recipe.items() if k != "seed"} == same][:limit]
    for mate in mates:
        transition(mate, JobStatus.RUNNING)
        mate.worker = worker
    session.flush()
    return mates


def claim(*, session: Session, job_id: int, worker: str) -> Job | None:
    """Mark one particular queued job running (inline execution); None if it is no longer queued."""
    job = get(session=session, job_id=job_id)
    if job.status is not JobStatus.QUEUED:
        return None
    transition(job, JobStatus.RUNNING)
    job.worker = worker
    session.flush()
    return job


def cancel_requested(*, session: Session, job_id: int) -> bool:
    """Whether a cancel was asked for the job (it stops at its next check)."""
    return bool(session.scalar(select(Job.cancel_requested).where(Job.id == job_id)))


def report_progress(*, session: Session, job_id: int, step: int, total: int, eta_s: float | None) -> bool:
    """Record step/total/ETA of a running job; returns True when a cancel was requested."""
    session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.RUNNING)
        .values(step=step, total_steps=total, progress=step / total if total else 0.0, eta_s=eta_s)
    )
    return cancel_requested(session=session, job_id=job_id)


def request_cancel(*, session: Session, job_id: int) -> Job:
    """Cancel a queued job now; ask a running one to stop at its next step; leave a finished one alone."""
    job = get(session=session, job_id=job_id)
    if job.status is JobStatus.QUEUED:
        transition(job, JobStatus.CANCELED)
    elif job.status is JobStatus.RUNNING:
        job.cancel_requested = True
    session.flush()
    return job


def finish(*, session: Session, job_id: int, timings: dict[str, float]) -> Job:
    """Close a running job as succeeded, with its stage timings (load_s, denoise_s, decode_s, encode_s)."""
    job = get(session=session, job_id=job_id)
    transition(job, JobStatus.SUCCEEDED)
    job.progress, job.step = 1.0, job.total_steps
    for name in TIMINGS:
        if name in timings:
            setattr(job, name, timings[name])
    session.flush()
    return job


def fail(*, session: Session, job_id: int, error: str, kind: str = "error") -> Job:
    """Close a running job as failed; `kind` tells an out-of-memory error from the rest."""
    job = get(session=session, job_id=job_id)
    transition(job, JobStatus.FAILED)
    job.error, job.error_kind = error, kind
    session.flush()
    return job


def mark_canceled(*, session: Session, job_id: int) -> Job:
    """Close a running job that stopped because a cancel was requested."""
    job = get(session=session, job_id=job_id)
    transition(job, JobStatus.CANCELED)
    session.flush()
    return job


def recover_interrupted(*, session: Session) -> list[int]:
    """At startup: jobs left running by a dead process become interrupted (retryable); queued stay queued."""
    running = session.scalars(select(Job).where(Job.status == JobStatus.RUNNING).order_by(Job.id)).all()
    for job in running:
        transition(job, JobStatus.INTERRUPTED)
        job.error = "the studio stopped while this job was running; retry it to run it again"
        job.error_kind = "interrupted"
    session.flush()
    return [job.id for job in running]


def retry(*, session: Session, job_id: int, owner: str | None = None) -> Job:
    """Queue a new job with the same recipe (same seed) as a failed, interrupted or canceled one.

    The new job belongs to `owner`, who asked for it (None: the old job's owner); the caller admits it first.
    """
    old = get(session=session, job_id=job_id)
    if old.status not in RETRYABLE:
        state = "already finished" if old.status.is_final else f"is still {old.status.value}"
        raise InvalidTransition(f"Job {job_id} {state}; only failed, canceled or interrupted jobs can be retried")
    return enqueue(
        session=session,
        recipe=Recipe.from_dict(old.recipe),
        retry_of=old.id,
        callback_url=old.callback_url,
        group_id=old.group_id,  # a retried seed stays in its comparison group
        owner=owner or old.owner,
    )


def group(*, session: Session, group_id: str) -> list[Job]:
    """The jobs submitted together under `group_id` (and their retries), oldest first."""
    return list(session.scalars(select(Job).where(Job.group_id == group_id).order_by(Job.id)))


def typical_run_seconds(*, session: Session, recent: int = 20) -> float | None:
    """Median run time of the last `recent` succeeded jobs, or None before any."""
    rows = session.execute(
        select(Job.started_at, Job.finished_at)
        .where(Job.status == JobStatus.SUCCEEDED)
        .order_by(Job.id.desc())
        .limit(recent)
    ).all()
    spans = sorted((end - start).total_seconds() for start, end in rows if start and end)
    return spans[len(spans) // 2] if spans else None


def queued_count(*, session: Session, owner: str | None = None) -> int:
    """Jobs waiting to run (of one owner, when given)."""
    query = select(func.count()).where(Job.status == JobStatus.QUEUED)
    if owner is not None:
        query = query.where(Job.owner == owner)
    return int(session.scalar(query) or 0)


def submitted_since(*, session: Session, owner: str, since: datetime) -> list[datetime]:
    """When `owner`'s jobs created after `since` were submitted, oldest first (for hourly limits)."""
    query = select(Job.created_at).where(Job.owner == owner, Job.created_at >= since).order_by(Job.id)
    return list(session.scalars(query))


def queue_position(*, session: Session, job: Job) -> int | None:
    """1 for the next job to run; None unless the job is queued."""
    if job.status is not JobStatus.QUEUED:
        return None
    ahead = session.scalar(select(func.count()).where(Job.status == JobStatus.QUEUED, Job.id < job.id))
    return int(ahead or 0) + 1


def list_jobs(*, session: Session, status: JobStatus | None = None, limit: int = 50, offset: int = 0) -> list[Job]:
    """Newest first."""
    query = select(Job).order_by(Job.id.desc()).limit(limit).offset(offset)
    if status is not None:
        query = query.where(Job.status == status)
    return list(session.scalars(query))


def count_by_status(*, session: Session) -> dict[JobStatus, int]:
    rows = session.execute(select(Job.status, func.count()).group_by(Job.status)).all()
    return {status: int(count) for status, count in rows}


def owed_callbacks(*, session: Session, since: datetime) -> list[int]:
    """Ids of jobs that ended at or after `since` with a callback_url whose POST was never delivered or given up
    (and that no server of the fleet is sending now)."""
    query = (
        select(Job.id)
        .where(Job.callback_url.is_not(None), Job.callback_done_at.is_(None), Job.finished_at >= since)
        .where(Job.callback_claimed_at.is_(None) | (Job.callback_claimed_at < utcnow() - CALLBACK_LEASE))
        .where(Job.status.in_([s for s in JobStatus if s.is_final]))
        .order_by(Job.id)
    )
    return list(session.scalars(query))


def callback_done(*, session: Session, job_id: int) -> None:
    """Record that the job's callback was delivered or given up: a restart will not send it again."""
    get(session=session, job_id=job_id).callback_done_at = utcnow()


def claim_callback(*, session: Session, job_id: int, lease: timedelta = CALLBACK_LEASE) -> bool:
    """Take on sending the job's callback unless it was sent, or another server took it on less than `lease` ago.

    One conditional UPDATE: of several servers asking at once, exactly one gets True.
    """
    now = utcnow()
    claimed = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.callback_done_at.is_(None))
        .where((Job.callback_claimed_at.is_(None)) | (Job.callback_claimed_at < now - lease))
        .values(callback_claimed_at=now)
    )
    return bool(getattr(claimed, "rowcount", 0) == 1)


def oldest_queued_model(*, session: Session) -> str | None:
    """The model of the job that runs next (the oldest queued one), or None when the queue is empty."""
    return session.scalars(select(Job.model).where(Job.status == JobStatus.QUEUED).order_by(Job.id).limit(1)).first()
