"""The distributed job engine: Procrastinate on the studio's Postgres decides which worker runs which job.

Our `jobs` table stays the record of a job (recipe, status, progress, timings); the engine only carries "job N
wants a worker of model M" to a worker of that model's queue, wakes idle workers at once (LISTEN/NOTIFY), and
notices workers that stopped heartbeating. A job row and its engine entry may disagree only for a moment:
- a crash between saving a job and handing it over leaves a queued row with no entry: `upkeep` hands such rows
  over again (one waiting entry per job: a queueing lock named after the job);
- a worker that dies mid-job leaves a "doing" entry of a dead worker: `upkeep` queues the job again, or ends it
  interrupted after `max_attempts` runs (store/fleet.py requeue_stalled);
- an entry whose job is no longer queued when a worker takes it (canceled, run by a duplicate) does nothing.

The engine's async API runs on an event loop of its own thread, so the studio's sync code calls it with `call`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Callable, Coroutine, Sequence
from datetime import timedelta
from typing import Any, TypeVar

import procrastinate
from procrastinate import exceptions as engine_errors
from procrastinate.jobs import Status
from sqlalchemy import make_url

from studio.store import fleet
from studio.store.database import Database
from studio.store.rows import utcnow

log = logging.getLogger(__name__)
T = TypeVar("T")

TASK_NAME = "studio.run_job"
HEARTBEAT_S = 2.0  # how often a worker tells the engine it is alive
STALLED_AFTER_S = 10.0  # a worker silent this long is taken for dead: its job runs again elsewhere
UPKEEP_EVERY_S = 3.0  # hand over undispatched jobs and re-run stalled ones this often (every server and worker)
UNDISPATCHED_GRACE_S = 2.0  # a job younger than this may still be on its way to the engine


def queue_for(model: str) -> str:
    """The engine queue of one model: its workers serve this queue only."""
    return f"model:{model}"


def conninfo(database_url: str) -> str:
    """The libpq connection string of a SQLAlchemy Postgres URL (postgresql+psycopg://… → postgresql://…)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


class JobEngine:
    """Procrastinate's app, opened on a private event loop; dispatch, upkeep and (in workers) the worker loop."""

    def __init__(self, database_url: str, *, max_attempts: int = 2) -> None:
        connector = procrastinate.PsycopgConnector(conninfo=conninfo(database_url), min_size=1, max_size=4)
        self.app = procrastinate.App(connector=connector)
        self.max_attempts = max_attempts
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="studio-job-engine", daemon=True)
        self._opened = False

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the loop and open the engine's connection pool (it reconnects by itself after an outage)."""
        if self._opened:
            return
        self._thread.start()
        self.call(self._open())
        self._opened = True

    async def _open(self) -> None:
        await self.app.open_async()

    def stop(self) -> None:
        if not self._opened:
            return
        self._opened = False
        try:
            self.call(self.app.close_async(), timeout=10)
        except Exception:
            log.warning("the job engine did not close cleanly", exc_info=True)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run a coroutine on the engine's loop and wait for its result (from any other thread)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run a coroutine on the engine's loop without waiting for it; cancelling the future cancels it."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    # -- dispatch --------------------------------------------------------------------------------------------

    def dispatch(self, jobs: Sequence[tuple[int, str]]) -> None:
        """Hand saved, queued jobs (id, model) to their models' queues; a job already waiting there is left as is."""
        if jobs:
            self.call(self._dispatch(jobs))

    async def _dispatch(self, jobs: Sequence[tuple[int, str]]) -> None:
        for job_id, model in jobs:
            deferrer = self.app.configure_task(
                TASK_NAME, queue=queue_for(model), queueing_lock=fleet.dispatch_lock(job_id)
            )
            with contextlib.suppress(engine_errors.AlreadyEnqueued):  # it is waiting there already
                await deferrer.defer_async(job_id=job_id)

    # -- upkeep ----------------------------------------------------------------------------------------------

    def upkeep(self, db: Database) -> dict[str, list[int]]:
        """One round: hand over queued jobs the engine never got, and run again the jobs of dead workers.

        Safe to run in every process at once. Returns what it did: {"dispatched": [...], "requeued": [...],
        "ended": [...]}.
        """
        return self.call(self._upkeep(db))

    async def _upkeep(self, db: Database) -> dict[str, list[int]]:
        done: dict[str, list[int]] = {"dispatched": [], "requeued": [], "ended": []}
        # 1. Queued rows with no engine entry (a crash between the two, or an engine outage at submit)
        cutoff = utcnow() - timedelta(seconds=UNDISPATCHED_GRACE_S)
        orphans = await asyncio.to_thread(
            _read, db, lambda session: fleet.undispatched(session=session, older_than=cutoff)
        )
        if orphans:
            await self._dispatch(orphans)
            done["dispatched"] = [job_id for job_id, _ in orphans]
            log.warning("handed over jobs the engine never got: %s", done["dispatched"])
        # 2. Entries of workers that stopped heartbeating
        stalled = await self.app.job_manager.get_stalled_jobs(
            task_name=TASK_NAME, seconds_since_heartbeat=STALLED_AFTER_S
        )
        for entry in stalled:
            job_id = entry.task_kwargs["job_id"]
            assert isinstance(job_id, int), entry.task_kwargs
            action = await asyncio.to_thread(_write, db, _requeue(job_id, self.max_attempts))
            assert entry.id is not None
            if action == "retry":
                await self.app.job_manager.retry_job_by_id_async(entry.id, retry_at=utcnow())
                done["requeued"].append(job_id)
            else:
                await self.app.job_manager.finish_job_by_id_async(entry.id, status=Status.FAILED, delete_job=False)
                done["ended"].append(job_id)
        if done["requeued"] or done["ended"]:
            log.warning("jobs of workers that stopped answering: again %s, ended %s", done["requeued"], done["ended"])
        return done

    # -- workers ---------------------------------------------------------------------------------------------

    def register_task(self, run: Callable[[int], None]) -> None:
        """What a worker does with a job id it is given (a worker process registers this before it serves)."""

        @self.app.task(name=TASK_NAME)
        def run_job(job_id: int) -> None:
            run(job_id)

    async def serve(self, *, model: str, name: str) -> None:
        """Serve the model's queue, one job at a time, until cancelled (the caller restarts it after an outage)."""
        await self.app.run_worker_async(
            queues=[queue_for(model)],
            name=name,
            concurrency=1,
            wait=True,
            listen_notify=True,
            install_signal_handlers=False,
            update_heartbeat_interval=HEARTBEAT_S,
            stalled_worker_timeout=STALLED_AFTER_S * 3,
            delete_jobs="successful",
        )


def _read(db: Database, query: Callable[[Any], T]) -> T:
    with db.read() as session:
        return query(session)


def _write(db: Database, change: Callable[[Any], T]) -> T:
    with db.write() as session:
        return change(session)


def _requeue(job_id: int, max_attempts: int) -> Callable[[Any], str]:
    return lambda session: fleet.requeue_stalled(session=session, job_id=job_id, max_attempts=max_attempts)
