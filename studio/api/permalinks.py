"""Share links: `/v/<token>` pages that play one video without a login, and the API that makes and revokes them.

The page is self-contained (inline CSS and one inline script, both allowed by hash in its Content-Security-Policy;
no external assets, no Gradio). Its media come through the same token (`/v/<token>/video.mp4`, `/poster.jpg`),
with file paths taken from the video row, never from the request. An unknown, malformed, revoked or expired token
gets the same 404 page, so a URL says nothing about why it stopped working. With a remote media store the media
routes redirect (307) to a short-lived presigned URL of the store, and the page's policy allows the store's origin.

A video flagged by the content check (studio/content.py) is blurred, poster included, behind a "Show anyway" button,
and its link preview carries neither poster, video nor prompt.

`router` is what the app includes, without auth: the public pages, plus the management API under /api/v1, which
carries `require_auth` itself so that no inclusion can leave it open.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, status
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from studio.api.deps import StudioDep, public_base_url
from studio.api.permalink_page import NOT_FOUND_HEADERS, NOT_FOUND_PAGE, PAGE_HEADERS, page_headers, render_page
from studio.api.schemas import VideoId
from studio.api.security import require_auth
from studio.services.studio import Studio
from studio.services.videos import MediaMissing
from studio.store import share_links
from studio.store.rows import ShareLink, as_utc

# -- public routes: the token is the credential ---------------------------------------------------

router = APIRouter()


def _not_found() -> HTMLResponse:
    return HTMLResponse(NOT_FOUND_PAGE, status_code=status.HTTP_404_NOT_FOUND, headers=NOT_FOUND_HEADERS)


@router.get("/v/{token}", response_class=HTMLResponse, include_in_schema=False)
def share_page(token: str, request: Request, studio: StudioDep) -> HTMLResponse:
    """The read-only page of a shared video."""
    video = studio.shares.video(token)
    if video is None:
        return _not_found()
    page = render_page(
        video, token=token, base_url=public_base_url(request), root_path=request.scope.get("root_path", "")
    )
    return HTMLResponse(page, headers=page_headers(media_origin=studio.videos.direct_url_origin()))


def _shared_media(studio: Studio, token: str, which: Literal["file", "poster"], media_type: str) -> Response:
    """The shared video's MP4 or poster: the local file, or a redirect to the remote store; else the 404 page."""
    video = studio.shares.video(token)
    if video is None:
        return _not_found()
    if studio.videos.media_is_remote:
        try:
            url = studio.videos.direct_url(video, which)  # the key comes from the row, never the URL
        except MediaMissing:
            return _not_found()
        return RedirectResponse(url, status_code=status.HTTP_307_TEMPORARY_REDIRECT, headers=PAGE_HEADERS)
    path = studio.videos.file(video) if which == "file" else studio.videos.poster(video)
    if path is None or not path.is_file():
        return _not_found()
    return FileResponse(path, media_type=media_type, headers=PAGE_HEADERS)


@router.api_route("/v/{token}/video.mp4", methods=["GET", "HEAD"], include_in_schema=False)
def share_video(token: str, studio: StudioDep) -> Response:
    """The MP4, with `Range` requests so the player can seek."""
    return _shared_media(studio, token, "file", "video/mp4")


@router.api_route("/v/{token}/poster.jpg", methods=["GET", "HEAD"], include_in_schema=False)
def share_poster(token: str, studio: StudioDep) -> Response:
    return _shared_media(studio, token, "poster", "image/jpeg")


# -- management API: behind the same auth as the rest of the API ----------------------------------

manage = APIRouter(prefix="/api/v1", tags=["shares"], dependencies=[Depends(require_auth)])

Token = Annotated[str, PathParam(description="a share link's token (16–64 of A–Z a–z 0–9 _ -)")]


class ShareIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expires_in_s: int | None = Field(
        None,
        ge=share_links.MIN_EXPIRES_IN_S,
        le=share_links.MAX_EXPIRES_IN_S,
        description="seconds the link works (60 s to 365 days); null: until it is revoked",
    )
    confirm_flagged: bool = Field(
        False,
        description="true to share a video the content check flagged (its page blurs it until the viewer chooses "
        "to see it); without it such a video gets 422",
    )


class ShareOut(BaseModel):
    token: str
    url: str = Field(description="the absolute URL of the page; anyone holding it can watch the video")
    video_id: int
    status: share_links.ShareStatus
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def from_row(cls, link: ShareLink, *, base_url: str) -> ShareOut:
        return cls(
            token=link.token,
            url=f"{base_url}v/{link.token}",
            video_id=link.video_id,
            status=share_links.status(link),
            created_at=as_utc(link.created_at),
            expires_at=None if link.expires_at is None else as_utc(link.expires_at),
            revoked_at=None if link.revoked_at is None else as_utc(link.revoked_at),
        )


@manage.post("/videos/{video_id}/shares", status_code=status.HTTP_201_CREATED, response_model=ShareOut)
def create_share(video_id: VideoId, request: Request, studio: StudioDep, body: ShareIn | None = None) -> ShareOut:
    """A new link to the video; an empty body makes one that lasts until it is revoked.

    A video flagged by the content check needs `"confirm_flagged": true` (422 without it).
    """
    body = body or ShareIn()
    link = studio.shares.create(video_id, expires_in_s=body.expires_in_s, confirm_flagged=body.confirm_flagged)
    return ShareOut.from_row(link, base_url=public_base_url(request))


@manage.get("/videos/{video_id}/shares", response_model=list[ShareOut])
def list_shares(video_id: VideoId, request: Request, studio: StudioDep) -> list[ShareOut]:
    """Every link of the video, newest first, revoked and expired ones included."""
    base = public_base_url(request)
    return [ShareOut.from_row(link, base_url=base) for link in studio.shares.of_video(video_id)]


@manage.delete("/shares/{token}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def revoke_share(token: Token, studio: StudioDep) -> Response:
    """Revoke a link at once (viewers' caches hold the page for at most a minute); revoking twice is fine."""
    studio.shares.revoke(token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


router.include_router(manage)
