"""The one worker thread: it owns the resident pipeline and runs jobs oldest first.

claim → generate (progress and cancel through the step callback) → encode → persist, with failures
(including GPU out-of-memory) closing the job and leaving the worker ready for the next one.
"""

from __future__ import annotations

import enum
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

from studio import content, jobs, library, media
from studio.db import Database
from studio.generation import Canceled, GenerationResult, GpuOutOfMemory, Pipeline, StepInfo
from studio.metrics import Metrics
from studio.recipe import Recipe
from studio.records import Job

log = logging.getLogger(__name__)

IDLE_POLL_S = 1.0  # also picks up jobs queued by other processes sharing the database


class ModelState(enum.StrEnum):
    LOADING = "loading"
    READY = "ready"
    FAILED = "failed"


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
        media_dir: Path,
        metrics: Metrics | None = None,
        on_job_end: Callable[[int], None] | None = None,
        serve_queue: bool = True,
        batch: bool = False,
        content_check: content.ContentChecker | None = None,
    ) -> None:
        self.db = db
        self.pipeline = pipeline
        self.media_dir = media_dir
        self.metrics = metrics
        self.on_job_end = on_job_end  # called in the worker thread after a job closes: keep it quick
        self.batch = batch  # run a comparison's queued seeds in one pipeline call (see Studio: when it is faster)
        self.serve_queue = serve_queue  # False on ZeroGPU: jobs run inline in the request (Studio.run_inline)
        self.content_check = content_check  # scores each new video before its row is saved; None: no check
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.state = ModelState.LOADING
        self.load_error: str | None = None
        self.load_s: float | None = None
        # Bumped after every progress report and every job end, so waiters in this process need not poll.
        self.updates = threading.Condition()
        self.update_count = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="studio-worker", daemon=True)

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

    def wait_for_update(self, seen: int, timeout: float) -> int:
        """Block until `update_count` moves past `seen` (or the timeout); returns the current count."""
        with self.updates:
            self.updates.wait_for(lambda: self.update_count != seen, timeout)
            return self.update_count

    def _announce(self) -> None:
        with self.updates:
            self.update_count += 1
            self.updates.notify_all()

    def _run(self) -> None:
        # 1. Load the model once; it stays resident for the life of the process.
        try:
            self.load_s = self.pipeline.load()
            if self.metrics:
                self.metrics.model_load_seconds.set(self.load_s)
            self.state = ModelState.READY
            log.info("model ready in %.1f s", self.load_s)
        except Exception as exc:
            self.state = ModelState.FAILED
            self.load_error = f"{type(exc).__name__}: {exc}"
            log.exception("model failed to load; jobs stay queued")
            return
        # 2. Serve the queue until stopped.
        while self.serve_queue and not self._stop.is_set():
            if not self.run_next():
                self._wake.wait(IDLE_POLL_S)
                self._wake.clear()

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

    def run_claimed(self, job_id: int) -> bool:
        """Run one particular queued job in the calling thread (inline execution); False if it was not queued."""
        with self.db.write() as session:
            job = jobs.claim(session=session, job_id=job_id, worker=self.name)
        if job is None:
            return False
        self.run_job(job)
        return True

    def run_job(self, job: Job) -> None:
        """Generate, encode and persist one claimed job, closing it whatever happens."""
        recipe = Recipe.from_dict(job.recipe)
        started = time.perf_counter()
        try:
            result = self.pipeline.generate(recipe, on_step=self._progress_reporter(job.id, recipe))
            self._persist(job.id, recipe, result)
            if self.metrics:
                self.metrics.observe_job(recipe, time.perf_counter() - started)
        except Canceled:
            self._cancel(job.id)
        except GpuOutOfMemory as exc:
            self._fail(job.id, str(exc), jobs.OUT_OF_MEMORY)
        except Exception as exc:
            log.exception("job %s failed", job.id)
            self._fail(job.id, f"{type(exc).__name__}: {exc}", "error")
        finally:
            self._announce()
            if self.on_job_end:
                self.on_job_end(job.id)

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
            results = self.pipeline.generate_batch(recipes, on_step=on_step)
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
                    self._fail(job.id, f"{type(exc).__name__}: {exc}", "error")
        except Canceled:
            for job in batch:
                self._cancel(job.id)
        except GpuOutOfMemory as exc:
            for job in batch:
                self._fail(job.id, str(exc), jobs.OUT_OF_MEMORY)
        except Exception as exc:
            log.exception("batch %s failed", [job.id for job in batch])
            for job in batch:
                self._fail(job.id, f"{type(exc).__name__}: {exc}", "error")
        finally:
            self._announce()
            for job in batch:
                if self.on_job_end:
                    self.on_job_end(job.id)

    def _cancel(self, job_id: int) -> None:
        with self.db.write() as session:
            jobs.mark_canceled(session=session, job_id=job_id)
        log.info("job %s canceled", job_id)

    def _progress_reporter(self, job_id: int, recipe: Recipe) -> Callable[[StepInfo], None]:
        last_elapsed = 0.0

        def on_step(info: StepInfo) -> None:
            nonlocal last_elapsed
            if self.metrics:
                self.metrics.observe_step(recipe, info.elapsed_s - last_elapsed)
            last_elapsed = info.elapsed_s
            eta = eta_seconds(info.step, info.total, info.elapsed_s)
            with self.db.write() as session:
                cancel = jobs.report_progress(
                    session=session, job_id=job_id, step=info.step, total=info.total, eta_s=eta
                )
            self._announce()
            if cancel:
                raise Canceled(f"job {job_id} canceled at step {info.step}/{info.total}")

        return on_step

    def _persist(self, job_id: int, recipe: Recipe, result: GenerationResult) -> None:
        frames = result.frames
        started = time.perf_counter()
        incoming = library.incoming_dir(self.media_dir)
        video_tmp, poster_tmp = incoming / f"job-{job_id}.mp4", incoming / f"job-{job_id}.jpg"
        try:
            # What the MP4 and the row carry: the recipe, plus the precision of the weights that made it
            stored = recipe.to_dict() | ({"precision": result.precision} if result.precision else {})
            media.write_mp4(frames, video_tmp, fps=recipe.fps, recipe=stored)
            media.write_poster(frames, poster_tmp)
            timings = {
                "load_s": self.load_s or 0.0,
                "text_encode_s": result.text_encode_s,
                "denoise_s": result.denoise_s,
                "decode_s": result.decode_s,
                "encode_s": time.perf_counter() - started,
            }
            if result.peak_memory_gb is not None:
                timings["peak_memory_gb"] = result.peak_memory_gb
            # Scored before the row exists, so a flagged video is never seen unflagged; never raises (None: no score).
            verdict = self.content_check.check_frames(frames) if self.content_check else None
            with self.db.write() as session:
                video = library.add(
                    session=session,
                    media_dir=self.media_dir,
                    recipe=recipe,
                    video_file=video_tmp,
                    poster_file=poster_tmp,
                    job_id=job_id,
                    timings=timings,
                    group_id=jobs.get(session=session, job_id=job_id).group_id,
                    stored_recipe=stored,
                )
                content.apply(video, verdict)
                jobs.finish(session=session, job_id=job_id, timings=timings)
        finally:
            video_tmp.unlink(missing_ok=True)
            poster_tmp.unlink(missing_ok=True)

    def _fail(self, job_id: int, error: str, kind: str) -> None:
        if self.metrics:
            self.metrics.count_error(kind)
        with self.db.write() as session:
            jobs.fail(session=session, job_id=job_id, error=error, kind=kind)
