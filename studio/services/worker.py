"""The one worker thread: it owns the resident pipeline and runs jobs oldest first.

claim → generate (progress and cancel through the step callback, cancel also between transformer blocks) → encode →
persist, with failures (including GPU out-of-memory) closing the job and leaving the worker ready for the next one.
An error outside a job (a database error while claiming) is logged and retried with back-off: the loop never ends
until the studio stops, and `/health` reports its heartbeat.
"""

from __future__ import annotations

import enum
import logging
import os
import socket
import threading
import time
from collections.abc import Callable

from sqlalchemy.exc import InterfaceError, OperationalError

from studio.domain import errors
from studio.domain.recipe import Recipe
from studio.engine.contract import Canceled, GenerationResult, GpuOutOfMemory, Pipeline, StepInfo
from studio.media import content_check
from studio.media.storage import MediaStore
from studio.services import saving
from studio.services.metrics import Metrics
from studio.services.updates import Updates
from studio.store import jobs
from studio.store.database import Database
from studio.store.rows import Job

log = logging.getLogger(__name__)

IDLE_POLL_S = 1.0  # also picks up jobs queued by other processes sharing the database
CANCEL_POLL_S = 1.0  # between blocks, a cancel asked in another process is read from the database this often
BACKOFF_S = (1.0, 2.0, 5.0, 10.0, 30.0)  # waits after consecutive failures of the loop itself
OUTAGE_S = 180.0  # how long the write that closes a job waits for an unreachable database to come back
# Errors of a database that cannot be reached right now (Postgres restarting, a dropped connection, SQLite locked)
DATABASE_OUTAGE = (OperationalError, InterfaceError)


class ModelState(enum.StrEnum):
    LOADING = "loading"
    READY = "ready"
    FAILED = "failed"
    WAITING = "waiting"  # fleet server: no live worker serves the model yet


def eta_seconds(step: int, total: int, elapsed_s: float) -> float | None:
    """Seconds left in the denoising loop, assuming the remaining steps take as long as the done ones."""
    if step <= 0 or total <= 0:
        return None
    return max(0.0, elapsed_s / step * (total - step))


