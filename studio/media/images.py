"""Start and end images: decoded with limits, stored once by content hash, fitted to a clip's size.

An image is stored under `images/<sha256>.png` (its pixels re-encoded as PNG, so no metadata or foreign format is
kept), the hash being that of the PNG the studio wrote. Nothing here opens a path a client named: uploads arrive in
folders the server chose, and stored images are found by their hash.
"""

from __future__ import annotations

import hashlib
import io
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import PIL.Image

from studio.domain.errors import InvalidInput
from studio.domain.start_image import IMAGE_FOLDER, IMAGE_FORMATS, MAX_IMAGE_SIDE, ImageFit, check_hash, fit_box
from studio.media.storage import MediaStore

IMAGE_PREFIX = f"{IMAGE_FOLDER}/"


@dataclass(frozen=True)
class StoredImage:
    id: str  # SHA-256 of the stored PNG
    width: int
    height: int


def image_key(image_id: str) -> str:
    return f"{IMAGE_PREFIX}{check_hash('image_id', image_id)}.png"


def decode(data: bytes, *, field: str, max_bytes: int) -> PIL.Image.Image:
    """The RGB pixels of a PNG, JPEG or WebP file of at most `max_bytes` and MAX_IMAGE_SIDE px per side.

    The size is read from the header before any pixel is decoded (and Pillow's decompression-bomb guard is an
    error, not a warning), so a 20000-px image costs nothing.

    Raises:
        InvalidInput: naming `field`, for anything else (another format, SVG, a truncated file, too large).
    """
    if len(data) > max_bytes:
        raise InvalidInput(field, f"is {len(data) / 1e6:.1f} MB; images may be at most {max_bytes // 2**20} MB")
    if not data:
        raise InvalidInput(field, "is empty; give a PNG, JPEG or WebP image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PIL.Image.DecompressionBombWarning)
            image = PIL.Image.open(io.BytesIO(data), formats=list(IMAGE_FORMATS))
            width, height = image.size
            if width > MAX_IMAGE_SIDE or height > MAX_IMAGE_SIDE:
                raise InvalidInput(field, f"is {width}×{height} px; at most {MAX_IMAGE_SIDE} px per side are allowed")
            image.load()  # a truncated file fails here
            return image.convert("RGB")
    except InvalidInput:
        raise
    except (PIL.Image.DecompressionBombError, PIL.Image.DecompressionBombWarning) as exc:
        raise InvalidInput(field, f"has too many pixels to decode safely ({exc})") from exc
    except PIL.UnidentifiedImageError as exc:
        raise InvalidInput(field, "is not a PNG, JPEG or WebP image (SVG, GIF and other formats are refused)") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidInput(field, f"could not be decoded: the file is damaged or truncated ({exc})") from exc


def encode_png(image: PIL.Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()


def store(media: MediaStore, image: PIL.Image.Image, *, incoming: Path) -> StoredImage:
    """Store `image` once by the hash of its PNG (an image already there is not written again)."""
    data = encode_png(image.convert("RGB"))
    image_id = hashlib.sha256(data).hexdigest()
    key = image_key(image_id)
    if not media.exists(key):
        incoming.mkdir(parents=True, exist_ok=True)
        temp = incoming / f"image-{image_id}.png"
        try:
            temp.write_bytes(data)
            media.publish(key, temp)
        finally:
            temp.unlink(missing_ok=True)
    return StoredImage(image_id, image.width, image.height)


def load(media: MediaStore, image_id: str) -> PIL.Image.Image:
    """A stored image by its id.

    Raises:
        InvalidInput: no image with that id is stored ("start_image").
    """
    path = media.local_path(image_key(image_id), missing_ok=True)
    if not path.is_file():
        raise InvalidInput("start_image", f"no stored image has the id {image_id[:12]}…; upload it first")
    with PIL.Image.open(path, formats=["PNG"]) as image:
        return image.convert("RGB")


def fitted(image: PIL.Image.Image, width: int, height: int, fit: ImageFit) -> np.ndarray:
    """`image` as a (height, width, 3) uint8 frame: cropped to fill it, or fitted inside it with black bars."""
    box = fit_box(image.width, image.height, width, height, fit)
    if fit == "crop":
        frame = image.resize((width, height), PIL.Image.Resampling.LANCZOS, box=box)
    else:
        left, top, right, bottom = box
        frame = PIL.Image.new("RGB", (width, height))
        frame.paste(image.resize((right - left, bottom - top), PIL.Image.Resampling.LANCZOS), (left, top))
    return np.asarray(frame, dtype=np.uint8)


def frame_at(video: Path, time_s: float, *, fps: float, num_frames: int) -> PIL.Image.Image:
    """The frame of an MP4 shown at `time_s` (clamped to the clip; the last frame for time_s past the end)."""
    index = min(max(math.floor(time_s * fps + 1e-6), 0), num_frames - 1)  # frame i shows from i/fps on
    reader = imageio_ffmpeg.read_frames(str(video))
    try:
        meta = next(reader)
        width, height = meta["size"]
        last: bytes | None = None
        for position, pixels in enumerate(reader):
            last = pixels
            if position == index:
                break
    finally:
        reader.close()
    if last is None:
        raise InvalidInput("time_s", "the video has no frames to take")
    array = np.frombuffer(last, dtype=np.uint8).reshape(height, width, 3)
    return PIL.Image.fromarray(array.copy())
