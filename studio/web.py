"""The web app: the REST API, the Gradio UI mounted at "/", and the guards around both (studio.api.guards)."""

from __future__ import annotations

import ipaddress
import logging
import secrets
import socket
from typing import Any

import gradio as gr
import uvicorn
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.routing import Mount
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from studio.api import create_app, images, recipes
from studio.api.guards import BodyLimit, ForwardedHeaders, GradioAuth, LoginGuard, SecurityHeaders
from studio.config import Settings
from studio.services.studio import Studio
from studio.ui import CSS_PATH, HEAD_PATH, build_ui
from studio.ui.history import HISTORY_CSS

log = logging.getLogger("studio")


class ReadyServer(uvicorn.Server):
    """uvicorn's server that says, once it listens, the one line a newcomer needs: the address to open."""

    def __init__(self, config: uvicorn.Config, *, address: str) -> None:
        super().__init__(config)
        self.address = address

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            log.info("Wan Studio is ready: open %s", self.address)


def local_url(settings: Settings) -> str:
    """How this process reaches itself (Gradio's MCP server calls the app there, never at a client-named Host)."""
    host = settings.host
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"http://{host}:{settings.port}/"
    if address.is_unspecified:
        address = ipaddress.ip_address("::1" if address.version == 6 else "127.0.0.1")
    shown = f"[{address}]" if address.version == 6 else str(address)
    return f"http://{shown}:{settings.port}/"


def private_paths(settings: Settings) -> list[str]:
    """Files Gradio must never read or serve, whatever a request names: the database and the model weights."""
    paths = [str(settings.models_dir), str(settings.data_dir.resolve() / "manifests")]
    if (database := settings.database_file) is not None:
        paths += [str(database), f"{database}-wal", f"{database}-shm", f"{database}-journal"]
    return paths


def _connect_mcp(server: Any, url: str) -> str:
    """Point Gradio's MCP server at this process and let its own client in; returns the token it logs in with.

    The MCP server runs each tool call through a gradio_client Client of the app itself, forwarding the caller's
    headers (so the caller's credentials decide who the job belongs to). `launch()` would set its address; mounting
    leaves it to the first request's Host header, which a client chooses. The Client also reads the app's config on
    its own, without the caller's headers: with auth on it needs credentials of its own, a random bearer token that
    studio.api.guards accepts from the loopback only.
    """
    from gradio_client import Client

    token = secrets.token_urlsafe(32)
    server._local_url = url

    def own_client() -> Client:
        if server._client_instance is None:  # as gradio.mcp builds it (6.31), plus the token
            server._client_instance = Client(
                url,
                download_files=False,
                verbose=False,
                analytics_enabled=False,
                ssl_verify=False,
                _skip_components=False,
                headers={"x-gradio-user": "mcp", "Authorization": f"Bearer {token}"},
            )
        return server._client_instance

    server._get_or_create_client = own_client
    return token


def build_app(studio: Studio) -> FastAPI:
    """The whole app for a started Studio, as `app.py` serves it (tests build it the same way)."""
    settings = studio.settings
    studio.open()  # the UI's first values come from the database; serving the app starts the worker
    # 1. API routes first: routes added after the UI is mounted at "/" would be shadowed by it.
    app = create_app(studio)
    throttle = app.state.login_throttle

    # 2. The UI at "/"
    demo = build_ui(studio).queue(default_concurrency_limit=8)
    options: dict[str, Any] = {"mcp_server": settings.mcp} if settings.mcp else {}
    app = gr.mount_gradio_app(
        app,
        demo,
        path="/",
        auth=settings.auth_pairs or None,
        allowed_paths=[str(settings.media_dir)],
        blocked_paths=private_paths(settings),
        ssr_mode=False,  # Gradio 6.27–6.31: auth bypass with SSR on
        css_paths=[CSS_PATH, HISTORY_CSS],
        head_paths=[HEAD_PATH],
        show_error=False,  # gr.Error messages still show; other exceptions become a generic error, not a traceback
        max_file_size=f"{settings.max_upload_mb}mb",
        run_history=False,  # the studio keeps its own history; Gradio's /gradio_api/runs page would list endpoints
        footer_links=["api", "gradio", "settings"],
        **options,
    )
    # Gradio checks that an input file comes from its upload folder only once it believes it has launched, and
    # mounting never tells it so: without this, any UI event could make the server read any file (issue 10, C1).
    demo.has_launched = True
    mcp_token = _connect_mcp(demo.mcp_server_obj, local_url(settings)) if demo.mcp_server_obj is not None else None
    gradio_app = next(route.app for route in app.routes if isinstance(route, Mount) and route.path == "")

    # 3. Guards around everything; the last one added runs first.
    # Our own CORS policy (none by default); with it in place Gradio adds no permissive CORS of its own.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST", "DELETE"],
        allow_headers=["Authorization", "Content-Type"],
    )
    if settings.auth:
        app.add_middleware(
            GradioAuth, settings=settings, throttle=throttle, gradio=gradio_app, internal_token=mcp_token
        )
    app.add_middleware(LoginGuard, throttle=throttle)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_request_kb * 1024,
        max_upload_bytes=settings.max_upload_mb * 1024 * 1024,
        upload_paths=(recipes.READ_PATH, images.UPLOAD_PATH),
    )
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    app.add_middleware(ForwardedHeaders, trusted=settings.trusted_proxies)
    return app
