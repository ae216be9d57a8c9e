"""A labelled grid of clips in one video: the comparison export (2–8 clips, one label each, burned in)."""

from __future__ import annotations

import logging
import math
import tempfile
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from studio.domain.comparisons import MAX_SEEDS, MIN_SEEDS, grid_shape
from studio.domain.errors import InvalidInput
from studio.media import mp4, streams
from studio.media.mp4 import VideoInfo

logger = logging.getLogger(__name__)


MAX_TILES = 16  # an X/Y comparison (studio.domain.axes.MAX_CELLS)
MAX_GRID = (3840, 2160)  # cells are scaled down so the whole grid fits (x264 and players handle 4K)
# A font with CJK glyphs when the system has one (prompt labels may be Chinese); else Pillow's built-in one
FONTS = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
)


def tile(
    sources: list[Path],
    labels: list[str],
    target: Path,
    *,
    recipe: dict[str, Any] | None = None,
    shape: tuple[int, int] | None = None,
    headers: tuple[list[str], list[str]] | None = None,
) -> VideoInfo:
    """Lay 2–8 labelled clips out in one grid video (a seed comparison) at `target`; sources are only read.

    `shape` (rows, columns) lays out an X/Y comparison instead: exactly rows × columns clips (at most 16), row by row;
    with `headers` (the columns' labels, the rows' labels) a band above the grid names each column's value and a band
    on its left each row's, as the page's grid does.

    The first clip sets the cell size and the frame rate; other sizes are fitted and letterboxed, and a clip
    shorter than the longest holds its last frame. Each label ("seed 42") is burned in on a dark box.

    Raises:
        InvalidInput: wrong number of clips or labels, a missing or unreadable clip ("sources"), a bad target.
        RuntimeError: ffmpeg failed.
    """
    # 1. Check inputs
    if shape is not None:
        if shape[0] * shape[1] != len(sources) or not MIN_SEEDS <= len(sources) <= MAX_TILES:
            raise InvalidInput("sources", f"a {shape[0]}×{shape[1]} grid takes {shape[0] * shape[1]} clips (2–16)")
    elif not MIN_SEEDS <= len(sources) <= MAX_SEEDS:
        raise InvalidInput("sources", f"a comparison takes 2–8 clips, got {len(sources)}")
    if headers is not None and (shape is None or (len(headers[1]), len(headers[0])) != shape):
        raise InvalidInput("headers", "need a shape and one header per column and per row")
    if len(labels) != len(sources):
        raise InvalidInput("labels", f"need one label per clip: {len(sources)} clips, {len(labels)} labels")
    clips = [streams.read_stream(path, "sources") for path in sources]
    streams.check_target(target, sources)

    # 2. Size the grid: cells the size of the first clip (even, for yuv420p), as long as the longest clip
    rows, cols = shape or grid_shape(len(sources))  # as the page lays the tiles out
    scale = min(1.0, MAX_GRID[0] / (cols * clips[0].info.width), MAX_GRID[1] / (rows * clips[0].info.height))
    width, height = int(clips[0].info.width * scale) // 2 * 2, int(clips[0].info.height * scale) // 2 * 2
    rate = clips[0].rate
    num_frames = max(math.ceil(s.info.num_frames * rate / s.rate) for s in clips)

    # 3. Filter graph: each clip → a cell that repeats its last frame forever, stacked, the labels image on top.
    # ffmpeg streams frame by frame (8 clips of 81 × 720p frames: ~1.2 GB peak, mostly x264's lookahead).
    graph = [
        f"[{k}:v]fps={rate},scale={width}:{height}:force_original_aspect_ratio=decrease,pad={width}:{height}:-1:-1,"
        f"setsar=1,format=yuv420p,tpad=stop=-1:stop_mode=clone[c{k}]"
        for k in range(len(sources))
    ]
    layout = "|".join(f"{k % cols * width}_{k // cols * height}" for k in range(len(sources)))
    cells = "".join(f"[c{k}]" for k in range(len(sources)))
    graph.append(f"{cells}xstack=inputs={len(sources)}:layout={layout}:fill=black[stack]")
    bands = _header_bands(headers, height) if headers else (0, 0)
    left, top = bands
    graph.append(f"[stack]pad={cols * width + left}:{rows * height + top}:{left}:{top}:black[grid]")
    graph.append(f"[grid][{len(sources)}:v]overlay=0:0:format=auto,format=yuv420p[out]")

    # 4. Encode; -frames:v ends the otherwise endless padded streams
    with tempfile.TemporaryDirectory() as scratch, mp4.temp_beside(target) as tmp:
        overlay = Path(scratch) / "labels.png"
        drawn = _draw_labels(labels, width, height, cols, rows)
        if headers:
            drawn = _with_headers(drawn, headers, width, height, bands)
        drawn.save(overlay)
        cmd = [arg for path in [*sources, overlay] for arg in ("-i", str(path))]
        cmd += ["-filter_complex", ";".join(graph), "-map", "[out]", "-frames:v", str(num_frames)]
        streams.run_ffmpeg(
            [*cmd, *mp4.h264_args(mp4.PRESET, float(rate)), *streams.output_args(recipe, tmp)], f"write {target.name}"
        )
        info = streams.read_stream(tmp, "target").info
    logger.info(
        "tiled %d clips into %s (%dx%d, %d frames)", len(sources), target.name, info.width, info.height, num_frames
    )
    return info


