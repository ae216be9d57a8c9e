"""What the studio reports about itself: the model line's facts and /health's (Studio.model_info, Studio.health)."""

from __future__ import annotations

from dataclasses import dataclass

from studio.engine.contract import PipelineInfo
from studio.services.worker import ModelState


@dataclass(frozen=True)
class ModelInfo:
    """The model and its pipeline as the model line shows them (Studio.model_info; no database read)."""

    key: str
    label: str
    preview_mode: bool
    state: ModelState
    error: str | None
    load_s: float | None
    pipeline: PipelineInfo


@dataclass(frozen=True)
class Health:
    """The studio's state at a glance (Studio.health): the model, the worker and the queue."""

    model: ModelInfo
    worker_alive: bool
    worker_heartbeat_s: float
    worker_error: str | None
    queue_depth: int

    @property
    def ok(self) -> bool:
        """False when the model failed to load or the worker thread is dead (/health answers 503)."""
        return self.model.state is not ModelState.FAILED and self.worker_alive
