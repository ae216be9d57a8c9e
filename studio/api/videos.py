"""/api/v1/videos: the history: search, details, the MP4 (with Range requests for seeking), poster, delete."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import FileResponse, Response

from studio import library
from studio.api.schemas import VideoId, VideoOut, VideoPageOut
from studio.service import Studio

router = APIRouter(prefix="/api/v1/videos", tags=["videos"])


def _studio(request: Request) -> Studio:
    return request.app.state.studio  # type: ignore[no-any-return]


@router.get("", response_model=VideoPageOut)
async def list_videos(
    request: Request,
    q: Annotated[str, Query(max_length=500, description="words in the prompt or negative prompt")] = "",
    model: Annotated[str | None, Query(max_length=200)] = None,
    favorite: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 24,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> VideoPageOut:
    """Newest first."""
    # Async like GET /api/v1/jobs/{id}: a polled read that is faster without the thread-pool hop.
    studio = _studio(request)
    with studio.db.read() as session:
        page = library.search(session=session, query=q, model=model, favorite=favorite, limit=limit, offset=offset)
        return VideoPageOut(
            items=[VideoOut.from_row(v) for v in page.items], total=page.total, limit=limit, offset=offset
        )


@router.get("/{video_id}", response_model=VideoOut)
def get_video(video_id: VideoId, request: Request) -> VideoOut:
    with _studio(request).db.read() as session:
        return VideoOut.from_row(library.get(session=session, video_id=video_id))


def _stored_file(request: Request, video_id: int, which: str) -> Path:
    studio = _studio(request)
    with studio.db.read() as session:
        video = library.get(session=session, video_id=video_id)
    relative = video.path if which == "file" else video.poster_path
    if not relative:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"video_id: video {video_id} has no {which}")
    path = library.file_path(studio.media_dir, relative)  # names come from the row, never from the request
    if not path.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"video_id: the {which} of video {video_id} is missing on disk")
    return path


@router.get("/{video_id}/file", response_class=FileResponse)
def video_file(video_id: VideoId, request: Request) -> FileResponse:
    """The MP4. Supports `Range` requests, so players can seek."""
    path = _stored_file(request, video_id, "file")
    return FileResponse(
        path, media_type="video/mp4", filename=f"wan-studio-{video_id}.mp4", content_disposition_type="inline"
    )


@router.get("/{video_id}/poster", response_class=FileResponse)
def video_poster(video_id: VideoId, request: Request) -> FileResponse:
    return FileResponse(_stored_file(request, video_id, "poster"), media_type="image/jpeg")


@router.delete("/{video_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def delete_video(video_id: VideoId, request: Request) -> Response:
    """Removes the row, the MP4 and the poster together."""
    _studio(request).delete_video(video_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
