"""Start and end images of image-to-video jobs: uploads, frames of videos, and recipes that use them.

Images are kept once per content in the media store (studio.media.images); a recipe names them by id (their hash).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from studio.domain import start_image
from studio.domain.errors import InvalidInput
from studio.domain.preset_types import Preset
from studio.domain.recipe import Recipe, RecipeRequest, build_recipe
from studio.engine.contract import ImageSource
from studio.media import images
from studio.media.storage import MediaStore
from studio.store import library
from studio.store.database import Database


class StartImages:
    """Stores and reads the images jobs start (or end) from."""

    def __init__(self, *, db: Database, media: MediaStore, max_upload_bytes: int) -> None:
        self.db = db
        self.media = media
        self.max_upload_bytes = max_upload_bytes

    # -- storing -----------------------------------------------------------------------------

    def upload(self, data: bytes, *, field: str = "file") -> images.StoredImage:
        """Store an uploaded PNG, JPEG or WebP (checked: images.decode); the same picture twice is stored once.

        Raises:
            InvalidInput: naming `field`: not an allowed image, damaged, over the size or pixel limits.
        """
        image = images.decode(data, field=field, max_bytes=self.max_upload_bytes)
        return images.store(self.media, image, incoming=library.incoming_dir(self.media.local_dir))

    def upload_file(self, path: Path, *, field: str = "start_image") -> images.StoredImage:
        """Store an image the UI received (a file in Gradio's upload folder, which Gradio checked it owns)."""
        if not path.is_file():
            raise InvalidInput(field, "is not an uploaded file; upload or paste an image")
        if path.stat().st_size > self.max_upload_bytes:
            raise InvalidInput(field, f"is over the upload limit of {self.max_upload_bytes // 2**20} MB")
        return self.upload(path.read_bytes(), field=field)

    def size_of(self, path: Path, *, field: str = "start_image") -> tuple[int, int]:
        """Width and height of an image the UI received, checked like an upload; nothing is stored."""
        data = path.read_bytes() if path.is_file() and path.stat().st_size <= self.max_upload_bytes else b""
        if not data and path.is_file():
            raise InvalidInput(field, f"is over the upload limit of {self.max_upload_bytes // 2**20} MB")
        image = images.decode(data, field=field, max_bytes=self.max_upload_bytes)
        return image.width, image.height

    def from_video(self, video_id: int, time_s: float | None) -> images.StoredImage:
        """Store the frame of a history video shown at `time_s` (None: its last frame).

        Raises:
            VideoNotFound: no such video. InvalidInput: "time_s" outside the clip, or its file is missing ("video_id").
        """
        with self.db.read() as session:
            video = library.get(session=session, video_id=video_id)
        if time_s is not None and not 0 <= time_s <= video.duration_s + 1e-6:
            raise InvalidInput("time_s", f"must be from 0 to {video.duration_s:.2f} s (the clip); {time_s:g} is not")
        path = self.media.local_path(video.path, missing_ok=True)
        if not path.is_file():
            raise InvalidInput("video_id", f"the file of video {video_id} is missing; its frames cannot be used")
        when = video.duration_s if time_s is None else time_s
        frame = images.frame_at(path, when, fps=video.fps, num_frames=video.num_frames)
        return images.store(self.media, frame, incoming=library.incoming_dir(self.media.local_dir))

    # -- reading -----------------------------------------------------------------------------

    def get(self, image_id: str, *, field: str = "start_image") -> images.StoredImage:
        """Raises InvalidInput (naming `field`) when no image has that id."""
        start_image.check_hash(field, image_id)
        if not self.media.exists(images.image_key(image_id)):
            raise InvalidInput(field, f"no stored image has the id {image_id[:12]}…; upload it first")
        image = images.load(self.media, image_id)
        return images.StoredImage(image_id, image.width, image.height)

    @property
    def folder(self) -> Path:
        """Where local copies of the stored images are (the store's own folder, or its cache)."""
        return self.media.local_dir / images.IMAGE_PREFIX.rstrip("/")

    def path(self, image_id: str) -> Path:
        """A local file of a stored image (to show it); the key comes from the checked id, never from a client path."""
        return self.media.local_path(images.image_key(image_id), missing_ok=True)

    def source(self) -> ImageSource:
        """The pipeline's way to the pixels of a recipe's images, fitted to its size."""

        def fitted(image_id: str, width: int, height: int, fit: str) -> np.ndarray:
            chosen: start_image.ImageFit = "pad" if fit == "pad" else "crop"
            return images.fitted(images.load(self.media, image_id), width, height, chosen)

        return fitted

    # -- recipes -----------------------------------------------------------------------------

    def build_recipe(self, request: RecipeRequest, preset: Preset) -> Recipe:
        """`build_recipe` for requests that may name images: each must be stored, and the aspect ratio "image"
        follows the start image's shape (snapped to the model's grid at the quality's pixel count).

        Raises:
            InvalidInput: as build_recipe, and "start_image"/"end_image" for an unknown image, "aspect_ratio" for
                "image" without a start image.
        """
        follow = request.aspect_ratio == start_image.FOLLOW_IMAGE
        if request.start_image is None:
            if follow:
                raise InvalidInput("aspect_ratio", "follows the start image: give one, or choose a ratio like 16:9")
            return build_recipe(request, preset)
        start = self.get(request.start_image, field="start_image")
        if request.end_image is not None:
            self.get(request.end_image, field="end_image")
        if not follow:
            return build_recipe(request, preset)
        quality = request.quality or preset.default_quality
        sized = _sized(request, preset, start)
        return dataclasses.replace(build_recipe(sized, preset), aspect_ratio=start_image.FOLLOW_IMAGE, quality=quality)

    def follow_size(self, request: RecipeRequest, preset: Preset) -> RecipeRequest:
        """`request` with the explicit size its start image gives when its aspect ratio follows the image, for
        builders that take plain requests (the X/Y grids); any other request as it is.

        Raises:
            InvalidInput: "start_image" for an unknown image, "aspect_ratio" for "image" without a start image.
        """
        if request.aspect_ratio != start_image.FOLLOW_IMAGE:
            return request
        if request.start_image is None:
            raise InvalidInput("aspect_ratio", "follows the start image: give one, or choose a ratio like 16:9")
        return _sized(request, preset, self.get(request.start_image, field="start_image"))

    def describe_fit(self, image_id: str, recipe: Recipe) -> str:
        """What the start image becomes in this recipe, e.g. "image 1920×1080 → 832×480, cropped 12 px at the sides"."""
        image = self.get(image_id)
        fit: start_image.ImageFit = "pad" if recipe.image_fit == "pad" else "crop"
        return start_image.describe_fit(image.width, image.height, recipe.width, recipe.height, fit)


def _sized(request: RecipeRequest, preset: Preset, start: images.StoredImage) -> RecipeRequest:
    """The request at the size on the model's grid closest to the start image's shape (at the quality's pixels)."""
    quality = request.quality or preset.default_quality
    width, height = start_image.size_for_image(preset, quality, start.width, start.height)
    return dataclasses.replace(request, aspect_ratio="16:9", width=width, height=height, quality=None)
