"""Aspect ratio × quality → width × height, and seconds → frames. Pure functions, no I/O."""

from __future__ import annotations

import math

from studio.domain.errors import InvalidInput
from studio.domain.preset_types import Preset

ASPECT_RATIOS: dict[str, tuple[int, int]] = {
    "16:9": (16, 9),
    "9:16": (9, 16),
    "1:1": (1, 1),
    "4:3": (4, 3),
    "3:4": (3, 4),
    "21:9": (21, 9),
}

# A native size is used as it is when the asked ratio is this close to it (832×480 counts as 16:9).
_NATIVE_TOLERANCE = 0.05


def _nearest_size(area: int, ratio: float, multiple: int) -> tuple[int, int]:
    """The width × height on the model's grid closest to `ratio` at about `area` pixels.

    Shape matters more than pixel count: on a coarse grid (tiny previews, multiples of 32) plain rounding
    of each side can miss the ratio by 15 %.
    """
    ideal_w = math.sqrt(area * ratio) / multiple
    best: tuple[float, int, int] | None = None
    for w_cells in range(max(1, math.floor(ideal_w) - 2), math.ceil(ideal_w) + 3):
        w = w_cells * multiple
        for h_cells in range(max(1, math.floor(w / ratio / multiple)), math.ceil(w / ratio / multiple) + 1):
            h = h_cells * multiple
            cost = abs(math.log(w / h / ratio)) + 0.5 * abs(math.log(w * h / area))
            if best is None or cost < best[0]:
                best = (cost, w, h)
    assert best is not None
    return best[1], best[2]


def size_for(preset: Preset, aspect_ratio: str, quality: str) -> tuple[int, int]:
    """Width and height for an aspect ratio at a quality tier of the preset.

    The tier's native size (or its portrait twin) is used when the ratio matches it; other ratios keep about the
    tier's pixel count on the model's size grid.

    Raises:
        InvalidInput: unknown aspect ratio or quality, naming the allowed values.
    """
    if aspect_ratio not in ASPECT_RATIOS:
        raise InvalidInput("aspect_ratio", f"{aspect_ratio!r} is not one of {', '.join(ASPECT_RATIOS)}")
    if quality not in preset.qualities:
        raise InvalidInput(
            "quality", f"{quality!r} is not offered by {preset.key}; choose {', '.join(preset.qualities)}"
        )
    native_w, native_h = preset.qualities[quality]
    rw, rh = ASPECT_RATIOS[aspect_ratio]
    ratio = rw / rh
    for w, h in ((native_w, native_h), (native_h, native_w)):
        if abs(w / h - ratio) / ratio <= _NATIVE_TOLERANCE:
            return w, h
    return _nearest_size(native_w * native_h, ratio, preset.size_multiple)


def frames_for(preset: Preset, seconds: float) -> int:
    """The 4k+1 frame count closest to `seconds` at the preset's fps, clamped to the preset's limits."""
    wanted = seconds * preset.fps
    k = max(0, round((wanted - 1) / 4))
    frames = 4 * k + 1
    return min(max(frames, preset.min_frames), preset.max_frames)


def seconds_for(preset: Preset, frames: int) -> float:
    """How long `frames` play at the preset's fps."""
    return frames / preset.fps


def duration_range(preset: Preset) -> tuple[float, float]:
    """The shortest and longest durations (seconds) the preset can make."""
    return preset.min_frames / preset.fps, preset.max_frames / preset.fps


def describe(width: int, height: int, frames: int, fps: int) -> str:
    """The one-line summary shown before Generate, e.g. "720×1280 · 49 frames · 16 fps · 3.1 s"."""
    return f"{width}×{height} · {frames} frames · {fps} fps · {frames / fps:.1f} s"
