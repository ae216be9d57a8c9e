"""The one worker thread: it owns the resident pipeline and runs jobs oldest first.

claim → generate (progress and cancel through the step callback, cancel also between transformer blocks) → encode →
persist, with failures (including GPU out-of-memory) closing the job and leaving the worker ready for the next one.
An error outside a job (a database error while claiming) is logged and retried with back-off: the loop never ends
until the studio stops, and `/health` reports its heartbeat.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable

from studio.config import Settings
from studio.domain import errors
from studio.domain.recipe import Recipe
from studio.engine.contract import Canceled, GpuOutOfMemory, Pipeline, StepInfo
from studio.media import content_check
from studio.media.storage import MediaStore
from studio.services.job_closing import DATABASE_OUTAGE, JobClosing
from studio.services.metrics import Metrics
from studio.services.model_switch import ModelState, ResidentModel
from studio.services.updates import Updates
from studio.store import jobs
from studio.store.database import Database
from studio.store.rows import Job

# ModelState (model_switch) and DATABASE_OUTAGE (job_closing) are imported from here too
__all__ = ["DATABASE_OUTAGE", "ModelState", "Worker", "eta_seconds"]

log = logging.getLogger(__name__)

IDLE_POLL_S = 1.0  # also picks up jobs queued by other processes sharing the database
CANCEL_POLL_S = 1.0  # between blocks, a cancel asked in another process is read from the database this often
BACKOFF_S = (1.0, 2.0, 5.0, 10.0, 30.0)  # waits after consecutive failures of the loop itself


def eta_seconds(step: int, total: int, elapsed_s: float) -> float | None:
    """Seconds left in the denoising loop, assuming the remaining steps take as long as the done ones."""
    if step <= 0 or total <= 0:
        return None
    return max(0.0, elapsed_s / step * (total - step))


def should_batch_seeds(settings: Settings, pipeline: Pipeline) -> bool:
    """Batch a comparison's seeds where that is measured faster: on the CPU (0.66–0.80× the sequential time
    with the tiny models, README Performance). On a GPU it is unmeasured and needs N× the activations: off."""
    if settings.batch_seeds != "auto":
        return settings.batch_seeds == "on"
    return pipeline.info().device.startswith("cpu")


class Worker(ResidentModel, JobClosing):
    """Runs queued jobs one at a time on a resident pipeline, in a background thread.

    Loading and switching the model: ResidentModel (model_switch.py); the writes that end a job: JobClosing
    (job_closing.py).
    """

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
