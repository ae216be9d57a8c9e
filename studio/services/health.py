"""What the studio reports about itself: the model line's facts and /health's (Studio.model_info, Studio.health)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from studio.domain.downloads import Transfer
from studio.domain.preset_types import Preset
from studio.engine.contract import PipelineInfo
from studio.services.models import Models
from studio.services.worker import ModelState, Worker
from studio.store import fleet as fleet_store
from studio.store.database import Database
from studio.store.fleet import WorkerView


@dataclass(frozen=True)
class ModelInfo:
    """The model and its pipeline as the model line shows them (Studio.model_info)."""

    key: str
    label: str
    preview_mode: bool
    state: ModelState
    error: str | None
    load_s: float | None
    pipeline: PipelineInfo
    transfer: Transfer | None = None  # the model's download or load in progress (or its last failure)
    next_model: str | None = None  # the model new jobs are made for, when it differs (a switch is coming)


@dataclass(frozen=True)
class FleetState:
    """The fleet as any server sees it: every worker, the queue per model, and the models nobody serves."""

    workers: list[WorkerView]
    queued_by_model: dict[str, int]
    models_without_worker: list[str]

    @classmethod
    def of(cls, workers: list[WorkerView], queued_by_model: dict[str, int], own_model: str) -> FleetState:
        served = {worker.model for worker in workers if worker.live and worker.state != ModelState.FAILED}
        wanted = {own_model, *queued_by_model, *(worker.model for worker in workers)}
        return cls(workers, queued_by_model, sorted(wanted - served))

    @classmethod
    def read(cls, db: Database, own_model: str) -> FleetState:
        with db.read() as session:
            workers, queued = fleet_store.workers(session=session), fleet_store.queued_by_model(session=session)
        return cls.of(workers, queued, own_model)


def studio_model_info(*, preset: Preset, models: Models, worker: Worker | None, db: Database) -> ModelInfo:
    """The model line of a studio (Studio.model_info): this process's worker, or the fleet's (`preset`: the next)."""
    if worker is not None:
        shown = models.get(worker.model) if worker.model else preset
        return local_model_info(shown, worker, transfer=models.transfers.get(shown.key), next_model=preset.key)
    with db.read() as session:
        return fleet_model_info(preset, fleet_store.workers(session=session))


def local_model_info(
    preset: Preset, worker: Worker, *, transfer: Transfer | None = None, next_model: str | None = None
) -> ModelInfo:
    """The model line of a process that runs the model itself: its worker's state and pipeline."""
    return ModelInfo(
        key=preset.key,
        label=preset.label,
        preview_mode=preset.tiny,
        state=worker.state,
        error=worker.load_error,
        load_s=worker.load_s,
        pipeline=worker.pipeline.info(),
        transfer=transfer if worker.state is not ModelState.READY else None,
        next_model=next_model if next_model != preset.key else None,
    )


def fleet_model_info(preset: Preset, workers: list[WorkerView]) -> ModelInfo:
    """The model line of a server that runs no model itself: the best state among the live workers of its model."""
    mine = [worker for worker in workers if worker.model == preset.key and worker.live]
    ready = [worker for worker in mine if worker.state == ModelState.READY]
    if ready:
        state, source = ModelState.READY, ready[0]
    elif loading := [worker for worker in mine if worker.state == ModelState.LOADING]:
        state, source = ModelState.LOADING, loading[0]
    elif mine:
        state, source = ModelState.FAILED, mine[0]
    else:
        state, source = ModelState.WAITING, None
    pipeline = PipelineInfo(device="fleet: no worker")
    if source is not None:
        device = f"fleet: {len(ready)} worker(s) ready, {source.device}" if ready else f"fleet: {source.device}"
        pipeline = PipelineInfo(**{**(source.pipeline or {}), "device": device})
    return ModelInfo(
        key=preset.key,
        label=preset.label,
        preview_mode=preset.tiny,
        state=state,
        error=source.error if source else None,
        load_s=None,
        pipeline=pipeline,
    )


@dataclass(frozen=True)
class Health:
    """The studio's state at a glance (Studio.health): the model, this process's worker, the queue, the fleet."""

    model: ModelInfo
    worker_alive: bool | None  # None: this process runs no worker (a fleet server)
    worker_heartbeat_s: float | None
    worker_error: str | None
    queue_depth: int
    fleet: FleetState | None = None  # Postgres only

    @classmethod
    def of(cls, model: ModelInfo, worker: Worker | None, *, queue_depth: int, fleet: FleetState | None) -> Health:
        """Health from the model line, this process's worker (None: it runs none), the queue and the fleet."""
        return cls(
            model=model,
            worker_alive=worker.alive if worker else None,
            worker_heartbeat_s=round(time.monotonic() - worker.heartbeat, 1) if worker else None,
            worker_error=worker.loop_error if worker else None,
            queue_depth=queue_depth,
            fleet=fleet,
        )

    @property
    def ok(self) -> bool:
        """False when this process's model failed to load or its worker thread is dead (/health answers 503).

        A fleet server is healthy while it serves: a model without a worker is a state of the fleet, not of it.
        """
        if self.worker_alive is None:
            return True
        return self.model.state is not ModelState.FAILED and self.worker_alive
