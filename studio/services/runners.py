"""Who runs the jobs a studio saves: its own worker thread (SQLite), or the fleet (Postgres and the job engine).

`Runners` is the one place that knows which: the facade hands it saved job ids, cancels and its lifecycle, and
never asks how jobs reach a worker.
"""

from __future__ import annotations

import logging
import socket
import threading

from studio.config import Settings
from studio.domain import errors
from studio.media.storage import MediaStore
from studio.services.fleet_worker import FleetWorker
from studio.services.job_engine import UPKEEP_EVERY_S, JobEngine
from studio.services.updates import Updates
from studio.services.worker import Worker
from studio.store import housekeeping, jobs
from studio.store.database import Database

log = logging.getLogger(__name__)


class Runners:
    """This process's worker, if it has one, and (Postgres) the job engine it shares with the fleet."""

    def __init__(self, *, settings: Settings, model: str, db: Database, worker: Worker | None) -> None:
        self.model = model
        self.db = db
        self.worker = worker  # None: this process runs no jobs (a fleet server, `--workers 0`)
        self.updates = worker.updates if worker else Updates()  # moves when this process's worker reports
        self.engine: JobEngine | None = None
        self.fleet_worker: FleetWorker | None = None
        if settings.uses_fleet:
            self.engine = JobEngine(settings.resolved_database_url, max_attempts=settings.max_attempts)
            if worker is not None:
                port = settings.metrics_port
                self.fleet_worker = FleetWorker(
                    db=db,
                    engine=self.engine,
                    runner=worker,
                    model=model,
                    metrics_url=f"http://{socket.gethostname()}:{port}/metrics" if port else None,
                )
        self._upkeep_stop = threading.Event()

    @property
    def in_fleet(self) -> bool:
        return self.engine is not None

    def recover(self, media: MediaStore) -> list[int]:
        """Recovery when the studio opens: files without a row are set aside; returns the jobs marked interrupted.

        With one process owning the queue, jobs it left running died with it (interrupted). In the fleet, workers run
        jobs elsewhere: dead ones are found by their heartbeat.
        """
        interrupted: list[int] = []
        with self.db.write() as session:
            if self.engine is None:
                interrupted = jobs.recover_interrupted(session=session)
            housekeeping.sweep(session=session, store=media, shared=self.engine is not None)
        return interrupted

    def start(self) -> None:
        """Start the worker thread (the model loads in the background), or join the fleet and its upkeep."""
        if self.engine is not None:
            self.engine.start()
            threading.Thread(target=self._upkeep_loop, name="studio-fleet-upkeep", daemon=True).start()
            if self.fleet_worker is not None:
                self.fleet_worker.start()
        elif self.worker is not None:
            self.worker.start()

    def stop(self) -> None:
        """Stop after the running job (if any), then leave the fleet."""
        self._upkeep_stop.set()
        if self.fleet_worker is not None:
            self.fleet_worker.stop()
        elif self.worker is not None:
            self.worker.stop()
        if self.engine is not None:
            self.engine.stop()

    def hand_over(self, job_ids: list[int]) -> None:
        """Saved, queued jobs go to whoever runs them: the job engine (fleet), or this process's worker."""
        if self.engine is not None:
            try:
                self.engine.dispatch([(job_id, self.model) for job_id in job_ids])
            except Exception as exc:  # saved all the same: the upkeep hands them over once the engine answers
                log.warning("jobs %s saved but not yet handed to the engine: %s", job_ids, errors.public_message(exc))
        elif self.worker is not None:
            self.worker.wake()

    def cancel_soon(self, job_id: int) -> None:
        """A running job was asked to stop: at once if it runs here; elsewhere its worker reads the request."""
        if self.worker is not None:
            self.worker.cancel_soon(job_id)

    def _upkeep_loop(self) -> None:
        """Fleet: hand over jobs the engine never got and re-run the jobs of dead workers, every few seconds."""
        assert self.engine is not None
        while not self._upkeep_stop.wait(UPKEEP_EVERY_S):
            try:
                self.engine.upkeep(self.db)
            except Exception as exc:  # the database or the engine is unreachable: the next round tries again
                log.warning("fleet upkeep failed: %s", errors.public_message(exc))
