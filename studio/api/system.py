"""/generate (the deployment guide's synchronous call), /health and /metrics."""

from __future__ import annotations

import sys
from functools import partial
from typing import Any, Literal

import anyio
from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import JSONResponse, Response

from studio import __version__
from studio.api.deps import OwnerDep, StudioDep, public_base_url
from studio.api.job_schemas import GenerateIn
from studio.api.security import require_auth
from studio.api.system_schemas import FleetOut, FleetWorkerOut, HealthOut, TransferOut
from studio.services.health import FleetState
from studio.services.metrics import CONTENT_TYPE
from studio.services.worker import ModelState
from studio.store import jobs
from studio.store.rows import JobStatus

protected = APIRouter(tags=["system"], dependencies=[Depends(require_auth)])
open_router = APIRouter(tags=["system"])
GENERATE_WAIT_S = 30.0


@protected.post(
    "/generate",
    responses={
        200: {"description": '{"status": "success", "video_url": ..., "job_id": ..., "seed": ...}'},
        507: {"description": "GPU out of memory: lower the size or duration"},
    },
)
async def generate(body: GenerateIn, request: Request, studio: StudioDep, owner: OwnerDep) -> JSONResponse:
    """Make a video and wait for it. Prefer POST /api/v1/jobs for anything long: this holds the connection."""
    submit = partial(studio.submit, body.to_request(), owner=owner)
    view = await anyio.to_thread.run_sync(submit)
    while not view.is_final:
        view = await studio.wait_async(view.id, timeout=GENERATE_WAIT_S)  # holds no thread while it waits
    answer: dict[str, Any] = {"job_id": view.id, "seed": view.recipe.seed}
    if view.status is JobStatus.SUCCEEDED and view.video is not None:
        video_url = f"{public_base_url(request)}api/v1/videos/{view.video.id}/file"
        return JSONResponse({"status": "success", "video_url": video_url, "video_id": view.video.id, **answer})
    if view.error_kind == jobs.OUT_OF_MEMORY:
        code = status.HTTP_507_INSUFFICIENT_STORAGE
    elif view.status is JobStatus.CANCELED:
        code = status.HTTP_409_CONFLICT
    else:
        code = status.HTTP_500_INTERNAL_SERVER_ERROR
    message = view.error or f"job {view.id} was {view.status.value}"
    return JSONResponse({"status": "error", "message": message, **answer}, status_code=code)


@open_router.get("/health", response_model=HealthOut)
async def health(studio: StudioDep) -> JSONResponse:
    """Liveness and readiness: 200 while loading or ready; 503 when the model failed to load or the worker died.

    Async and one indexed read: it answers at once however many requests or event streams are in flight.
    """
    now = studio.health()
    model = now.model
    torch = sys.modules.get("torch")  # imported by the engine when a real pipeline runs here
    body = HealthOut(
        status=_status(model.state) if now.ok else "error",
        gpu_available=bool(torch is not None and torch.cuda.is_available()),
        device=model.pipeline.device,
        model=model.key,
        model_state=model.state.value,
        model_error=model.error,
        preview_mode=model.preview_mode,
        queue_depth=now.queue_depth,
        version=__version__,
        precision=model.pipeline.precision,
        memory_strategy=model.pipeline.memory_strategy,
        attention_backend=model.pipeline.attention_backend,
        worker_alive=now.worker_alive,
        worker_heartbeat_s=now.worker_heartbeat_s,
        worker_error=now.worker_error,
        fleet=_fleet(now.fleet),
        download=TransferOut.of(model.transfer) if model.transfer is not None else None,
        next_model=model.next_model,
    )
    code = status.HTTP_200_OK if now.ok else status.HTTP_503_SERVICE_UNAVAILABLE
    return JSONResponse(body.model_dump(mode="json"), status_code=code)


@protected.get("/metrics", response_class=Response)
def metrics(studio: StudioDep) -> Response:
    """Prometheus text format."""
    return Response(studio.metrics_text(), media_type=CONTENT_TYPE)


def _fleet(fleet: FleetState | None) -> FleetOut | None:
    if fleet is None:
        return None
    workers = [
        FleetWorkerOut(**{name: getattr(view, name) for name in FleetWorkerOut.model_fields}) for view in fleet.workers
    ]
    return FleetOut(
        workers=workers, queued_by_model=fleet.queued_by_model, models_without_worker=fleet.models_without_worker
    )


def _status(state: ModelState) -> Literal["ok", "loading", "waiting"]:
    if state is ModelState.READY:
        return "ok"
    return "waiting" if state is ModelState.WAITING else "loading"
