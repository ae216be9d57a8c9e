"""Who may call the API: a bearer token from `api_tokens`, or the UI's `user:password` as HTTP Basic.

With neither configured the API is open (a local studio); with either, every route except /health refuses
requests without valid credentials. Wrong credentials are counted per client address and per user name
(`LoginThrottle`, shared with the UI's login form): past `login_max_failures` in `login_window_s`, even the right
password is refused with 429 until the failures age out.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from fastapi import HTTPException, Request, status

from studio.config import Settings
from studio.services.limits import WindowCounter

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="wan-studio", Basic realm="wan-studio"'}


class LoginThrottle:
    """Failed logins per client address and per user name over a sliding window (in memory)."""

    def __init__(self, settings: Settings) -> None:
        window = settings.login_window_s
        self.by_address = WindowCounter(limit=settings.login_max_failures, window_s=window)
        self.by_user = WindowCounter(limit=settings.login_max_failures, window_s=window)

    @staticmethod
    def basic_user(authorization: str) -> str:
        """The user name of an HTTP Basic header ("" for anything else)."""
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() != "basic":
            return ""
        try:
            return base64.b64decode(credentials.strip(), validate=True).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            return ""

    def retry_after(self, address: str, user: str) -> int | None:
        """Seconds until this address (and this user name) may try again; None: now."""
        waits = [self.by_address.retry_after(address)]
        if user:
            waits.append(self.by_user.retry_after(f"user:{user}"))
        found = [wait for wait in waits if wait is not None]
        return max(found) if found else None

    def failed(self, address: str, user: str) -> None:
        self.by_address.add(address)
        if user:
            self.by_user.add(f"user:{user}")

    def succeeded(self, user: str) -> None:
        if user:
            self.by_user.clear(f"user:{user}")

    @staticmethod
    def message(wait: int) -> str:
        return f"too many failed logins: try again in {wait} s"


def auth_required(settings: Settings) -> bool:
    return bool(settings.api_tokens or settings.auth)


def is_authorized(settings: Settings, authorization: str) -> bool:
    """True when the Authorization header carries a configured token or UI user."""
    scheme, _, credentials = authorization.partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer":
        return any(hmac.compare_digest(credentials.encode(), token.encode()) for token in settings.api_tokens)
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(credentials, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return any(
            hmac.compare_digest(user.encode(), u.encode()) & hmac.compare_digest(password.encode(), p.encode())
            for u, p in settings.auth_pairs
        )
    return False


def principal(request: Request) -> str:
    """Who is asking, for per-user limits: "token:<hash prefix>", "user:<name>" or "ip:<address>"."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    settings: Settings = request.app.state.studio.settings
    if credentials and is_authorized(settings, request.headers["authorization"]):
        if scheme.lower() == "bearer":
            return "token:" + hashlib.sha256(credentials.strip().encode()).hexdigest()[:12]
        return "user:" + base64.b64decode(credentials.strip()).decode().partition(":")[0]
    return f"ip:{request.client.host if request.client else 'unknown'}"


def require_auth(request: Request) -> None:
    """FastAPI dependency for every protected route."""
    settings: Settings = request.app.state.studio.settings
    if not auth_required(settings):
        return
    authorization = request.headers.get("authorization", "")
    throttle: LoginThrottle = request.app.state.login_throttle
    address = request.client.host if request.client else "unknown"
    user = throttle.basic_user(authorization)
    if authorization and (wait := throttle.retry_after(address, user)) is not None:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, throttle.message(wait), {"Retry-After": str(wait)})
    if not is_authorized(settings, authorization):
        if authorization:
            throttle.failed(address, user)
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "authentication required: send 'Authorization: Bearer <token>' (STUDIO_API_TOKENS) "
            "or HTTP Basic with a UI user (STUDIO_AUTH)",
            headers=CHALLENGE,
        )
