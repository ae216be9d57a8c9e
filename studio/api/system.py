"""/generate (the deployment guide's synchronous call), /health and /metrics."""

from __future__ import annotations

import sys
import time
from functools import partial
from typing import Any

import anyio
from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import JSONResponse, Response

from studio import __version__, jobs
from studio.api.deps import public_base_url
from studio.api.schemas import GenerateIn, HealthOut
from studio.api.security import principal, require_auth
from studio.metrics import CONTENT_TYPE
from studio.records import JobStatus
from studio.service import Studio
from studio.worker import ModelState

protected = APIRouter(tags=["system"], dependencies=[Depends(require_auth)])
open_router = APIRouter(tags=["system"])
GENERATE_WAIT_S = 30.0


def _studio(request: Request) -> Studio:
    return request.app.state.studio  # type: ignore[no-any-return]


@protected.post(
    "/generate",
    responses={
        200: {"description": '{"status": "success", "video_url": ..., "job_id": ..., "seed": ...}'},
        507: {"description": "GPU out of memory: lower the size or duration"},
    },
)
async def generate(body: GenerateIn, request: Request) -> JSONResponse:
    """Make a video and wait for it. Prefer POST /api/v1/jobs for anything long: this holds the connection."""
    studio = _studio(request)
    submit = partial(studio.submit, body.to_request(), owner=principal(request))
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
async def health(request: Request) -> JSONResponse:
    """Liveness and readiness: 200 while loading or ready; 503 when the model failed to load or the worker died.

    Async and one indexed read: it answers at once however many requests or event streams are in flight.
    """
    studio = _studio(request)
    state = studio.model_state
    worker = studio.worker
    torch = sys.modules.get("torch")
    body = HealthOut(
        status="error" if state is ModelState.FAILED or not worker.alive else _STATUS[state],
        gpu_available=bool(torch is not None and torch.cuda.is_available()),
        device=getattr(studio.pipeline, "device", "unknown"),
        model=studio.preset.key,
        model_state=state.value,
        model_error=studio.model_error,
        preview_mode=studio.preset.tiny,
        queue_depth=studio.job_counts().get(JobStatus.QUEUED, 0),
        version=__version__,
        precision=getattr(studio.pipeline, "precision", None),
        memory_strategy=strategy.describe() if (strategy := getattr(studio.pipeline, "strategy", None)) else None,
        attention_backend=getattr(studio.pipeline, "attention_backend", None),
        worker_alive=worker.alive,
        worker_heartbeat_s=round(time.monotonic() - worker.heartbeat, 1),
        worker_error=worker.loop_error,
    )
    code = status.HTTP_200_OK if body.status != "error" else status.HTTP_503_SERVICE_UNAVAILABLE
    return JSONResponse(body.model_dump(mode="json"), status_code=code)


_STATUS: dict[ModelState, Any] = {ModelState.READY: "ok", ModelState.LOADING: "loading"}


@protected.get("/metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Prometheus text format."""
    return Response(_studio(request).metrics.render(), media_type=CONTENT_TYPE)
