"""Image-to-video rules: which models take a start (and end) image, how an image is named, and the size it gives.

Images are stored once by the SHA-256 of their bytes (studio.media.images); a recipe names them by that hash only,
never by a path. Pure functions, no I/O.
"""

from __future__ import annotations

import math
import re
from typing import Literal, get_args

from studio.domain import geometry
from studio.domain.errors import InvalidInput
from studio.domain.preset_types import Preset
from studio.domain.presets import PRESETS

ImageFit = Literal["crop", "pad"]  # crop: fill the frame, cutting the image's overflow; pad: fit it, with bars
IMAGE_FITS: tuple[ImageFit, ...] = get_args(ImageFit)
FOLLOW_IMAGE = "image"  # the aspect ratio that follows the start image
MAX_IMAGE_SIDE = 4096  # pixels per side of an uploaded image
IMAGE_FORMATS = ("PNG", "JPEG", "WEBP")
IMAGE_FOLDER = "images"  # of the media store: images/<sha256>.png
_HASH = re.compile(r"[0-9a-f]{64}")


def image_models() -> list[str]:
    return [key for key, preset in PRESETS.items() if preset.image_input]


def check_hash(field: str, value: str) -> str:
    """`value` when it names a stored image (64 lowercase hex digits of SHA-256); InvalidInput otherwise."""
    if not isinstance(value, str) or not _HASH.fullmatch(value):
        raise InvalidInput(field, "must be the id of an uploaded image (64 hex digits, from POST /api/v1/images)")
    return value


def require_image_input(preset: Preset) -> None:
    """Raises InvalidInput ("start_image") when the model makes video from text only."""
    if not preset.image_input:
        raise InvalidInput(
            "start_image",
            f"{preset.key} makes video from text only; models that take an image: {', '.join(image_models())}",
        )


def check_images(
    preset: Preset, *, start_image: str | None, end_image: str | None, image_fit: str | None
) -> ImageFit | None:
    """Whether the model takes these images; the fit to record (None for a text-to-video recipe).

    Raises:
        InvalidInput: naming start_image, end_image or image_fit, with what the model allows.
    """
    if start_image is None:
        if preset.image_required:
            raise InvalidInput("start_image", f"{preset.key} makes video from an image: give a start image")
        if end_image is not None:
            raise InvalidInput("end_image", "needs a start image too (the clip goes from the start to the end image)")
        return None
    require_image_input(preset)
    check_hash("start_image", start_image)
    if end_image is not None:
        if not preset.end_image:
            ends = [key for key, p in PRESETS.items() if p.end_image]
            raise InvalidInput("end_image", f"{preset.key} takes no end image; models that do: {', '.join(ends)}")
        check_hash("end_image", end_image)
    fit = image_fit or "crop"
    if fit not in IMAGE_FITS:
        raise InvalidInput("image_fit", f"{fit!r} is not one of {', '.join(IMAGE_FITS)}")
    return fit  # type: ignore[return-value]


def size_for_image(preset: Preset, quality: str | None, image_width: int, image_height: int) -> tuple[int, int]:
    """The size on the model's grid closest to the image's shape at about the quality tier's pixel count.

    Raises:
        InvalidInput: an unknown quality ("quality") or an image without pixels ("start_image").
    """
    quality = quality or preset.default_quality
    if quality not in preset.qualities:
        raise InvalidInput(
            "quality", f"{quality!r} is not offered by {preset.key}; choose {', '.join(preset.qualities)}"
        )
    if image_width <= 0 or image_height <= 0:
        raise InvalidInput("start_image", "has no pixels")
    native_w, native_h = preset.qualities[quality]
    ratio = image_width / image_height
    # Wan was trained near its native shapes: very long or tall images are held to 21:9 (or 9:21)
    ratio = min(max(ratio, 9 / 21), 21 / 9)
    for w, h in ((native_w, native_h), (native_h, native_w)):
        if abs(math.log(w / h / ratio)) <= 0.05:
            return w, h
    return geometry._nearest_size(native_w * native_h, ratio, preset.size_multiple)


def fit_box(image_width: int, image_height: int, width: int, height: int, fit: ImageFit) -> tuple[int, int, int, int]:
    """The part of the image that fills a width × height frame ("crop": left, top, right, bottom in image pixels),
    or where the scaled image sits in the frame ("pad": left, top, right, bottom in frame pixels)."""
    scale = (max if fit == "crop" else min)(width / image_width, height / image_height)
    if fit == "crop":
        crop_w, crop_h = round(width / scale), round(height / scale)
        left, top = (image_width - crop_w) // 2, (image_height - crop_h) // 2
        return left, top, left + crop_w, top + crop_h
    inner_w, inner_h = round(image_width * scale), round(image_height * scale)
    left, top = (width - inner_w) // 2, (height - inner_h) // 2
    return left, top, left + inner_w, top + inner_h


def describe_fit(image_width: int, image_height: int, width: int, height: int, fit: ImageFit) -> str:
    """What happens to the image, e.g. "image 1920×1080 → 832×480, cropped 88 px at the sides"."""
    left, top, right, bottom = fit_box(image_width, image_height, width, height, fit)
    head = f"image {image_width}×{image_height} → {width}×{height}"
    if fit == "crop":
        cut_w, cut_h = image_width - (right - left), image_height - (bottom - top)
        if cut_w <= 1 and cut_h <= 1:
            return f"{head}, the whole image"
        where = f"{cut_w} px at the sides" if cut_w > cut_h else f"{cut_h} px at top and bottom"
        return f"{head}, cropped {where}"
    bar_w, bar_h = width - (right - left), height - (bottom - top)
    if bar_w <= 1 and bar_h <= 1:
        return f"{head}, the whole image"
    where = f"{bar_w} px of bars at the sides" if bar_w > bar_h else f"{bar_h} px of bars at top and bottom"
    return f"{head}, padded with {where}"
