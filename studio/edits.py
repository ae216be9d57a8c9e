"""Non-destructive edits of finished videos: trim (frame-accurate or lossless) and a labelled seed-comparison grid.

Like media, everything runs the ffmpeg binary bundled with imageio-ffmpeg. Sources are only ever read; each output
goes to a temp file beside the target that is renamed into place.
"""

from __future__ import annotations

import logging
import math
import subprocess
import tempfile
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import imageio_ffmpeg
from PIL import Image, ImageDraw, ImageFont

from studio import media
from studio.media import VideoInfo

logger = logging.getLogger(__name__)

# On a 2-core CPU a frame-accurate trim of 3 s of 720p takes ~0.7 s with ultrafast and ~1.6 s with media.PRESET
# (veryfast): same CRF, so close quality, for a ~1.6x larger file. A trim is interactive, so speed wins by default.
TRIM_PRESET = "ultrafast"
_GRIDS = {2: (1, 2), 3: (2, 2), 4: (2, 2), 5: (2, 3), 6: (2, 3), 7: (2, 4), 8: (2, 4)}  # clips → (rows, columns)
_SLACK_S = 1e-6  # in/out points this close outside the clip are float noise, not mistakes


class EditError(ValueError):
    """Bad input: names the field and what is allowed."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class TrimPlan:
    """The frames a trim keeps, [start_frame, end_frame), and the same range in seconds."""

    start_frame: int
    end_frame: int
    num_frames: int
    start_s: float
    end_s: float


@dataclass(frozen=True)
class TrimResult:
    """A written trim: the plan, where the cut really landed (source seconds) and what the file holds."""

    plan: TrimPlan
    lossless: bool
    actual_start_s: float
    actual_end_s: float
    info: VideoInfo


@dataclass(frozen=True)
class _Packet:
    pts: int
    duration: int
    size: int
    crc: str
    key: bool


@dataclass(frozen=True)
class _Stream:
    """A video's packets in decode order, each one's display index (`rank`), and the exact frame rate."""

    packets: list[_Packet]
    rank: list[int]
    rate: Fraction
    time_base: Fraction
    info: VideoInfo


def _secs(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def plan_trim(*, start_s: float, end_s: float, fps: float, num_frames: int) -> TrimPlan:
    """Snap in and out points (seconds) to the nearest frame boundaries of a clip of `num_frames` at `fps`.

    Raises:
        EditError: a point is not finite or outside the clip, end_s is not after start_s, or no frame is left.
    """
    if not (math.isfinite(fps) and fps > 0):
        raise EditError("fps", f"must be a positive number, got {fps}")
    if num_frames < 1:
        raise EditError("num_frames", f"the clip needs at least one frame, got {num_frames}")
    duration = num_frames / fps
    for field, value in (("start_s", start_s), ("end_s", end_s)):
        if not math.isfinite(value):
            raise EditError(field, f"must be a finite number of seconds, got {value}")
        if not -_SLACK_S <= value <= duration + _SLACK_S:
            raise EditError(field, f"{_secs(value)} s is outside 0–{_secs(duration)} s")
    if end_s <= start_s:
        raise EditError("end_s", f"{_secs(end_s)} s must be after start_s {_secs(start_s)} s")
    # Frame i spans [i/fps, (i+1)/fps); a point goes to the nearest boundary, halves up.
    start_frame = min(max(math.floor(start_s * fps + 0.5), 0), num_frames)
    end_frame = min(math.floor(end_s * fps + 0.5), num_frames)
    if end_frame <= start_frame:
        raise EditError("end_s", f"the range is shorter than one frame (1/{fps:g} s)")
    return TrimPlan(start_frame, end_frame, end_frame - start_frame, start_frame / fps, end_frame / fps)


def _ffmpeg(args: list[str], what: str) -> bytes:
    """Run the bundled ffmpeg and return its stdout; RuntimeError with its log when it fails."""
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args]
    result = subprocess.run(cmd, capture_output=True, check=False)
    if result.returncode != 0:
        log = result.stderr.decode(errors="replace").strip()
        raise RuntimeError(f"ffmpeg could not {what} (exit {result.returncode}): {log}")
    return result.stdout


def _read_stream(path: Path, field: str) -> _Stream:
    """The first video stream's packet table, from ffmpeg's framecrc muxer with stream copy (nothing decoded).

    media.probe decodes every frame to count them (~0.5 s for 5 s of 720p on 2 cores); in an MP4 one H.264 packet
    is one frame, so counting packets is exact and ~20x faster, and the packet durations give the exact frame rate.
    """
    if not path.is_file():
        raise EditError(field, f"the video file is missing on disk: {path}")
    try:
        out = _ffmpeg(["-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "framecrc", "-"], f"read {path.name}")
    except RuntimeError as err:
        raise EditError(field, f"{path.name} is not a readable video") from err
    time_base, width, height, packets = Fraction(0), 0, 0, []
    for line in out.decode(errors="replace").splitlines():
        if line.startswith("#tb 0:"):
            time_base = Fraction(line.split(":", 1)[1].strip())
        elif line.startswith("#dimensions 0:"):
            width, height = (int(n) for n in line.split(":", 1)[1].split("x"))
        elif line and not line.startswith("#"):  # stream, dts, pts, duration, size, crc[, F=flags][, side data]
            cols = [c.strip() for c in line.split(",")]
            # "F=" appears only when the flags are not exactly "keyframe"; 0x4 marks a packet an edit list hides.
            flags = next((int(c[2:], 16) for c in cols[6:] if c.startswith("F=")), 1)
            if not flags & 4:
                packets.append(_Packet(int(cols[2]), int(cols[3]), int(cols[4]), cols[5], bool(flags & 1)))
    ticks = Counter(p.duration for p in packets).most_common(1)[0][0] if packets else 0
    if ticks <= 0 or time_base <= 0:
        raise EditError(field, f"{path.name} has no video frames with timestamps")
    rank = [0] * len(packets)
    for display_index, j in enumerate(sorted(range(len(packets)), key=lambda j: packets[j].pts)):
        rank[j] = display_index
    rate = 1 / (ticks * time_base)
    span = float((max(p.pts for p in packets) - min(p.pts for p in packets) + ticks) * time_base)
    return _Stream(packets, rank, rate, time_base, VideoInfo(width, height, len(packets), float(rate), span))


def _check_target(target: Path, sources: list[Path]) -> None:
    if target.resolve() in {s.resolve() for s in sources}:
        raise EditError("target", f"{target} is a source; edits write a new file and never touch the original")
    if not target.parent.is_dir():
        raise EditError("target", f"the folder {target.parent} does not exist")


def _output_args(recipe: dict[str, Any] | None, tmp: Path) -> list[str]:
    """Store `recipe` as media.write_mp4 does; the source's tags (its recipe is the uncut video's) are dropped."""
    return [
        "-map_metadata",
        "-1",
        "-movflags",
        "+faststart",
        *media.recipe_metadata_args(recipe),
        "-f",
        "mp4",
        str(tmp),
    ]


def trim(
    source: Path,
    target: Path,
    *,
    start_s: float,
    end_s: float,
    lossless: bool = False,
    recipe: dict[str, Any] | None = None,
    preset: str = TRIM_PRESET,
) -> TrimResult:
    """Write the part of `source` between two points (snapped by plan_trim) to the new file `target`.

    Args:
        lossless: copy H.264 packets instead of re-encoding. The cut then starts at the last keyframe at or before
            start_s (a Wan clip often has only one, at 0) and ends at the first point at or after end_s where no
            B-frame lacks its reference; actual_start_s/actual_end_s say where it landed.
        recipe: stored like media.write_mp4 does; the source's tags are not copied. Only video is kept.
        preset: x264 preset of the frame-accurate re-encode (at media.CRF).

    Raises:
        EditError: missing or unreadable source, a bad target, or bad in/out points (field named).
        RuntimeError: ffmpeg failed, or the file it wrote does not hold the planned frames.
    """
    # 1. Check inputs and plan the frames
    src = _read_stream(source, "source")
    _check_target(target, [source])
    plan = plan_trim(start_s=start_s, end_s=end_s, fps=src.info.fps, num_frames=src.info.num_frames)

    key_j = _keyframe_before(src, plan.start_frame)  # decoding starts there either way
    seek = (src.packets[key_j].pts - min(p.pts for p in src.packets)) * src.time_base
    with media.temp_beside(target) as tmp:
        if lossless:
            # 2. Copy whole packets from the keyframe, as many as show every planned frame with no gap
            count = _copy_count(src, key_j, plan.end_frame)
            cmd = ["-ss", f"{float(seek):.6f}", "-i", str(source), "-map", "0:v:0", "-c", "copy"]
            _ffmpeg([*cmd, "-frames:v", str(count), *_output_args(recipe, tmp)], f"cut {source.name}")
            # 3. Measure the landing: find the written packets, byte for byte (size and CRC), among the source's
            out = _read_stream(tmp, "target")
            first, last = _locate(src, out, source.name)
        else:
            # 2. Decode from the keyframe, keep frames from the in point on by timestamp (half a frame of margin
            # either way, so rounding cannot matter), restart the clock at 0 and encode exactly num_frames
            first, last = plan.start_frame, plan.end_frame
            keep_from = (first - src.rank[key_j] - Fraction(1, 2)) / src.rate  # seconds after the keyframe
            cmd = ["-noaccurate_seek", "-ss", f"{float(seek):.6f}", "-i", str(source), "-map", "0:v:0"]
            cmd += ["-vf", f"select='gte(t,{float(keep_from):.6f})',setpts=PTS-STARTPTS"]
            cmd += [
                "-frames:v",
                str(plan.num_frames),
                *media.h264_args(preset, float(src.rate)),
                *_output_args(recipe, tmp),
            ]
            _ffmpeg(cmd, f"trim {source.name}")
            # 3. Check the count (which frames they are is exact by construction; the tests decode them)
            out = _read_stream(tmp, "target")
            if out.info.num_frames != plan.num_frames:
                raise RuntimeError(f"trim of {source.name} wrote {out.info.num_frames} frames, not {plan.num_frames}")
    logger.info("trimmed %s frames %d–%d → %s (lossless=%s)", source.name, first, last, target.name, lossless)
    return TrimResult(plan, lossless, first / float(src.rate), last / float(src.rate), out.info)


def _keyframe_before(src: _Stream, frame: int) -> int:
    """Decode index of the last keyframe shown at or before display frame `frame`."""
    keys = [j for j, p in enumerate(src.packets) if p.key and src.rank[j] <= frame]
    if not keys:
        raise RuntimeError(f"no keyframe at or before frame {frame}")
    return max(keys, key=lambda j: src.rank[j])


def _copy_count(src: _Stream, key_j: int, last: int) -> int:
    """How many packets from the keyframe `key_j` show every frame up to at least `last` with no gap.

    A B-frame is stored after the later frame it refers to, so only some counts leave no hole in display order.
    """
    count, lowest, highest = 0, src.rank[key_j], -1
    for j in range(key_j, len(src.packets)):
        count, lowest, highest = count + 1, min(lowest, src.rank[j]), max(highest, src.rank[j])
        if lowest == src.rank[key_j] and highest - lowest + 1 == count and highest + 1 >= last:
            break
    return count


def _locate(src: _Stream, out: _Stream, name: str) -> tuple[int, int]:
    """The source's display-frame range [first, last) that the stream copy `out` holds."""
    want = [(p.size, p.crc) for p in out.packets]
    have = [(p.size, p.crc) for p in src.packets]
    for j in range(len(have) - len(want) + 1):
        ranks = src.rank[j : j + len(want)]
        if have[j : j + len(want)] == want and max(ranks) - min(ranks) + 1 == len(ranks):
            return min(ranks), max(ranks) + 1
    raise RuntimeError(f"the cut of {name} does not hold a gapless run of the source's frames")