def _draw_labels(labels: list[str], width: int, height: int, cols: int, rows: int) -> Image.Image:
    """A transparent grid-sized image with each label, white on a dark box, in its cell's top-left corner."""
    canvas = Image.new("RGBA", (cols * width, rows * height), (0, 0, 0, 0))
    size = max(12, height // 16)  # 45 px on 720p; Pillow's built-in font needs no font file
    font = _font(size)
    pad = size // 3 + 1
    for k, text in enumerate(labels):
        cell = Image.new("RGBA", (width, height), (0, 0, 0, 0))  # one per cell, so a long label is cut at its edge
        draw = ImageDraw.Draw(cell)
        if text:
            _, _, right, bottom = draw.textbbox((2 * pad, 2 * pad), text, font=font)
            draw.rectangle((pad, pad, right + pad, bottom + pad), fill=(0, 0, 0, 170))
            draw.text((2 * pad, 2 * pad), text, font=font, fill=(255, 255, 255, 255))
        canvas.paste(cell, (k % cols * width, k // cols * height))
    return canvas


def _header_bands(headers: tuple[list[str], list[str]], height: int) -> tuple[int, int]:
    """The left band's width (the longest row label, at most 320 px) and the top band's height, both even."""
    size = max(12, height // 16)
    font = _font(size)
    widest = max((int(font.getbbox(text)[2]) for text in headers[1]), default=0)
    left = min(320, widest + size) if headers[1] else 0
    return (left + 1) // 2 * 2, size * 2


def _with_headers(
    labels: Image.Image, headers: tuple[list[str], list[str]], width: int, height: int, bands: tuple[int, int]
) -> Image.Image:
    """The labels image moved into the padded grid, with each column's header above it and each row's on its left."""
    left, top = bands
    canvas = Image.new("RGBA", (labels.width + left, labels.height + top), (0, 0, 0, 0))
    canvas.paste(labels, (left, top))
    draw = ImageDraw.Draw(canvas)
    size = max(12, height // 16)
    font = _font(size)
    for col, text in enumerate(headers[0]):
        draw.text((left + col * width + width // 2, top // 2), text, font=font, fill=(255, 255, 255, 255), anchor="mm")
    band = Image.new("RGBA", (left, labels.height), (0, 0, 0, 0))  # its own image, so a long label is cut at its edge
    band_draw = ImageDraw.Draw(band)
    for row, text in enumerate(headers[1]):
        band_draw.text((size // 2, row * height + height // 2), text, font=font, fill=(255, 255, 255, 255), anchor="lm")
    canvas.paste(band, (0, top))
    return canvas


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in FONTS:
        if path.exists():
            return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size=size)