class Worker:
    """Runs queued jobs one at a time on a resident pipeline, in a background thread."""

    def __init__(
        self,
        *,
        db: Database,
        pipeline: Pipeline,
        media: MediaStore,
        metrics: Metrics | None = None,
        on_job_end: Callable[[int], None] | None = None,
        batch: bool = False,
        content_check: content_check.ContentChecker | None = None,
        model: str | None = None,
        pipeline_for: Callable[[str], Pipeline] | None = None,
    ) -> None:
        self.db = db
        self.pipeline = pipeline
        self.media = media  # where finished videos are published
        self.metrics = metrics
        self.on_job_end = on_job_end  # called in the worker thread after a job closes: keep it quick
        self.batch = batch  # run a comparison's queued seeds in one pipeline call (see Studio: when it is faster)
        self.content_check = content_check  # scores each new video before its row is saved; None: no check
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.state = ModelState.LOADING
        self.load_error: str | None = None
        self.load_s: float | None = None
        self.heartbeat = time.monotonic()  # the loop (or the running job) was last alive then
        self.loop_error: str | None = None  # the last error of the loop itself, until a turn succeeds
        self.updates = Updates()  # moves after every progress report and every job end
        self._cancels: set[int] = set()  # running jobs a cancel was asked for in this process
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="studio-worker", daemon=True)
        # Model switching (the single-process studio): `pipeline_for` builds the pipeline of a model key; the worker
        # loads the model the next queued job needs, else `wanted` (the one the person chose), in place of `model`.
        self.model = model  # the model `pipeline` holds (or is loading)
        self.pipeline_for = pipeline_for
        self.wanted: str | None = None
        self.switch_s: float | None = None  # how long the last switch took (unload, build, download, load)
        self._retry_load = False

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the current job; a running job is left to finish unless the process exits."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def wake(self) -> None:
        """A job was queued: look now instead of at the next poll."""
        self._wake.set()

    def cancel_soon(self, job_id: int) -> None:
        """A cancel was recorded for a running job: stop it at the next block rather than the next step."""
        self._cancels.add(job_id)

    @property
    def alive(self) -> bool:
        """False once the thread has ended while it should serve (it only ends when stopped or the load failed)."""
        return self._thread.is_alive() or self._stop.is_set() or self.state is not ModelState.READY

    @property
    def update_count(self) -> int:
        return self.updates.count

    def wait_for_update(self, seen: int, timeout: float) -> int:
        return self.updates.wait(seen, timeout)

    async def wait_for_update_async(self, seen: int, timeout: float) -> int:
        return await self.updates.wait_async(seen, timeout)

    def load_model(self) -> bool:
        """Load the model once (it stays resident for the life of the process); False when it failed to load."""
        try:
            self.load_s = self.pipeline.load()
            if self.metrics:
                self.metrics.model_load_seconds.set(self.load_s)
            self.state = ModelState.READY
            log.info("model ready in %.1f s", self.load_s)
            return True
        except Exception as exc:
            # before the state: a reader of FAILED finds the reason (a refusal's own words in full: they say what to do)
            self.load_error = exc.message if isinstance(exc, errors.Refused) else errors.public_message(exc)
            self.state = ModelState.FAILED
            log.exception("model failed to load; jobs stay queued")
            return False

    def _run(self) -> None:
        # 1. Load the model once (with switching, a failed load waits for another choice instead of ending the thread).
        if not self.load_model() and self.pipeline_for is None:
            return
        # 2. Serve the queue until stopped; an error of the loop itself is retried with back-off.
        failures = 0
        while not self._stop.is_set():
            self.heartbeat = time.monotonic()
            try:
                if self.pipeline_for is not None and self._switch_if_needed():
                    continue
                ran = self.run_next() if self.state is ModelState.READY else False
            except Exception as exc:
                wait = BACKOFF_S[min(failures, len(BACKOFF_S) - 1)]
                failures += 1
                self.loop_error = errors.public_message(exc)
                log.exception("the worker could not serve the queue (failure %d); again in %.0f s", failures, wait)
                self._stop.wait(wait)
                continue
            failures, self.loop_error = 0, None
            if not ran:
                self._wake.wait(IDLE_POLL_S)
                self._wake.clear()

    def request_model(self, key: str) -> None:
        """The person chose `key`: load it when no queued job needs another one (again, if it failed to load)."""
        self.wanted = key
        if key == self.model and self.state is ModelState.FAILED:
            self._retry_load = True
        self.wake()

    def _switch_if_needed(self) -> bool:
        """Load the model the oldest queued job needs (else the one asked for); True when it did something."""
        with self.db.read() as session:
            queued = jobs.oldest_queued_model(session=session)
        want = queued or self.wanted
        if want is None:
            return False
        if want == self.model:
            if self.state is ModelState.FAILED and self._retry_load:
                self._retry_load = False
            elif self.state is ModelState.FAILED and queued == want:
                self._fail_next(f"the model {want} could not be loaded: {self.load_error}")
                return True
            else:
                return False
        self.switch_to(want)
        return True

    def switch_to(self, key: str) -> bool:
        """Put `key`'s pipeline in place of the resident one: unload, build, load (progress through the pipeline)."""
        assert self.pipeline_for is not None
        started = time.perf_counter()
        log.info("switching the model from %s to %s", self.model, key)
        self.state, self.load_error = ModelState.LOADING, None
        self.updates.announce()
        unload = getattr(self.pipeline, "unload", None)
        if callable(unload):
            unload()
        self.model = key
        try:
            self.pipeline = self.pipeline_for(key)
        except Exception as exc:
            self.load_error, self.state = errors.public_message(exc), ModelState.FAILED
            log.exception("the pipeline of %s could not be built", key)
            return False
        loaded = self.load_model()
        self.switch_s = time.perf_counter() - started
        log.info("switched to %s in %.2f s", key, self.switch_s)
        self.updates.announce()
        return loaded

    def _fail_next(self, error: str) -> None:
        with self.db.write() as session:
            job = jobs.claim_next(session=session, worker=self.name)
        if job is not None:
            self._fail(job.id, error, "error")
            self._ended([job.id])

    def run_next(self) -> bool:
        """Claim and run the oldest queued job (with its queued group mates, when batching); False when none."""
        with self.db.write() as session:
            job = jobs.claim_next(session=session, worker=self.name)
            mates = jobs.claim_group_mates(session=session, job=job, worker=self.name) if job and self.batch else []
        if job is None:
            return False
        if mates:
            self.run_batch([job, *mates])
        else:
            self.run_job(job)
        return True

    def run_job(self, job: Job) -> None:
        """Generate, encode and persist one claimed job, closing it whatever happens."""
        recipe = Recipe.from_dict(job.recipe)
        started = time.perf_counter()
        try:
            result = self.pipeline.generate(
                recipe, on_step=self._progress_reporter(job.id, recipe), interrupt=self._interrupter([job.id])
            )
            self._persist(job.id, recipe, result)
            if self.metrics:
                self.metrics.observe_job(recipe, time.perf_counter() - started)
        except Canceled:
            self._cancel(job.id)
        except GpuOutOfMemory as exc:
            self._fail(job.id, str(exc), jobs.OUT_OF_MEMORY)
        except Exception as exc:
            log.exception("job %s failed", job.id)
            self._fail(job.id, errors.public_message(exc), "error")
        finally:
            self._ended([job.id])

    def run_batch(self, batch: list[Job]) -> None:
        """Seeds of one comparison in one batched pipeline call; each job still gets its own progress and video.

        A cancel of one member lets the others finish (its frames are dropped); canceling all stops the call.
        """
        recipes = [Recipe.from_dict(job.recipe) for job in batch]
        reporters = [self._progress_reporter(job.id, recipe) for job, recipe in zip(batch, recipes, strict=True)]
        canceled: set[int] = set()

        def on_step(info: StepInfo) -> None:
            for job, report in zip(batch, reporters, strict=True):
                if job.id not in canceled:
                    try:
                        report(info)
                    except Canceled:
                        canceled.add(job.id)
            if len(canceled) == len(batch):
                raise Canceled("every seed of the batch was canceled")

        started = time.perf_counter()
        try:
            results = self.pipeline.generate_batch(
                recipes, on_step=on_step, interrupt=self._interrupter([job.id for job in batch])
            )
            for job, recipe, result in zip(batch, recipes, results, strict=True):
                if job.id in canceled:
                    self._cancel(job.id)
                    continue
                try:
                    self._persist(job.id, recipe, result)
                    if self.metrics:
                        self.metrics.observe_job(recipe, time.perf_counter() - started)
                except Exception as exc:
                    log.exception("job %s failed while saving", job.id)
                    self._fail(job.id, errors.public_message(exc), "error")
        except Canceled:
            for job in batch:
                self._cancel(job.id)
        except GpuOutOfMemory as exc:
            for job in batch:
                self._fail(job.id, str(exc), jobs.OUT_OF_MEMORY)
        except Exception as exc:
            log.exception("batch %s failed", [job.id for job in batch])
            for job in batch:
                self._fail(job.id, errors.public_message(exc), "error")
        finally:
            self._ended([job.id for job in batch])

    def _ended(self, job_ids: list[int]) -> None:
        self._cancels.difference_update(job_ids)
        self.updates.announce()
        for job_id in job_ids:
            if self.on_job_end:
                self.on_job_end(job_id)

    def _cancel(self, job_id: int) -> None:
        def write() -> None:
            with self.db.write() as session:
                jobs.mark_canceled(session=session, job_id=job_id)

        self._durably(write, f"closing job {job_id} as canceled")
        log.info("job %s canceled", job_id)

    def _interrupter(self, job_ids: list[int]) -> Callable[[], None]:
        """Called between transformer blocks: raises Canceled once every job of the run has been canceled.

        A cancel asked in this process is seen at once; one asked elsewhere (another server sharing the database)
        within CANCEL_POLL_S.
        """
        last_read = time.monotonic()

        def interrupt() -> None:
            nonlocal last_read
            now = time.monotonic()
            self.heartbeat = now
            if all(job_id in self._cancels for job_id in job_ids):
                raise Canceled(f"jobs {job_ids} canceled between blocks")
            if now - last_read >= CANCEL_POLL_S:
                last_read = now
                try:
                    with self.db.read() as session:
                        asked = [job_id for job_id in job_ids if jobs.cancel_requested(session=session, job_id=job_id)]
                except DATABASE_OUTAGE:  # asked again at the next poll
                    return
                self._cancels.update(asked)
                if len(asked) == len(job_ids):
                    raise Canceled(f"jobs {job_ids} canceled between blocks")

        return interrupt

    def _progress_reporter(self, job_id: int, recipe: Recipe) -> Callable[[StepInfo], None]:
        last_elapsed = 0.0

        def on_step(info: StepInfo) -> None:
            nonlocal last_elapsed
            self.heartbeat = time.monotonic()
            if self.metrics:
                self.metrics.observe_step(recipe, info.elapsed_s - last_elapsed)
            last_elapsed = info.elapsed_s
            eta = eta_seconds(info.step, info.total, info.elapsed_s)
            try:
                with self.db.write() as session:
                    cancel = jobs.report_progress(
                        session=session, job_id=job_id, step=info.step, total=info.total, eta_s=eta
                    )
            except DATABASE_OUTAGE:  # the run goes on; the next step reports again
                log.warning("job %s: step %d not recorded, the database is unreachable", job_id, info.step)
                cancel = False
            self.updates.announce()
            if cancel or job_id in self._cancels:
                raise Canceled(f"job {job_id} canceled at step {info.step}/{info.total}")

        return on_step

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