def tile(sources: list[Path], labels: list[str], target: Path, *, recipe: dict[str, Any] | None = None) -> VideoInfo:
    """Lay 2–8 labelled clips out in one grid video (a seed comparison) at `target`; sources are only read.

    The first clip sets the cell size and the frame rate; other sizes are fitted and letterboxed, and a clip
    shorter than the longest holds its last frame. Each label ("seed 42") is burned in on a dark box.

    Raises:
        EditError: wrong number of clips or labels, a missing or unreadable clip ("sources"), a bad target.
        RuntimeError: ffmpeg failed.
    """
    # 1. Check inputs
    if len(sources) not in _GRIDS:
        raise EditError("sources", f"a comparison takes 2–8 clips, got {len(sources)}")
    if len(labels) != len(sources):
        raise EditError("labels", f"need one label per clip: {len(sources)} clips, {len(labels)} labels")
    streams = [_read_stream(path, "sources") for path in sources]
    _check_target(target, sources)

    # 2. Size the grid: cells the size of the first clip (even, for yuv420p), as long as the longest clip
    rows, cols = _GRIDS[len(sources)]
    width, height, rate = streams[0].info.width // 2 * 2, streams[0].info.height // 2 * 2, streams[0].rate
    num_frames = max(math.ceil(s.info.num_frames * rate / s.rate) for s in streams)

    # 3. Filter graph: each clip → a cell that repeats its last frame forever, stacked, the labels image on top.
    # ffmpeg streams frame by frame (8 clips of 81 × 720p frames: ~1.2 GB peak, mostly x264's lookahead).
    graph = [
        f"[{k}:v]fps={rate},scale={width}:{height}:force_original_aspect_ratio=decrease,pad={width}:{height}:-1:-1,"
        f"setsar=1,format=yuv420p,tpad=stop=-1:stop_mode=clone[c{k}]"
        for k in range(len(sources))
    ]
    layout = "|".join(f"{k % cols * width}_{k // cols * height}" for k in range(len(sources)))
    cells = "".join(f"[c{k}]" for k in range(len(sources)))
    graph.append(f"{cells}xstack=inputs={len(sources)}:layout={layout}:fill=black[grid]")
    graph.append(f"[grid][{len(sources)}:v]overlay=0:0:format=auto,format=yuv420p[out]")

    # 4. Encode; -frames:v ends the otherwise endless padded streams
    with tempfile.TemporaryDirectory() as scratch, media.temp_beside(target) as tmp:
        overlay = Path(scratch) / "labels.png"
        _draw_labels(labels, width, height, cols, rows).save(overlay)
        cmd = [arg for path in [*sources, overlay] for arg in ("-i", str(path))]
        cmd += ["-filter_complex", ";".join(graph), "-map", "[out]", "-frames:v", str(num_frames)]
        _ffmpeg([*cmd, *media.h264_args(media.PRESET, float(rate)), *_output_args(recipe, tmp)], f"write {target.name}")
        info = _read_stream(tmp, "target").info
    logger.info(
        "tiled %d clips into %s (%dx%d, %d frames)", len(sources), target.name, info.width, info.height, num_frames
    )
    return info


def _draw_labels(labels: list[str], width: int, height: int, cols: int, rows: int) -> Image.Image:
    """A transparent grid-sized image with each label, white on a dark box, in its cell's top-left corner."""
    canvas = Image.new("RGBA", (cols * width, rows * height), (0, 0, 0, 0))
    size = max(12, height // 16)  # 45 px on 720p; Pillow's built-in font needs no font file
    font = ImageFont.load_default(size=size)
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
