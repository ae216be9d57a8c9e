"""Who may call the API: a bearer token from `api_tokens`, or the UI's `user:password` as HTTP Basic.

With neither configured the API is open (a local studio); with either, every route except /health refuses
requests without valid credentials.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from fastapi import HTTPException, Request, status

from studio.config import Settings

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="wan-studio", Basic realm="wan-studio"'}


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
    if auth_required(settings) and not is_authorized(settings, request.headers.get("authorization", "")):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "authentication required: send 'Authorization: Bearer <token>' (STUDIO_API_TOKENS) "
            "or HTTP Basic with a UI user (STUDIO_AUTH)",
            headers=CHALLENGE,
        )
