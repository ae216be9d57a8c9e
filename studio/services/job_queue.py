"""The job queue as the facade uses it: queue (admitted), cancel, retry, read and follow jobs; job-end callbacks.

Studio builds the recipes (the model new jobs are made for, start images, callback addresses) and delegates the rest
here; `Runners` hands what was queued to whoever runs it.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

from studio.domain.recipe import Recipe
from studio.services.admission import Admission
from studio.services.job_view import JobView
from studio.services.runners import Runners
from studio.store import fleet, jobs
from studio.store.database import Database
from studio.store.rows import JobStatus, utcnow


def count_by_status(db: Database) -> dict[JobStatus, int]:
    with db.read() as session:
        return jobs.count_by_status(session=session)


def queued_by_model(db: Database) -> dict[str, int]:
    with db.read() as session:
        return fleet.queued_by_model(session=session)


def retry_after_s(db: Database) -> int:
    """Seconds until a queue slot is likely free: one typical recent job (10 s before any has run)."""
    with db.read() as session:
        typical = jobs.typical_run_seconds(session=session)
    return max(1, round(typical)) if typical is not None else 10


class JobQueue:
    """Jobs in the database, admitted by `admission` and handed to `runners` (Studio's jobs section delegates here)."""

    def __init__(self, *, db: Database, admission: Admission, runners: Runners) -> None:
        self.db = db
        self.admission = admission
        self.runners = runners
        self.updates = runners.updates

    def submit(self, recipe: Recipe, *, callback_url: str | None = None, owner: str | None = None) -> JobView:
        """Persist and queue a built recipe (Studio.submit checks the request and the callback address first)."""
        with self.db.write() as session:  # the checks and the insert are one transaction: limits hold under load
            self.admission.check_jobs(session, count=1, owner=owner)
            job = jobs.enqueue(session=session, recipe=recipe, callback_url=callback_url, owner=owner)
        self.runners.hand_over([job.id])
        return self.job(job.id)

    def submit_group(self, recipes: list[Recipe], *, owner: str | None = None) -> tuple[str, list[JobView]]:
        """Queue checked recipes under a new group id, all or none (Studio.submit_group)."""
        group_id = uuid.uuid4().hex
        # One transaction: the room check and every insert, so the cap holds and a group is never half queued
        with self.db.write() as session:
            self.admission.check_jobs(session, count=len(recipes), owner=owner)
            ids = [
                jobs.enqueue(session=session, recipe=recipe, group_id=group_id, owner=owner).id for recipe in recipes
            ]
        self.runners.hand_over(ids)
        with self.db.read() as session:
            return group_id, [JobView.of(session, jobs.get(session=session, job_id=job_id)) for job_id in ids]

    def owed_callbacks(self, *, within: timedelta) -> list[int]:
        with self.db.read() as session:
            return jobs.owed_callbacks(session=session, since=utcnow() - within)

    def claim_callback(self, job_id: int) -> bool:
        if not self.runners.in_fleet:
            return True
        with self.db.write() as session:
            return jobs.claim_callback(session=session, job_id=job_id)

    def callback_done(self, job_id: int) -> None:
        with self.db.write() as session:
            jobs.callback_done(session=session, job_id=job_id)

    def cancel(self, job_id: int) -> JobView:
        with self.db.write() as session:
            running = jobs.request_cancel(session=session, job_id=job_id).status is JobStatus.RUNNING
        if running:
            self.runners.cancel_soon(job_id)
        return self.job(job_id)

    def wait(self, job_id: int, *, timeout: float, since: JobView | None = None) -> JobView:
        deadline = time.monotonic() + timeout
        while True:
            seen = self.updates.count
            view = self.job(job_id)
            left = deadline - time.monotonic()
            if view.is_final or (since is not None and view != since) or left <= 0:
                return view
            self.updates.wait(seen, min(left, 0.5))

    async def wait_async(self, job_id: int, *, timeout: float, since: JobView | None = None) -> JobView:
        deadline = time.monotonic() + timeout
        while True:
            seen = self.updates.count
            view = self.job(job_id)  # an indexed read of one row: about a millisecond
            left = deadline - time.monotonic()
            if view.is_final or (since is not None and view != since) or left <= 0:
                return view
            await self.updates.wait_async(seen, min(left, 0.5))

    def retry(self, job_id: int, *, owner: str | None = None) -> JobView:
        with self.db.write() as session:
            self.admission.check_jobs(session, count=1, owner=owner)
            job = jobs.retry(session=session, job_id=job_id, owner=owner)
        self.runners.hand_over([job.id])
        return self.job(job.id)

    def job(self, job_id: int) -> JobView:
        with self.db.read() as session:
            job = jobs.get(session=session, job_id=job_id)
            in_fleet = self.runners.in_fleet
            served = fleet.live_models(session=session) if in_fleet and job.status is JobStatus.QUEUED else None
            return JobView.of(session, job, served=served)

    def list_jobs(self, *, status: JobStatus | None = None, limit: int = 50, offset: int = 0) -> list[JobView]:
        with self.db.read() as session:
            found = jobs.list_jobs(session=session, status=status, limit=limit, offset=offset)
            return [JobView.of(session, job) for job in found]

    def group_jobs(self, group_id: str) -> list[JobView]:
        with self.db.read() as session:
            return [JobView.of(session, job) for job in jobs.group(session=session, group_id=group_id)]
