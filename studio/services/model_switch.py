"""The worker's resident model: its state, building and loading its pipeline, and swapping it for another model.

Switching is for the single-process studio ("Use this model"): before each claim the worker loads the model the
oldest queued job needs, else the one the person chose, in place of the resident one (unload, build, load).
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable

from studio import hosting
from studio.config import Settings
from studio.domain import errors
from studio.domain.preset_types import Preset
from studio.engine.contract import Pipeline
from studio.engine.zero_gpu import ZeroGpuPipeline
from studio.services.metrics import Metrics
from studio.services.updates import Updates
from studio.store import jobs, library
from studio.store.database import Database

log = logging.getLogger(__name__)


class ModelState(enum.StrEnum):
    LOADING = "loading"
    READY = "ready"
    FAILED = "failed"
    WAITING = "waiting"  # fleet server: no live worker serves the model yet


def resident_pipeline(
    settings: Settings, preset: Preset, *, on_progress: Callable[..., None] | None = None
) -> Pipeline:
    """A new (unloaded) resident pipeline of `preset`: the studio's first, and each one the worker switches to."""
    from studio.engine.pipeline import ResidentPipeline  # built lazily: only the engine imports torch

    return ResidentPipeline(
        preset,
        models_dir=settings.models_dir,
        device=None if settings.device == "auto" else settings.device,
        memory_strategy=settings.memory_strategy,
        attention_backend=settings.attention_backend,
        compile_blocks=settings.compile,
        quantize=settings.quantize,
        on_progress=on_progress,
    )


def studio_pipeline(
    settings: Settings, preset: Preset, given: Pipeline | None, *, on_progress: Callable[..., None] | None = None
) -> tuple[Pipeline | None, bool]:
    """The pipeline a studio runs jobs on (None: it runs none) and whether its worker may switch models."""
    # Switching models is for the single-process studio that builds its own pipelines (not the fleet, ZeroGPU or a
    # pipeline handed in by a test)
    switchable = given is None and settings.workers > 0 and not settings.uses_fleet and not hosting.on_zero_gpu()
    pipeline = given
    if pipeline is None and settings.workers > 0:
        pipeline = resident_pipeline(settings, preset, on_progress=on_progress)
    if pipeline is not None and hosting.on_zero_gpu():  # a GPU exists only inside spaces.GPU: jobs run there
        pipeline = ZeroGpuPipeline(pipeline, preset=preset, channel_dir=library.incoming_dir(settings.media_dir))
    return pipeline, switchable


class ResidentModel:
    """Part of Worker (studio.services.worker): loads the resident pipeline and switches it by the queue's model."""

    # Set by Worker.__init__ (see there)
    db: Database
    pipeline: Pipeline
    metrics: Metrics | None
    updates: Updates
    state: ModelState
    load_error: str | None
    load_s: float | None
    model: str | None
    pipeline_for: Callable[[str], Pipeline] | None
    wanted: str | None
    switch_s: float | None
    _retry_load: bool
    # Worker's own: look at the queue now; claim the next job and fail it with an error
    wake: Callable[[], None]
    _fail_next: Callable[[str], None]

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

    def count_tokens(self, text: str) -> int | None:
        """Tokens the text encoder sees, once the model is loaded (None before)."""
        return self.pipeline.count_tokens(text) if self.state is ModelState.READY else None

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
