"""What routes share: the studio's public address for links they hand out."""

from __future__ import annotations

from fastapi import Request


def public_base_url(request: Request) -> str:
    """The studio's public address ending in "/": `public_url` when set, else the address this request came to.

    Only a trusted proxy's X-Forwarded-Proto counts (studio.api.guards); X-Forwarded-Host never does here.
    """
    configured = request.app.state.studio.settings.public_url
    return f"{configured}/" if configured else str(request.base_url)
