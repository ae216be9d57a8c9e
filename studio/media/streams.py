"""Reading and writing H.264 streams with the bundled ffmpeg, packet by packet: what trims and tiles share.

Sources are only ever read; outputs go to a temp file beside the target that is renamed into place.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import imageio_ffmpeg

from studio.domain.errors import InvalidInput
from studio.media import mp4
from studio.media.mp4 import VideoInfo


@dataclass(frozen=True)
class Packet:
    pts: int
    duration: int
    size: int
    crc: str
    key: bool


@dataclass(frozen=True)
class Stream:
    """A video's packets in decode order, each one's display index (`rank`), and the exact frame rate."""

    packets: list[Packet]
    rank: list[int]
    rate: Fraction
    time_base: Fraction
    info: VideoInfo


def run_ffmpeg(args: list[str], what: str) -> bytes:
    """Run the bundled ffmpeg and return its stdout; RuntimeError with its log when it fails."""
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args]
    result = subprocess.run(cmd, capture_output=True, check=False)
    if result.returncode != 0:
        log = result.stderr.decode(errors="replace").strip()
        raise RuntimeError(f"ffmpeg could not {what} (exit {result.returncode}): {log}")
    return result.stdout


def read_stream(path: Path, field: str) -> Stream:
    """The first video stream's packet table, from ffmpeg's framecrc muxer with stream copy (nothing decoded).

    media.probe decodes every frame to count them (~0.5 s for 5 s of 720p on 2 cores); in an MP4 one H.264 packet
    is one frame, so counting packets is exact and ~20x faster, and the packet durations give the exact frame rate.
    """
    if not path.is_file():
        raise InvalidInput(field, f"the video file is missing on disk ({path.name})")
    try:
        out = run_ffmpeg(["-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "framecrc", "-"], f"read {path.name}")
    except RuntimeError as err:
        raise InvalidInput(field, f"{path.name} is not a readable video") from err
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
                packets.append(Packet(int(cols[2]), int(cols[3]), int(cols[4]), cols[5], bool(flags & 1)))
    ticks = Counter(p.duration for p in packets).most_common(1)[0][0] if packets else 0
    if ticks <= 0 or time_base <= 0:
        raise InvalidInput(field, f"{path.name} has no video frames with timestamps")
    rank = [0] * len(packets)
    for display_index, j in enumerate(sorted(range(len(packets)), key=lambda j: packets[j].pts)):
        rank[j] = display_index
    rate = 1 / (ticks * time_base)
    span = float((max(p.pts for p in packets) - min(p.pts for p in packets) + ticks) * time_base)
    return Stream(packets, rank, rate, time_base, VideoInfo(width, height, len(packets), float(rate), span))


def check_target(target: Path, sources: list[Path]) -> None:
    if target.resolve() in {s.resolve() for s in sources}:
        raise InvalidInput("target", f"{target.name} is a source; edits write a new file and never touch the original")
    if not target.parent.is_dir():
        raise InvalidInput("target", f"the folder of {target.name} does not exist")


def output_args(recipe: dict[str, Any] | None, tmp: Path) -> list[str]:
    """Store `recipe` as media.write_mp4 does; the source's tags (its recipe is the uncut video's) are dropped."""
    return [
        "-map_metadata",
        "-1",
        "-movflags",
        "+faststart",
        *mp4.recipe_metadata_args(recipe),
        "-f",
        "mp4",
        str(tmp),
    ]
