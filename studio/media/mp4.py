"""Frames → MP4 and JPEG files, and reading them back (size, frame count, the embedded recipe).

Everything goes through the ffmpeg binary bundled with imageio-ffmpeg; there is no ffprobe, and no torch here.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import numpy as np
from PIL import Image

from studio.domain.errors import InvalidInput
from studio.domain.recipe import MAX_STORED_RECIPE_BYTES, check_stored

logger = logging.getLogger(__name__)

# Bump when the layout of the JSON in the "comment" tag changes; readers can then tell old files apart.
FORMAT_VERSION = 1
FORMAT_KEY = "wan_studio"
CRF = 18  # visually near-lossless for H.264
# veryfast is 2-3x quicker than medium on CPU at CRF 18 for about the same file size.
PRESET = "veryfast"


@dataclass(frozen=True)
class VideoInfo:
    """What `probe` learns about a video file."""

    width: int
    height: int
    num_frames: int
    fps: float
    duration_s: float


def _as_uint8(frames: np.ndarray) -> np.ndarray:
    """Check the frame stack's shape and return it as C-contiguous uint8 (floats are read as [0, 1])."""
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames: expected shape (frames, height, width, 3), got {frames.shape}")
    num_frames, height, width, _ = frames.shape
    if num_frames == 0:
        raise ValueError("frames: need at least one frame, got 0")
    if width % 2 or height % 2:
        raise ValueError(f"frames: H.264 (yuv420p) needs even width and height, got {width}×{height}; crop or pad by 1")
    if np.issubdtype(frames.dtype, np.floating):
        frames = (np.clip(frames, 0.0, 1.0) * 255.0).round().astype(np.uint8)
    elif frames.dtype != np.uint8:
        raise ValueError(f"frames: expected uint8 or float in [0, 1], got {frames.dtype}")
    return np.ascontiguousarray(frames)


def h264_args(preset: str, fps: float) -> list[str]:
    """Our H.264 settings. A keyframe every second keeps lossless (stream-copy) trims useful to the second."""
    keyint = str(max(1, round(fps)))
    return ["-an", "-c:v", "libx264", "-preset", preset, "-crf", str(CRF), "-pix_fmt", "yuv420p", "-g", keyint]


def recipe_metadata_args(recipe: dict[str, Any] | None) -> list[str]:
    """ffmpeg arguments that store `recipe` in the MP4's comment tag, as `read_recipe` expects it."""
    if recipe is None:
        return []
    # ensure_ascii=False keeps a Chinese character at 3 bytes instead of a 6-byte \uXXXX escape.
    comment = json.dumps({FORMAT_KEY: FORMAT_VERSION, "recipe": recipe}, ensure_ascii=False, separators=(",", ":"))
    return ["-metadata", f"comment={comment}"]


@contextmanager
def temp_beside(path: Path) -> Iterator[Path]:
    """Yield a temp path in `path`'s folder; on success it replaces `path`, on failure it is removed."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_mp4(frames: np.ndarray, path: Path, *, fps: int, recipe: dict[str, Any] | None = None) -> None:
    """Encode frames as an H.264/yuv420p MP4 at a constant `fps`, with `recipe` as JSON in the "comment" tag.

    Args:
        frames: (F, H, W, 3) uint8, or float in [0, 1]; H and W must be even.
        path: where the file ends up; it appears there whole or not at all.
        fps: the constant frame rate.
        recipe: JSON-serializable; stored as {"wan_studio": FORMAT_VERSION, "recipe": recipe}.

    Raises:
        ValueError: bad frames or fps.
        RuntimeError: ffmpeg failed (its log is in the message).
    """
    # 1. Check inputs
    pixels = _as_uint8(frames)
    if fps <= 0:
        raise ValueError(f"fps: must be a positive integer, got {fps}")
    _, height, width, _ = pixels.shape

    # 2. Build the ffmpeg command: raw RGB on stdin, one MP4 out
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y"]
    cmd += ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-framerate", str(fps), "-i", "-"]
    cmd += [*h264_args(PRESET, fps), "-r", str(fps)]
    # faststart puts the index (moov) first so browsers can start playing before the download ends.
    cmd += ["-movflags", "+faststart", *recipe_metadata_args(recipe)]

    # 3. Encode into a temp file beside `path`; -f mp4 because the temp name has no .mp4 suffix
    with temp_beside(path) as tmp:
        # communicate() feeds stdin while draining stderr, so a chatty ffmpeg cannot deadlock us.
        result = subprocess.run(
            [*cmd, "-f", "mp4", str(tmp)], input=pixels.data.cast("B"), capture_output=True, check=False
        )
        if result.returncode != 0:
            log = result.stderr.decode(errors="replace").strip()
            raise RuntimeError(f"ffmpeg could not write {path.name} (exit {result.returncode}): {log}")
    logger.debug("wrote %s: %d frames %dx%d @ %d fps", path, len(pixels), width, height, fps)


def write_poster(frames: np.ndarray, path: Path) -> None:
    """Save the first frame as a JPEG (temp file, then os.replace)."""
    first = _as_uint8(frames)[0]
    with temp_beside(path) as tmp:
        Image.fromarray(first).save(tmp, format="JPEG", quality=90)


class UnreadableVideo(ValueError):
    """A file that cannot be read as a video with a recipe. The message keeps ffmpeg's words for the server's log;
    `reason` is a few words without paths that a person may see ("moov atom not found")."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def _ffmpeg_reason(log: str) -> str:
    """ffmpeg's first error line, without its "[mov @ 0x…]" prefix or any path: "moov atom not found"."""
    for line in log.splitlines():
        text = re.sub(r"^(\[[^\]]*\]\s*)+", "", line).strip()
        if text and "/" not in text and "\\" not in text:
            return text[:80].rstrip(" .:")
    return "ffmpeg cannot read it"


