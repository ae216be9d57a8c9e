"""/api/v1/videos: the history: search, details, the MP4 (with Range requests for seeking), poster, favorite, trim,
delete.

With a remote media store (`media_url` s3://…) the MP4 and poster routes answer, after the same auth, with a
307 redirect to a short-lived presigned URL of the store, which serves `Range` requests itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status
from fastapi.responses import FileResponse, RedirectResponse, Response

from studio.api.deps import OwnerDep, StudioDep
from studio.api.schemas import VideoId
from studio.api.video_schemas import TrimIn, VideoOut, VideoPageOut
from studio.domain.errors import NotFound
from studio.domain.naming import download_name
from studio.services.studio import Studio
from studio.services.videos import MAX_QUERY_CHARS

router = APIRouter(prefix="/api/v1/videos", tags=["videos"])


@router.get("", response_model=VideoPageOut)
async def list_videos(
    studio: StudioDep,
    q: Annotated[str, Query(max_length=MAX_QUERY_CHARS, description="words in the prompt or negative prompt")] = "",
    model: Annotated[str | None, Query(max_length=200)] = None,
    favorite: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 24,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    comparison: Annotated[bool | None, Query(description="true: only videos of comparisons (cells, exports)")] = None,
    image: Annotated[bool | None, Query(description="true: image-to-video clips only; false: text-to-video")] = None,
) -> VideoPageOut:
    """Newest first."""
    # Async like GET /api/v1/jobs/{id}: a polled read that is faster without the thread-pool hop.
    page = studio.videos.search(
        q, model=model, favorite=favorite, limit=limit, offset=offset, comparison=comparison, image_to_video=image
    )
    return VideoPageOut(items=[VideoOut.from_row(v) for v in page.items], total=page.total, limit=limit, offset=offset)


@router.get("/{video_id}", response_model=VideoOut)
def get_video(video_id: VideoId, studio: StudioDep) -> VideoOut:
    return VideoOut.from_row(studio.videos.get(video_id))


def _stored_file(studio: Studio, video_id: int, which: Literal["file", "poster"]) -> Path | str:
    """The local file to send, or (remote store) the presigned URL to redirect to; the key comes from the row."""
    video = studio.videos.get(video_id)
    if studio.videos.media_is_remote:
        name = download_name(video.id, video.seed, video.prompt) if which == "file" else None
        return studio.videos.direct_url(video, which, download_name=name)  # MediaMissing (404) when it is not there
    path = studio.videos.file(video) if which == "file" else studio.videos.poster(video)
    if path is None:
        raise NotFound("video_id", f"video {video_id} has no {which}")
    if not path.is_file():
        raise NotFound("video_id", f"the {which} of video {video_id} is missing on disk")
    return path


@router.get("/{video_id}/file", response_class=FileResponse)
def video_file(video_id: VideoId, studio: StudioDep) -> Response:
    """The MP4. Supports `Range` requests, so players can seek (a remote store: 307 to a presigned URL)."""
    found = _stored_file(studio, video_id, "file")
    if isinstance(found, str):
        return RedirectResponse(found, status_code=status.HTTP_307_TEMPORARY_REDIRECT)
    video = studio.videos.get(video_id)
    name = download_name(video.id, video.seed, video.prompt)  # "wan-0042-seed1234-red-fox.mp4", not "42.mp4"
    return FileResponse(found, media_type="video/mp4", filename=name, content_disposition_type="inline")


@router.get("/{video_id}/poster", response_class=FileResponse)
def video_poster(video_id: VideoId, studio: StudioDep) -> Response:
    found = _stored_file(studio, video_id, "poster")
    if isinstance(found, str):
        return RedirectResponse(found, status_code=status.HTTP_307_TEMPORARY_REDIRECT)
    return FileResponse(found, media_type="image/jpeg")


@router.post("/{video_id}/favorite", response_model=VideoOut)
def favorite(video_id: VideoId, studio: StudioDep) -> VideoOut:
    """Mark the video a favorite (History's "Favorites only" filter, `?favorite=true`)."""
    return VideoOut.from_row(studio.videos.set_favorite(video_id, True))


@router.delete("/{video_id}/favorite", response_model=VideoOut)
def unfavorite(video_id: VideoId, studio: StudioDep) -> VideoOut:
    return VideoOut.from_row(studio.videos.set_favorite(video_id, False))


@router.post("/{video_id}/trims", status_code=status.HTTP_201_CREATED, response_model=VideoOut)
def trim(video_id: VideoId, body: TrimIn, studio: StudioDep, owner: OwnerDep) -> VideoOut:
    """Save the part between two points as a new video linked to this one; this one is never changed.

    Frame-accurate by default; `lossless` copies the H.264 packets and the cut then lands on the copyable frames
    around the points (the new video's `recipe.trim` says where). Counts against `max_edits_per_hour`.
    """
    child = studio.videos.trim(video_id, start_s=body.start_s, end_s=body.end_s, lossless=body.lossless, owner=owner)
    return VideoOut.from_row(child)


@router.delete("/{video_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def delete_video(video_id: VideoId, studio: StudioDep) -> Response:
    """Removes the row, the MP4 and the poster together."""
    studio.videos.delete(video_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
