"""How the worker closes a job: saved (studio.services.saving), failed or canceled, whatever the database does.

Each write that closes a job waits out a database outage (Postgres restarting, a dropped connection, SQLite locked)
of up to OUTAGE_S, so a job that ran is not left running because the database blinked.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy.exc import InterfaceError, OperationalError

from studio.domain.recipe import Recipe
from studio.engine.contract import GenerationResult
from studio.media.content_check import ContentChecker
from studio.media.storage import MediaStore
from studio.services import saving
from studio.services.metrics import Metrics
from studio.store import jobs
from studio.store.database import Database

log = logging.getLogger(__name__)

OUTAGE_S = 180.0  # how long the write that closes a job waits for an unreachable database to come back
# Errors of a database that cannot be reached right now (Postgres restarting, a dropped connection, SQLite locked)
DATABASE_OUTAGE = (OperationalError, InterfaceError)


class JobClosing:
    """Part of Worker (studio.services.worker): the writes that end a claimed job."""

    # Set by Worker.__init__ (see there)
    db: Database
    media: MediaStore
    metrics: Metrics | None
    content_check: ContentChecker | None
    load_s: float | None

    def _cancel(self, job_id: int) -> None:
        def write() -> None:
            with self.db.write() as session:
                jobs.mark_canceled(session=session, job_id=job_id)

        self._durably(write, f"closing job {job_id} as canceled")
        log.info("job %s canceled", job_id)

    def _durably(self, write: Callable[[], None], what: str) -> None:
        """Run a write that closes a job, waiting out a database outage (Postgres restarting) of up to OUTAGE_S."""
        deadline = time.monotonic() + OUTAGE_S
        wait = 0.5
        while True:
            try:
                write()
                return
            except DATABASE_OUTAGE:
                if time.monotonic() > deadline:
                    raise
                log.warning("the database is unreachable while %s; again in %.1f s", what, wait)
                time.sleep(wait)
                wait = min(wait * 2, 5.0)

    def _persist(self, job_id: int, recipe: Recipe, result: GenerationResult) -> None:
        self._durably(lambda: self._save(job_id, recipe, result), f"saving the video of job {job_id}")

    def _save(self, job_id: int, recipe: Recipe, result: GenerationResult) -> None:
        saving.save_video(
            db=self.db,
            media=self.media,
            job_id=job_id,
            recipe=recipe,
            result=result,
            load_s=self.load_s,
            content_check=self.content_check,
        )

    def _fail(self, job_id: int, error: str, kind: str) -> None:
        if self.metrics:
            self.metrics.count_error(kind)

        def write() -> None:
            with self.db.write() as session:
                jobs.fail(session=session, job_id=job_id, error=error, kind=kind)

        self._durably(write, f"closing job {job_id} as failed")