def _unescape_ffmetadata(value: str) -> str:
    """Undo ffmetadata's escaping: a backslash makes the next character literal ('=', ';', '#', '\\', newline)."""
    out: list[str] = []
    chars = iter(value)
    for ch in chars:
        out.append(next(chars, "") if ch == "\\" else ch)
    return "".join(out)


def _global_metadata(path: Path) -> dict[str, str]:
    """The file's container-level tags, read with `ffmpeg -i path -f ffmetadata -`."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", str(path), "-f", "ffmetadata"]
    result = subprocess.run([*cmd, "-"], capture_output=True, check=False)
    if result.returncode != 0:
        log = result.stderr.decode(errors="replace").strip()
        raise UnreadableVideo(f"{path.name} is not a readable video: {log}", _ffmpeg_reason(log))
    tags: dict[str, str] = {}
    # ffmetadata escapes "\n" in values, so one line is one tag. Not splitlines(): it also splits on U+2028 and U+0085,
    # which ensure_ascii=False JSON keeps raw. [CHAPTER]/[STREAM] sections follow the global tags.
    for line in result.stdout.decode("utf-8", errors="replace").split("\n"):
        if line.startswith("["):
            break
        key, sep, value = line.partition("=")
        if sep and not line.startswith((";", "#")):
            tags[key.lower()] = _unescape_ffmetadata(value)
    return tags


def read_recipe(path: Path) -> dict[str, Any] | None:
    """The recipe `write_mp4` stored in `path`, or None when the video has none (a file we did not write).

    Raises:
        FileNotFoundError: `path` does not exist.
        ValueError: ffmpeg cannot read `path` as a video, or its recipe is too large or nests too deeply.
    """
    comment = _global_metadata(path).get("comment")
    if comment is None:
        return None
    if len(comment) > 2 * MAX_STORED_RECIPE_BYTES:
        raise UnreadableVideo(
            f"{path.name} carries a comment of {len(comment):,} characters, too large for a recipe",
            "its recipe is too large",
        )
    try:
        payload = json.loads(comment)
    except json.JSONDecodeError:
        return None  # someone else's free-text comment
    except RecursionError as exc:
        raise UnreadableVideo(
            f"{path.name} carries a comment nested too deeply to be a recipe", "its recipe is nested too deeply"
        ) from exc
    if not isinstance(payload, dict) or not isinstance(payload.get(FORMAT_KEY), int):
        return None
    if payload[FORMAT_KEY] > FORMAT_VERSION:
        logger.warning("%s uses recipe format %s, newer than %d", path.name, payload[FORMAT_KEY], FORMAT_VERSION)
    recipe = payload.get("recipe")
    if not isinstance(recipe, dict):
        return None
    try:
        return check_stored(recipe)
    except InvalidInput as exc:
        raise UnreadableVideo(
            f"{path.name} carries a recipe this studio does not read: {exc}", f"its recipe has a bad {exc.field}"
        ) from exc


def probe(path: Path) -> VideoInfo:
    """Width, height, exact frame count (by decoding), fps and duration of the first video stream.

    Raises:
        FileNotFoundError: `path` does not exist.
        ValueError: ffmpeg cannot read `path` as a video.
    """
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    try:
        reader = imageio_ffmpeg.read_frames(str(path))
        try:
            meta = next(reader)
        finally:
            reader.close()  # stops the ffmpeg process; we only wanted the header
        # The header's frame count is an estimate; decoding to the null muxer gives the exact one.
        num_frames, _ = imageio_ffmpeg.count_frames_and_secs(str(path))
    except (OSError, RuntimeError) as err:
        raise ValueError(f"{path.name} is not a readable video") from err
    width, height = meta["size"]
    return VideoInfo(
        width=int(width),
        height=int(height),
        num_frames=int(num_frames),
        fps=float(meta["fps"]),
        duration_s=float(meta["duration"]),
    )
