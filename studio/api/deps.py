"""What routes share: the studio (one dependency, not a helper per module) and its public address for links."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from studio.api.security import principal
from studio.services.studio import Studio


def get_studio(request: Request) -> Studio:
    return request.app.state.studio  # type: ignore[no-any-return]


StudioDep = Annotated[Studio, Depends(get_studio)]
OwnerDep = Annotated[str, Depends(principal)]  # who is asking, for per-user limits (studio.api.security.principal)


def public_base_url(request: Request) -> str:
    """The studio's public address ending in "/": `public_url` when set, else the address this request came to.

    Only a trusted proxy's X-Forwarded-Proto counts (studio.api.guards); X-Forwarded-Host never does here.
    """
    configured = get_studio(request).settings.public_url
    return f"{configured}/" if configured else str(request.base_url)
