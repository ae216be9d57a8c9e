"""The REST API: a FastAPI app that the Gradio UI is mounted into (API routes first, UI at "/")."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from pydantic import BaseModel

from studio import __version__
from studio.admission import OutOfSpace, QueueFull
from studio.api import jobs as jobs_routes
from studio.api import permalinks, system, videos
from studio.api.schemas import GenerateIn, JobCreate, JobOut
from studio.api.security import LoginThrottle, require_auth
from studio.callbacks import CallbackSender
from studio.jobs import InvalidTransition, JobNotFound
from studio.library import VideoNotFound
from studio.recipe import RecipeError
from studio.service import Studio

SWAGGER_ASSETS = Path(__file__).resolve().parents[2] / "assets" / "swagger"
CALLBACK_REDELIVERY_WINDOW = timedelta(days=1)  # older owed callbacks are left alone: nobody is waiting for them


def create_app(studio: Studio) -> FastAPI:
    """The API for a started Studio; `app.state.studio` is how routes reach it."""
    app = FastAPI(
        title="Wan Studio API",
        version=__version__,
        description="Text-to-video jobs on Wan models: submit, follow, download. See the README.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.studio = studio
    app.state.login_throttle = LoginThrottle(studio.settings)  # shared with the UI's login form (studio.web)
    app.state.open_streams = {}  # principal → event streams open now (studio.api.jobs)
    _add_error_handlers(app)
    _add_docs(app)
    _add_callbacks(app, studio)
    for router in (jobs_routes.router, videos.router):
        app.include_router(router, dependencies=[Depends(require_auth)])
    app.include_router(system.protected)
    app.include_router(system.open_router)
    app.include_router(permalinks.router)  # /v/<token> pages are public; its /api/v1 routes carry require_auth
    return app


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RecipeError)
    async def bad_recipe(_request: Request, exc: RecipeError) -> JSONResponse:
        detail = [{"loc": ["body", exc.field], "msg": str(exc), "type": "value_error"}]
        return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    @app.exception_handler(QueueFull)
    async def queue_full(_request: Request, exc: QueueFull) -> JSONResponse:
        return JSONResponse(
            {"detail": str(exc)},
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            headers={"Retry-After": str(exc.retry_after_s)},
        )

    @app.exception_handler(OutOfSpace)
    async def out_of_space(_request: Request, exc: OutOfSpace) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_507_INSUFFICIENT_STORAGE)

    @app.exception_handler(JobNotFound)
    @app.exception_handler(VideoNotFound)
    async def not_found(_request: Request, exc: LookupError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_404_NOT_FOUND)

    @app.exception_handler(InvalidTransition)
    async def conflict(_request: Request, exc: InvalidTransition) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_409_CONFLICT)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's shape, with messages that start with the field name like every other 422 here.
        detail = [
            {**{k: v for k, v in error.items() if k in ("loc", "type", "ctx")}, "msg": _field_message(error)}
            for error in exc.errors()
        ]
        return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


def _first(metadata: list[Any], names: tuple[str, ...]) -> Any:
    return next((getattr(m, name) for m in metadata for name in names if hasattr(m, name)), None)


def _allowed_ranges(*models: type[BaseModel]) -> dict[str, str]:
    """Field name → "low–high" from the bounds declared on the API's body models."""
    ranges: dict[str, str] = {}
    for model in models:
        for name, field in model.model_fields.items():
            low = next(
                (getattr(m, a) for m in field.metadata for a in ("ge", "gt", "min_length") if hasattr(m, a)), None
            )
            high = next(
                (getattr(m, a) for m in field.metadata for a in ("le", "lt", "max_length") if hasattr(m, a)), None
            )
            if low is not None and high is not None:
                unit = " characters" if any(hasattr(m, "max_length") for m in field.metadata) else ""
                ranges[name] = f"{low}–{high}{unit}"
    return ranges


ALLOWED = _allowed_ranges(JobCreate, GenerateIn)


def _field_message(error: dict[str, Any]) -> str:
    """E.g. "seed: Input should be less than or equal to 4294967295 (allowed: -1–4294967295)"."""
    loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")]
    field = loc[-1] if loc else "body"
    allowed = f" (allowed: {ALLOWED[field]})" if field in ALLOWED else ""
    return f"{'.'.join(loc) or 'body'}: {error.get('msg')}{allowed}"


def _add_docs(app: FastAPI) -> None:
    """OpenAPI and Swagger UI served from this machine (no CDN), behind the same auth as the API."""
    assets = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css"}

    @app.get("/api/static/swagger/{name}", include_in_schema=False, dependencies=[Depends(require_auth)])
    def swagger_asset(name: str) -> FileResponse:
        if name not in assets:  # a fixed list: no path ever comes from the request
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"name: no asset {name!r}")
        return FileResponse(SWAGGER_ASSETS / name, media_type=assets[name])

    @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(require_auth)])
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, dependencies=[Depends(require_auth)])
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Wan Studio API",
            swagger_js_url="/api/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/api/static/swagger/swagger-ui.css",
            swagger_favicon_url="data:,",
        )


def _add_callbacks(app: FastAPI, studio: Studio) -> None:
    """POST the final job to its callback_url, off the worker thread; at start, re-send those a restart cut off
    (jobs that ended in the last CALLBACK_REDELIVERY_WINDOW, interrupted ones included)."""
    sender = CallbackSender(allow=studio.callback_allow)
    app.state.callbacks = sender
    queued: set[int] = set()  # jobs whose callback this process has queued: the start-up scan and a job end can meet
    lock = threading.Lock()

    def send(job_id: int) -> None:
        view = studio.job(job_id)
        with lock:
            if not view.callback_url or not view.is_final or job_id in queued:
                return
            queued.add(job_id)
        sender.send(
            view.callback_url,
            lambda: JobOut.from_view(studio.job(job_id)).model_dump(mode="json"),
            lambda delivered: studio.callback_done(job_id),  # delivered or given up: either way not owed any more
        )

    studio.job_end_listeners.append(send)
    for job_id in studio.owed_callbacks(within=CALLBACK_REDELIVERY_WINDOW):
        send(job_id)
