"""This process as a generation worker of the fleet: it loads its model, then serves that model's queue.

`app.py worker --model <preset>` runs one per GPU on any machine that reaches Postgres and the media store;
`app.py serve` on Postgres runs one inside the server too, unless `--workers 0`. The job itself runs through the
same `Worker.run_job` as the embedded studio (progress, cancel between blocks, out-of-memory, saving).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy.orm import Session

from studio.services.job_engine import HEARTBEAT_S, JobEngine
from studio.services.worker import DATABASE_OUTAGE, ModelState, Worker
from studio.store import fleet, jobs
from studio.store.database import Database

log = logging.getLogger(__name__)

RESTART_WAITS_S = (1.0, 2.0, 5.0, 10.0)  # before serving the queue again after the engine loop failed


class FleetWorker:
    """Registers in `fleet_workers`, heartbeats there, loads the model and serves its queue until stopped."""

    def __init__(
        self,
        *,
        db: Database,
        engine: JobEngine,
        runner: Worker,
        model: str,
        gpu_memory_gb: float | None = None,
        metrics_url: str | None = None,
    ) -> None:
        self.db = db
        self.engine = engine
        self.runner = runner
        self.model = model
        self.name = runner.name
        self.gpu_memory_gb = gpu_memory_gb
        self.metrics_url = metrics_url
        self.current_job_id: int | None = None
        self.serve_error: str | None = None  # why the queue is not being served right now, if it is not
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="studio-fleet-worker", daemon=True)
        self._beats = threading.Thread(target=self._beat_loop, name="studio-fleet-heartbeat", daemon=True)

    def start(self) -> None:
        self._write(lambda session: fleet.register(
            session=session, name=self.name, model=self.model, device=self.runner.pipeline.info().device,
            gpu_memory_gb=self.gpu_memory_gb, metrics_url=self.metrics_url,
        ))  # fmt: skip
        self._beats.start()
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop taking jobs; a running job finishes first (up to `timeout`), then the worker leaves the fleet."""
        self._stop.set()
        self._thread.join(timeout)
        self._beats.join(5)
        try:
            self._write(lambda session: fleet.leave(session=session, name=self.name))
        except DATABASE_OUTAGE:
            log.warning("could not leave the fleet cleanly; the row ages out")

    # -- serving ---------------------------------------------------------------------------------------------

    def _run(self) -> None:
        if not self.runner.load_model():
            self._beat()  # the row says failed, with the reason
            return
        self.engine.register_task(self.run_job)
        failures = 0
        while not self._stop.is_set():
            serving = self.engine.submit(self.engine.serve(model=self.model, name=self.name))
            while not self._stop.is_set() and not serving.done():
                self._stop.wait(0.5)
            if self._stop.is_set():
                serving.cancel()  # the engine lets the running job finish before it returns
                concurrent.futures.wait([serving], timeout=60)
                break
            error = serving.exception() if not serving.cancelled() else None
            wait = RESTART_WAITS_S[min(failures, len(RESTART_WAITS_S) - 1)]
            failures += 1
            self.serve_error = f"{type(error).__name__}: {error}" if error else "the engine loop ended"
            log.warning("serving the %s queue stopped (%s); again in %.0f s", self.model, self.serve_error, wait)
            self._stop.wait(wait)
        log.info("worker %s stopped serving %s", self.name, self.model)

    def run_job(self, job_id: int) -> None:
        """What the engine calls with a job id: claim the job (it may have been canceled meanwhile), then run it."""
        with self.db.write() as session:
            job = jobs.claim(session=session, job_id=job_id, worker=self.name)
        if job is None:
            log.info("job %s is no longer queued; nothing to run", job_id)
            return
        self.serve_error = None
        self.current_job_id = job_id
        self._beat()
        try:
            self.runner.run_job(job)
        finally:
            self.current_job_id = None
            self._beat()

    # -- heartbeat -------------------------------------------------------------------------------------------

    def _beat_loop(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            self._beat()

    def _beat(self) -> None:
        runner = self.runner
        pipeline = dataclasses.asdict(runner.pipeline.info()) if runner.state is ModelState.READY else None
        try:
            self._write(lambda session: fleet.beat(
                session=session, name=self.name, state=runner.state.value, error=runner.load_error,
                pipeline=pipeline, current_job_id=self.current_job_id,
            ))  # fmt: skip
        except DATABASE_OUTAGE:
            log.warning("heartbeat not recorded: the database is unreachable")
        except Exception:
            log.exception("heartbeat failed")

    def _write(self, change: Callable[[Session], None]) -> None:
        with self.db.write() as session:
            change(session)

    @property
    def heartbeat_age_s(self) -> float:
        return round(time.monotonic() - self.runner.heartbeat, 1)
