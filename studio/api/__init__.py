"""The REST API: a FastAPI app that the Gradio UI is mounted into (API routes first, UI at "/").

Its lifespan is the one place the studio's background work starts and stops: the worker (with the model load),
the webhook sender, and the re-sending of callbacks a restart cut off.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from studio import __version__
from studio.api import comparisons, errors, grids, images, permalinks, recipes, system, videos
from studio.api import jobs as jobs_routes
from studio.api import models as models_routes
from studio.api.comparison_schemas import ComparisonIn, ExportIn
from studio.api.job_schemas import FrameIn, GenerateIn, JobCreate, JobOut
from studio.api.security import LoginThrottle, require_auth
from studio.api.video_schemas import TrimIn
from studio.domain.errors import NotFound
from studio.services.studio import Studio
from studio.services.webhooks import CallbackSender

SWAGGER_ASSETS = Path(__file__).resolve().parents[2] / "assets" / "swagger"
log = logging.getLogger(__name__)
CALLBACK_REDELIVERY_WINDOW = timedelta(days=1)  # older owed callbacks are left alone: nobody is waiting for them
CALLBACK_POLL_S = 1.0  # fleet: how often a server looks for ended jobs whose callback is owed


def create_app(studio: Studio) -> FastAPI:
    """The API for a Studio; `app.state.studio` is how routes reach it (studio.api.deps). Serving it starts it."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        studio.start()  # migrate, recover, start the worker (the model loads in the background)
        _send_callbacks(app, studio)
        try:
            yield
        finally:
            app.state.callbacks.stop()
            studio.stop()

    app = FastAPI(
        title="Wan Studio API",
        version=__version__,
        description="Text-to-video jobs on Wan models: submit, follow, download. See the README.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.studio = studio
    app.state.login_throttle = LoginThrottle(studio.settings)  # shared with the UI's login form (studio.web)
    app.state.open_streams = {}  # principal → event streams open now (studio.api.jobs)
    app.state.callbacks = CallbackSender(allow=studio.callback_allow)
    errors.add_handlers(app, JobCreate, ComparisonIn, GenerateIn, TrimIn, ExportIn, FrameIn)
    _add_docs(app)
    for router in (jobs_routes.router, videos.router, comparisons.router, grids.router, recipes.router, images.router):
        app.include_router(router, dependencies=[Depends(require_auth)])
    app.include_router(models_routes.router, dependencies=[Depends(require_auth)])
    app.include_router(system.protected)
    app.include_router(system.open_router)
    app.include_router(permalinks.router)  # /v/<token> pages are public; its /api/v1 routes carry require_auth
    return app


def _add_docs(app: FastAPI) -> None:
    """OpenAPI and Swagger UI served from this machine (no CDN), behind the same auth as the API."""
    assets = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css"}

    @app.get("/api/static/swagger/{name}", include_in_schema=False, dependencies=[Depends(require_auth)])
    def swagger_asset(name: str) -> FileResponse:
        if name not in assets:  # a fixed list: no path ever comes from the request
            raise NotFound("name", f"no asset {name!r}")
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


def _send_callbacks(app: FastAPI, studio: Studio) -> None:
    """POST the final job to its callback_url, off the worker thread; re-send now those a restart cut off (jobs that
    ended in the last CALLBACK_REDELIVERY_WINDOW, interrupted ones included)."""
    sender: CallbackSender = app.state.callbacks
    queued: set[int] = set()  # jobs whose callback this process has queued: the start-up scan and a job end can meet
    lock = threading.Lock()

    def send(job_id: int) -> None:
        view = studio.job(job_id)
        with lock:
            if not view.callback_url or not view.is_final or job_id in queued:
                return
            if not studio.claim_callback(job_id):  # fleet: another server sends it
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
    if studio.engine is not None:  # fleet: jobs end in worker processes; servers find them and share the sending

        def follow() -> None:
            while not sender.stopped.wait(CALLBACK_POLL_S):
                try:
                    for job_id in studio.owed_callbacks(within=CALLBACK_REDELIVERY_WINDOW):
                        send(job_id)
                except Exception:
                    log.warning("could not look for callbacks to send", exc_info=True)

        threading.Thread(target=follow, name="studio-callback-follower", daemon=True).start()
