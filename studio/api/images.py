"""Image to video over the API: upload a start (or end) image, take a frame of a video, Continue and Join."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from fastapi import APIRouter, UploadFile, status
from fastapi.responses import FileResponse

from studio.api.deps import OwnerDep, StudioDep
from studio.api.job_schemas import FrameIn, ImageOut, JobCreate, JobOut
from studio.api.schemas import IMAGE_ID, VideoId
from studio.api.video_schemas import VideoOut
from studio.domain.errors import InvalidInput, NotFound
from studio.domain.recipe import RecipeRequest
from studio.media.images import StoredImage
from studio.services.studio import Studio

router = APIRouter(tags=["images"])
UPLOAD_PATH = "/api/v1/images"  # its body may be as large as an upload (max_upload_mb; studio.api.guards)


def _out(image: StoredImage) -> ImageOut:
    return ImageOut(id=image.id, width=image.width, height=image.height, url=f"{UPLOAD_PATH}/{image.id}")


def job_request(body: JobCreate, studio: Studio) -> RecipeRequest:
    """The job's request, with `start_frame` (a frame of a history video) stored and named as its start image."""
    request = body.to_request()
    if body.start_frame is None:
        return request
    if body.start_image is not None:
        raise InvalidInput("start_frame", "give start_image or start_frame, not both")
    image = studio.images.from_video(body.start_frame.video_id, body.start_frame.time_s)
    return dataclasses.replace(request, start_image=image.id)


@router.post(UPLOAD_PATH, status_code=status.HTTP_201_CREATED, response_model=ImageOut)
def upload_image(file: UploadFile, studio: StudioDep) -> ImageOut:
    """Upload a PNG, JPEG or WebP (multipart field `file`, at most `max_upload_mb`, 4096 px per side); stored once
    by content. Anything else is a 422 naming `file`, and nothing is stored."""
    data = file.file.read(studio.images.max_upload_bytes + 1)  # the client's file name and type are never used
    return _out(studio.images.upload(data, field="file"))


@router.get(UPLOAD_PATH + "/{image_id}", response_class=FileResponse)
def get_image(image_id: str, studio: StudioDep) -> FileResponse:
    """A stored image (PNG)."""
    if not re.fullmatch(IMAGE_ID, image_id):
        raise NotFound("image_id", "no such image")
    try:
        image = studio.images.get(image_id, field="image_id")
    except InvalidInput as exc:
        raise NotFound("image_id", "no such image") from exc
    return FileResponse(Path(studio.images.path(image.id)), media_type="image/png")


@router.post("/api/v1/videos/{video_id}/frames", status_code=status.HTTP_201_CREATED, response_model=ImageOut)
def store_frame(video_id: VideoId, body: FrameIn, studio: StudioDep) -> ImageOut:
    """Store the frame of a video shown at `time_s` (null: its last frame) as an image ("Use this frame")."""
    if body.video_id != video_id:
        raise InvalidInput("video_id", "the body's video_id must be the video in the address")
    return _out(studio.images.from_video(video_id, body.time_s))


@router.post("/api/v1/videos/{video_id}/continue", status_code=status.HTTP_202_ACCEPTED, response_model=JobOut)
def continue_video(video_id: VideoId, studio: StudioDep, owner: OwnerDep) -> JobOut:
    """Queue the next clip: the video's last frame as the start image, the same recipe, seed + 1, linked to it."""
    return JobOut.from_view(studio.continue_video(video_id, owner=owner))


@router.post("/api/v1/videos/{video_id}/join", status_code=status.HTTP_201_CREATED, response_model=VideoOut)
def join_chain(video_id: VideoId, studio: StudioDep, owner: OwnerDep) -> VideoOut:
    """One MP4 of the chain of continuations ending at this video (lossless where the encodings match)."""
    return VideoOut.from_row(studio.join(video_id, owner=owner))
