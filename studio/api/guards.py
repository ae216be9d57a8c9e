"""HTTP guards around the whole web app: the REST API and the Gradio UI mounted in it share every one of them.

Plain ASGI middlewares (they stream; nothing here buffers a response except the one page it rewrites):

- `ForwardedHeaders`: X-Forwarded-* and Forwarded headers count only from `trusted_proxies`; from anyone else they
  are removed before anything reads them (client addresses for limits, the URLs Gradio builds).
- `BodyLimit`: request bodies over `max_request_kb` get 413 before any handler reads them (uploads have their own
  limit, `max_upload_mb`).
- `SecurityHeaders`: no framing of the studio by other sites, no MIME sniffing.
- `LoginGuard`: the UI's login form counts failures per address and per user name (studio.api.security).
- `GradioAuth`: with auth on, the Gradio side accepts the API's credentials too (HTTP Basic of a UI user or a bearer
  token become a Gradio session), the MCP endpoint refuses anyone without them, and the page a stranger gets (the
  login form) no longer carries the list of endpoints.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import re
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

from studio import hosting
from studio.api.security import CHALLENGE, LoginThrottle, is_authorized

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

UPLOAD_PATHS = ("/gradio_api/upload",)
MCP_PREFIX = "/gradio_api/mcp"
_FORWARDED = (b"forwarded", b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", b"x-forwarded-port")


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def client_host(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


async def respond(send: Send, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    """A small complete JSON response, `{"detail": detail}`, shaped like FastAPI's own refusals."""
    body = json.dumps({"detail": detail}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def read_body(receive: Receive, limit: int | None = None) -> tuple[bytes, bool]:
    """The whole request body (or the first `limit` + 1 bytes of it); True when it went past `limit`."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if limit is not None and size > limit:
            return b"".join(chunks), True
        if not message.get("more_body", False):
            break
    return b"".join(chunks), False


def replay(body: bytes) -> Receive:
    """A `receive` that hands the app a body already read, then waits like a quiet client."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


class ForwardedHeaders:
    """Removes proxy headers unless the peer is a trusted proxy (uvicorn's ProxyHeadersMiddleware then applies them)."""

    def __init__(self, app: ASGIApp, *, trusted: list[str]) -> None:
        self.app = app
        self.networks = [ipaddress.ip_network(entry.strip(), strict=False) for entry in trusted]

    def _trusted(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.networks if network.version == address.version)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and not self._trusted(client_host(scope)):
            scope["headers"] = [(k, v) for k, v in scope.get("headers", ()) if k.lower() not in _FORWARDED]
        await self.app(scope, receive, send)


class BodyLimit:
    """413 for a request body over `max_bytes` (`max_upload_bytes` on upload routes), checked before the app reads it.

    Gradio's own upload route enforces `max_upload_mb` itself; the API's recipe upload gets that limit here.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int, max_upload_bytes: int, upload_paths: tuple[str, ...]) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_upload_bytes = max_upload_bytes
        self.upload_paths = upload_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "").rstrip("/")
        if scope["type"] != "http" or path in UPLOAD_PATHS:
            return await self.app(scope, receive, send)
        upload = path in self.upload_paths
        limit = self.max_upload_bytes if upload else self.max_bytes
        too_large = (
            f"file: over the limit of {limit // (1024 * 1024)} MB (max_upload_mb)"
            if upload
            else f"request body: over the limit of {limit // 1024} KB (max_request_kb)"
        )
        declared = header(scope, b"content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) > limit:
                return await respond(send, 413, too_large)
            return await self.app(scope, receive, send)
        if header(scope, b"transfer-encoding") is None:
            return await self.app(scope, receive, send)
        body, over = await read_body(receive, limit)  # chunked: count what arrives
        if over:
            return await respond(send, 413, too_large)
        await self.app(scope, replay(body), send)


class SecurityHeaders:
    """Frame only by the studio itself (by huggingface.co too on Spaces, which shows a Space in a frame)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        on_spaces = hosting.on_spaces()
        ancestors = "'self' https://huggingface.co" if on_spaces else "'none'"
        self.add = [
            (b"content-security-policy", f"frame-ancestors {ancestors}".encode()),
            (b"x-content-type-options", b"nosniff"),
        ]
        if not on_spaces:
            self.add.append((b"x-frame-options", b"DENY"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {bytes(k).lower() for k, _ in message.get("headers", ())}
                message["headers"] = [*message.get("headers", ()), *(h for h in self.add if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class LoginGuard:
    """The UI's login form (POST /login): refused while the address or the user name is locked out."""

    def __init__(self, app: ASGIApp, *, throttle: LoginThrottle) -> None:
        self.app = app
        self.throttle = throttle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST" or scope.get("path", "").rstrip("/") != "/login":
            return await self.app(scope, receive, send)
        body, _ = await read_body(receive)
        user = (parse_qs(body.decode("utf-8", errors="replace")).get("username") or [""])[0].strip()
        address = client_host(scope)
        wait = self.throttle.retry_after(address, user)
        if wait is not None:
            return await respond(send, 429, self.throttle.message(wait), {"Retry-After": str(wait)})
        status: list[int] = []

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(int(message["status"]))
            await send(message)

        await self.app(scope, replay(body), watch)
        if status and status[0] == 200:
            self.throttle.succeeded(user)
        elif status and 400 <= status[0] < 500:
            self.throttle.failed(address, user)


class GradioAuth:
    """With auth on: API credentials work on the Gradio side, MCP needs them, strangers get no endpoint list.

    `gradio` is Gradio's own app (the mounted one): its session tokens decide who is logged in.
    """

    API_PATHS = ("/api/", "/v/", "/generate", "/health", "/metrics", "/docs", "/openapi.json")
    _API_INFO = re.compile(rb"window\.gradio_api_info = .*?;</script>", re.DOTALL)

    def __init__(
        self, app: ASGIApp, *, settings: Any, throttle: LoginThrottle, gradio: Any, internal_token: str | None = None
    ) -> None:
        self.app = app
        self.settings = settings
        self.throttle = throttle
        self.gradio = gradio
        self.internal = f"Bearer {internal_token}" if internal_token else None  # the MCP server's own client
        self._sessions: dict[str, str] = {}  # principal → the Gradio session token made for it

    def _session_user(self, scope: Scope) -> str | None:
        cookies = SimpleCookie()
        cookies.load(header(scope, b"cookie") or "")
        for name in (f"access-token-{self.gradio.cookie_id}", f"access-token-unsecure-{self.gradio.cookie_id}"):
            if name in cookies and (user := self.gradio.tokens.get(cookies[name].value)):
                return str(user)
        return None

    def _api_user(self, authorization: str) -> str:
        """The Gradio user name for valid API credentials: the UI user, or "token:<hash>" as the API's `principal`."""
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() == "bearer":
            return "token:" + hashlib.sha256(credentials.strip().encode()).hexdigest()[:12]
        return self.throttle.basic_user(authorization)

    def _is_internal(self, scope: Scope, authorization: str) -> bool:
        if self.internal is None or not hmac.compare_digest(authorization.encode(), self.internal.encode()):
            return False
        try:
            return ipaddress.ip_address(client_host(scope)).is_loopback
        except ValueError:
            return False

    def _add_session(self, scope: Scope, user: str) -> None:
        token = self._sessions.get(user)
        if token is None or self.gradio.tokens.get(token) != user:
            token = secrets.token_urlsafe(24)
            self._sessions[user] = token
            self.gradio.tokens[token] = user
        cookie = f"access-token-unsecure-{self.gradio.cookie_id}={token}"
        existing = header(scope, b"cookie")
        headers = [(k, v) for k, v in scope.get("headers", ()) if k.lower() != b"cookie"]
        headers.append((b"cookie", (f"{existing}; {cookie}" if existing else cookie).encode("latin-1")))
        scope["headers"] = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(self.API_PATHS):
            return await self.app(scope, receive, send)
        user = self._session_user(scope)
        authorization = header(scope, b"authorization")
        if user is None and authorization and self._is_internal(scope, authorization):
            user = "mcp"
            self._add_session(scope, user)
        elif user is None and authorization:
            address = client_host(scope)
            basic_user = self.throttle.basic_user(authorization)
            wait = self.throttle.retry_after(address, basic_user)
            if wait is not None:
                return await respond(send, 429, self.throttle.message(wait), {"Retry-After": str(wait)})
            if is_authorized(self.settings, authorization):
                user = self._api_user(authorization)
                self._add_session(scope, user)
            else:
                self.throttle.failed(address, basic_user)
        if user is None and path.startswith(MCP_PREFIX):
            message = "authentication required: send HTTP Basic with a UI user or 'Authorization: Bearer <token>'"
            return await respond(send, 401, message, CHALLENGE)
        if user is None and scope.get("method") == "GET" and path == "/":
            return await self.app(scope, receive, self._without_api_info(send))
        await self.app(scope, receive, send)

    def _without_api_info(self, send: Send) -> Send:
        """Rewrite the login page so that it does not list the endpoints (Gradio embeds them for everyone)."""
        start: Message | None = None
        chunks: list[bytes] = []

        async def rewriting(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                return await send(message)
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = self._API_INFO.sub(b"window.gradio_api_info = {};</script>", b"".join(chunks))
            start["headers"] = [(k, v) for k, v in start.get("headers", ()) if k.lower() != b"content-length"]
            start["headers"].append((b"content-length", str(len(body)).encode()))
            await send(start)
            await send({"type": "http.response.body", "body": body})

        return rewriting
