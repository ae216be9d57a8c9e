"""Bodies of /health and /api/v1/models (studio/api/system.py, models.py): the server, its fleet, a download."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class FleetWorkerOut(BaseModel):
    name: str = Field(description="host:pid of the worker process")
    model: str = Field(description="the model whose queue it serves")
    device: str
    gpu_memory_gb: float | None
    state: str = Field(description="loading, ready or failed")
    error: str | None
    current_job_id: int | None
    heartbeat_age_s: float = Field(description="seconds since its last heartbeat")
    live: bool = Field(description="it heartbeat recently enough to be counted as serving")
    metrics_url: str | None


class FleetOut(BaseModel):
    workers: list[FleetWorkerOut]
    queued_by_model: dict[str, int]
    models_without_worker: list[str] = Field(description="models with jobs (or this server's) and no live worker")


class TransferOut(BaseModel):
    """A model's download or load onto the device, as /health and /api/v1/models report it."""

    model: str
    phase: Literal["checking", "downloading", "loading", "ready", "failed"]
    done_bytes: int
    total_bytes: int = Field(description="bytes still missing when the download started (cached files not counted)")
    cached_bytes: int
    progress: float | None = Field(description="0..1 of the bytes (downloading) or components (loading)")
    speed_bps: float | None
    eta_s: float | None
    current_file: str | None = Field(description="the file being fetched, or the component being loaded")
    files_done: int
    files_total: int
    message: str | None
    text: str = Field(description="the same in one line, as the model line shows it")

    @classmethod
    def of(cls, transfer: Any) -> TransferOut:
        return cls(
            model=transfer.model,
            phase=transfer.phase,
            done_bytes=transfer.done_bytes,
            total_bytes=transfer.total_bytes,
            cached_bytes=transfer.cached_bytes,
            progress=transfer.fraction,
            speed_bps=transfer.speed_bps,
            eta_s=transfer.eta_s,
            current_file=transfer.current_file,
            files_done=transfer.files_done,
            files_total=transfer.files_total,
            message=transfer.message,
            text=transfer.describe(),
        )


class HealthOut(BaseModel):
    status: Literal["ok", "loading", "waiting", "error"] = Field(
        description="waiting: a fleet server whose model no live worker serves yet (jobs queue meanwhile)"
    )
    gpu_available: bool
    device: str
    model: str
    model_state: str
    model_error: str | None
    preview_mode: bool
    queue_depth: int
    version: str
    precision: str | None = Field(None, description="the experts' weights: fp32 (CPU), bf16 or fp8")
    memory_strategy: str | None = Field(None, description="where the weights live and why (studio.engine.memory_plan)")
    attention_backend: str | None = Field(None, description="the attention kernel chosen at load")
    worker_alive: bool | None = Field(
        True, description="this process's worker is serving the queue (false: 503; null: it runs none, a fleet server)"
    )
    worker_heartbeat_s: float | None = Field(
        0.0, description="seconds since the worker loop (or its running job) last ran"
    )
    worker_error: str | None = Field(None, description="the worker loop's last error, while it retries after one")
    fleet: FleetOut | None = Field(None, description="Postgres only: every generation worker, and the queue per model")
    download: TransferOut | None = Field(
        None, description="while the model downloads or loads: bytes, speed, ETA, the file (or component) now"
    )
    next_model: str | None = Field(None, description="the model new jobs are made for, when a switch to it is coming")
